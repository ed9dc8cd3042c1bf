"""What POST /rank accepts, checked before any work: every refusal is a RequestError with the HTTP
status and a message that names the field.

    limits = Limits(max_candidates=1000, max_text_chars=4096)
    query = parse_rank_request(body_bytes, catalog_text=encoder.catalog_text, limits=limits)

A body is {"context": str, "candidates": [...]} where a candidate is {"id": str, "text": str},
{"id": str} (an item of the catalog) or a bare "id" string (the same). Statuses: 400 malformed JSON,
413 too large (body, candidate count, text length), 422 a wrong type, a missing or empty field, a
duplicate or unknown catalog id.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from rankbench.bench.batcher import RankQuery


class RequestError(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    max_candidates: int = 1000
    max_text_chars: int = 4096  # per candidate text and for the context (tokens past max_length are cut anyway)
    max_body_bytes: int = 4 * 2**20
    max_queue: int = 256  # requests waiting for a worker; more -> 503
    timeout_s: float = 30.0  # a request not answered by then gets 503, never a hang

    def __post_init__(self):
        for name in ("max_candidates", "max_text_chars", "max_body_bytes", "max_queue"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")


def _text(value, where: str, limits: Limits) -> str:
    if not isinstance(value, str):
        raise RequestError(422, f"{where} must be a string, got {type(value).__name__}")
    if len(value) > limits.max_text_chars:
        raise RequestError(413, f"{where} has {len(value)} characters; at most {limits.max_text_chars}")
    return value


def _candidate(raw, k: int, catalog_text: Callable[[str], str | None], limits: Limits) -> tuple[str, str]:
    where = f"candidates[{k}]"
    if isinstance(raw, str):
        raw = {"id": raw}
    if not isinstance(raw, dict):
        raise RequestError(422, f"{where} must be an object {{id, text}} or a catalog id string")
    unknown = sorted(set(raw) - {"id", "text"})
    if unknown:
        raise RequestError(422, f"{where} has unknown field(s) {unknown}")
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise RequestError(422, f"{where}.id must be a non-empty string")
    if "text" in raw:
        return item_id, _text(raw["text"], f"{where}.text", limits)
    text = catalog_text(item_id)
    if text is None:
        raise RequestError(422, f"{where}: {item_id!r} is not in the catalog (send its text)")
    return item_id, text


def parse_rank_request(body: bytes, catalog_text: Callable[[str], str | None], limits: Limits) -> RankQuery:
    if len(body) > limits.max_body_bytes:
        raise RequestError(413, f"body of {len(body)} bytes; at most {limits.max_body_bytes}")
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestError(400, f"malformed JSON: {err}") from None
    if not isinstance(raw, dict):
        raise RequestError(422, "the body must be a JSON object {context, candidates}")
    unknown = sorted(set(raw) - {"context", "candidates"})
    if unknown:
        raise RequestError(422, f"unknown field(s) {unknown}; expected context and candidates")
    if "context" not in raw:
        raise RequestError(422, "context is missing")
    context = _text(raw["context"], "context", limits)
    cands = raw.get("candidates")
    if cands is None:
        raise RequestError(422, "candidates is missing")
    if not isinstance(cands, list):
        raise RequestError(422, f"candidates must be a list, got {type(cands).__name__}")
    if not cands:
        raise RequestError(422, "candidates is empty: nothing to rank")
    if len(cands) > limits.max_candidates:
        raise RequestError(413, f"{len(cands)} candidates; at most {limits.max_candidates} per request")
    pairs = [_candidate(c, k, catalog_text, limits) for k, c in enumerate(cands)]
    ids = [i for i, _ in pairs]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise RequestError(422, f"candidate id {dup!r} appears more than once")
    return RankQuery(context, tuple(t for _, t in pairs), tuple(ids))
