"""A team's own ranking data: one request per JSONL line, validated strictly.

    {"id": "r1", "context": "user text", "candidates": [{"id": "i1", "text": "item text", "label": 1}, ...],
     "split": "test"}

`split` is optional: "train", "valid" or "test" (default "test"). A folder may instead hold
train.jsonl, valid.jsonl and test.jsonl, which sets the split by file. Any bad line raises
`DataFormatError` naming the file, the line and the problem; nothing is returned half-loaded.

Instead of "context", a line may give "history" and/or "user" (and, with either, "user_id"), rendered
into the context as MovieLens' is: models.jsonl_fields. With "user_id", the training split's
positives (and the items of its histories) are the interactions the collaborative-filtering
baseline learns from; without it, a request's context stands for its user.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rankbench.models.context import ContextStyle
from rankbench.models.jsonl_fields import FieldError, structured
from rankbench.models.requests import Candidate, RankingData, Request

SPLITS = ("train", "valid", "test")
LINE_KEYS = {"id", "context", "candidates", "split", "user_id", "history", "user"}


@dataclass(frozen=True)
class Line:
    split: str
    request: Request
    user: str  # the "user_id", else the context
    history_ids: tuple[str, ...]


class DataFormatError(ValueError):
    pass


def _fail(path: Path, line_no: int, problem: str):
    raise DataFormatError(f"{path}:{line_no}: {problem}")


def _id(value, path, line_no, what) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        _fail(path, line_no, f"{what} must be a string or an integer, got {value!r}")
    return str(value)


def _candidate(raw, path, line_no, k) -> Candidate:
    if not isinstance(raw, dict):
        _fail(path, line_no, f"candidates[{k}] must be an object")
    unknown = set(raw) - {"id", "text", "label"}
    if unknown:
        _fail(path, line_no, f"candidates[{k}] has unknown keys {sorted(unknown)}")
    for key in ("id", "text", "label"):
        if key not in raw:
            _fail(path, line_no, f"candidates[{k}] lacks {key!r}")
    if not isinstance(raw["text"], str) or not raw["text"].strip():
        _fail(path, line_no, f"candidates[{k}].text must be a non-empty string")
    label = raw["label"]
    if isinstance(label, (bool, float)) or label not in (0, 1):
        _fail(path, line_no, f"candidates[{k}].label must be 0 or 1, got {label!r}")
    return Candidate(_id(raw["id"], path, line_no, f"candidates[{k}].id"), raw["text"], int(label))


def parse_line(text: str, path: Path, line_no: int, default_split: str = "test",
               style: ContextStyle = ContextStyle()) -> Line:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        _fail(path, line_no, f"not valid JSON ({err.msg} at column {err.colno})")
    if not isinstance(raw, dict):
        _fail(path, line_no, "a line must be a JSON object")
    unknown = set(raw) - LINE_KEYS
    if unknown:
        _fail(path, line_no, f"unknown keys {sorted(unknown)}")
    for key in ("id", "candidates"):
        if key not in raw:
            _fail(path, line_no, f"missing {key!r}")
    try:
        made = structured(raw, style)
    except FieldError as err:
        _fail(path, line_no, str(err))
    cands = raw["candidates"]
    if not isinstance(cands, list) or len(cands) < 2:
        _fail(path, line_no, "'candidates' must be a list of at least 2 objects")
    parsed = tuple(_candidate(c, path, line_no, k) for k, c in enumerate(cands))
    split = raw.get("split", default_split)
    if split not in SPLITS:
        _fail(path, line_no, f"'split' must be one of {SPLITS}, got {split!r}")
    if split != "train" and not any(c.label for c in parsed):
        _fail(path, line_no, "an evaluation request needs at least one candidate with label 1")
    request = Request(_id(raw["id"], path, line_no, "'id'"), made.context, parsed)
    return Line(split, request, made.user if made.user is not None else made.context, made.history_ids)


def read_requests(path: str | Path, default_split: str = "test",
                  style: ContextStyle = ContextStyle()) -> dict[str, list[Request]]:
    out: dict[str, list[Request]] = {s: [] for s in SPLITS}
    for line in read_lines(path, default_split, style):
        out[line.split].append(line.request)
    return out


def read_lines(path: str | Path, default_split: str = "test", style: ContextStyle = ContextStyle()) -> list[Line]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    out: list[Line] = []
    seen: dict[str, int] = {}
    with path.open("rb") as fh:
        for line_no, raw_line in enumerate(fh, start=1):
            try:
                text = raw_line.decode("utf-8")
            except UnicodeDecodeError as err:
                _fail(path, line_no, f"not UTF-8 text (byte {err.start + 1} of the line: {err.reason}); "
                                     "save the file as UTF-8")
            if not text.strip():
                continue
            line = parse_line(text, path, line_no, default_split, style)
            rid = line.request.id
            if rid in seen:
                _fail(path, line_no, f"duplicate request id {rid!r} (first on line {seen[rid]})")
            seen[rid] = line_no
            out.append(line)
    if not seen:
        raise DataFormatError(f"{path}: no requests")
    return out


def _folder_lines(path: Path, style: ContextStyle) -> list[Line]:
    files = {split: path / f"{split}.jsonl" for split in SPLITS if (path / f"{split}.jsonl").is_file()}
    if not files:
        raise DataFormatError(f"{path}: a data folder needs train.jsonl, valid.jsonl or test.jsonl; "
                              "it has none of them")
    lines = []
    for split, file in files.items():
        these = read_lines(file, split, style)
        other = [line.split for line in these if line.split != split]
        if other:
            raise DataFormatError(f"{file}: holds requests with split {other[0]!r}; in a folder the file "
                                  "name sets the split (remove the split key or move the lines)")
        lines += these
    return lines


def train_interactions(lines: list[Line]) -> dict[str, list[str]]:
    """user -> the items of the training split's histories and positives, first seen first."""
    out: dict[str, dict[str, None]] = {}
    for line in lines:
        if line.split == "train":
            seen = out.setdefault(line.user, {})
            seen.update(dict.fromkeys(line.history_ids))
            seen.update(dict.fromkeys(c.id for c in line.request.candidates if c.label))
    return {user: list(items) for user, items in out.items()}


def load(dataset: str | Path, seed: int = 0, style: ContextStyle = ContextStyle()) -> RankingData:
    path = Path(dataset)
    lines = _folder_lines(path, style) if path.is_dir() else read_lines(path, "test", style)
    splits = {s: [line.request for line in lines if line.split == s] for s in SPLITS}
    counts = Counter(c.id for r in splits["train"] for c in r.candidates if c.label)
    every = [line.request for line in lines]
    items = {c.id for r in every for c in r.candidates}
    info = {"users": len({line.user for line in lines}), "items": len(items),
            "interactions": sum(c.label for r in every for c in r.candidates)}
    return RankingData(path.name, splits["train"], splits["valid"], splits["test"],
                       {i: counts.get(i, 0) for i in sorted(items)}, info,
                       train_interactions=train_interactions(lines),
                       request_users={line.request.id: line.user for line in lines})


def write_requests(path: str | Path, requests: list[Request], split: str | None = None) -> None:
    with Path(path).open("w", encoding="utf-8") as fh:
        for r in requests:
            row = {"id": r.id, "context": r.context,
                   "candidates": [{"id": c.id, "text": c.text, "label": c.label} for c in r.candidates]}
            if split:
                row["split"] = split
            fh.write(json.dumps(row) + "\n")
