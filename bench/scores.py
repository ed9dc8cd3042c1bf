"""Scores of evaluation requests, kept per request on disk: the raw material of accuracy.

    store = ScoreFile(cache / "teacher-abc123-torch.scores.jsonl")
    scores = score_with_session(session, encoder, requests, store, label="teacher on torch")
    scores = reference_scores_of(artifact, requests, cache)     # fp32 on the CPU (the reference)

Scoring is the longest part of a CPU run (minutes per variant), so each score file holds one line
per request, appended as each request is scored, under the request's id and a digest of its text
(the same id with other candidates, after a change of the data, is scored again). A run interrupted
mid-way continues from the requests it had finished, and a later run on more users scores only the
requests it lacks. A last line cut off by a kill is not valid JSON and is ignored.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rankbench.common.digest import digest


def request_key(request) -> str:
    """The request's id and a digest of what is scored: its context and candidates, in order."""
    return f"{request.id}#{digest([request.context, [(c.id, c.text) for c in request.candidates]])}"


class ScoreFile:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.rows = self._read()

    def _read(self) -> dict[str, dict]:
        found = {}
        try:
            lines = self.path.read_text().splitlines()
        except OSError:
            return found
        for line in lines:
            try:
                row = json.loads(line)
                found[row["key"]] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut off by an interrupted run
        return found

    def missing(self, requests) -> list:
        return [r for r in requests if request_key(r) not in self.rows]

    def scores(self, requests) -> list[np.ndarray]:
        return [np.asarray(self.rows[request_key(r)]["scores"], dtype=np.float64) for r in requests]

    def scorers(self, requests) -> list[str]:
        return sorted({self.rows[request_key(r)].get("backend", "?") for r in requests})

    def append(self, rows: list[dict]) -> None:
        """Append rows, each flushed at once: a kill loses at most the row being written."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as out:
            if self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n"):
                out.write("\n")  # end the line a kill cut off, so new lines stay whole
            for row in rows:
                out.write(json.dumps(row) + "\n")
                out.flush()
                self.rows[row["key"]] = row


def score_with_session(session, encoder, requests, store: ScoreFile, scorer: str, log=None,
                       label: str = "") -> list[np.ndarray]:
    """Scores of `requests` through `session`; only the requests missing from `store` are run."""
    from rankbench.bench.parity import score_requests

    missing = store.missing(requests)
    if missing:
        if log:
            log(f"accuracy of {label}: {len(missing)} of {len(requests)} requests to score on {scorer} ...")

        def keep(request, scores):
            store.append([{"key": request_key(request), "backend": scorer, "scores": [float(s) for s in scores]}])

        score_requests(session.run, encoder, missing, desc=f"accuracy of {label}" if log else None,
                       on_request=keep)
    return store.scores(requests)


def pick_reference(artifact):
    """(backend name, backend, options) of the reference runtime that runs `artifact`: fp32 on the CPU."""
    from rankbench.bench.backends import BackendOptions, get_backend, reference_backends

    reasons = []
    for name in reference_backends():
        backend, options = get_backend(name), BackendOptions(device="cpu")
        ok, why = backend.available()
        ok, why = backend.supports(artifact, options) if ok else (ok, why)
        if ok:
            return name, backend, options
        reasons.append(f"{name}: {why}")
    raise RuntimeError(f"no reference backend can run {artifact.name!r}: " + "; ".join(reasons))


def reference_score_name(artifact) -> str:
    """The file of an artifact's reference scores, in the accuracy cache."""
    return f"{artifact.name}-{artifact.hash}.scores.jsonl"


def reference_scores_of(artifact, requests, cache: Path, log=None, label: str | None = None):
    """(scores of `requests` from the artifact's reference runtime, its name), kept in `cache`."""
    from rankbench.models.encoder import PairEncoder

    store = ScoreFile(Path(cache) / reference_score_name(artifact))
    if not store.missing(requests):
        return store.scores(requests), f"{'+'.join(store.scorers(requests))} fp32 cpu"
    name, backend, options = pick_reference(artifact)
    with backend.prepare(artifact, options) as session:
        scores = score_with_session(session, PairEncoder.from_folder(artifact.path), requests, store, name,
                                    log, label or artifact.name)
    return scores, f"{name} fp32 cpu"
