"""The accuracy stage of a run: each variant's ranking accuracy on the evaluation requests.

Scoring is the longest part of a CPU run (minutes per variant), so scores are kept per request in
`<cache>/<variant>-<artifact hash>.scores.jsonl`, one line per request, appended as each request
is scored, under the request's id and a digest of its text (the same id with other candidates, after
a change of the data, is scored again). A run interrupted mid-variant continues from the requests it had finished, and a later
run on more users (`rankbench run --eval-users 300`) scores only the requests it lacks. A last line
cut off by a kill is not valid JSON and is ignored (that request is scored again).

    metrics = evaluate_accuracy(artifact, requests, cache_dir, log=print, label="distill-l3")
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rankbench.common.digest import digest


def request_key(request) -> str:
    """The request's id and a digest of what is scored: its context and candidates, in order."""
    return f"{request.id}#{digest([request.context, [(c.id, c.text) for c in request.candidates]])}"


def read_scores(path: Path) -> dict[str, dict]:
    """request key -> {"scores": [...], "backend": name}, from the complete lines of a score file."""
    found = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            row = json.loads(line)
            found[row["key"]] = row
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a line cut off by an interrupted run
    return found


def _pick_backend(artifact):
    from rankbench.bench.backends import BackendOptions, backend_names, get_backend, reference_backends

    reasons = []
    order = reference_backends()
    for name in order + [b for b in backend_names() if b not in order]:
        backend, options = get_backend(name), BackendOptions()
        ok, why = backend.available()
        ok, why = backend.supports(artifact, options) if ok else (ok, why)
        if ok:
            return name, backend, options
        reasons.append(f"{name}: {why}")
    raise RuntimeError(f"no backend can run {artifact.name!r}: " + "; ".join(reasons))


def evaluate_accuracy(artifact, requests, cache: Path, log=None, label: str | None = None) -> dict:
    """Ranking accuracy of an artifact over `requests`, scored with the first reference backend that
    runs it; requests already in the score file are not scored again."""
    from rankbench.bench.parity import score_requests
    from rankbench.models.encoder import PairEncoder
    from rankbench.models.metrics import evaluate

    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{artifact.name}-{artifact.hash}.scores.jsonl"
    stored = read_scores(path)
    missing = [r for r in requests if request_key(r) not in stored]
    if missing:
        name, backend, options = _pick_backend(artifact)
        label = label or artifact.name
        if log:
            log(f"accuracy of {label}: {len(missing)} of {len(requests)} requests to score on {name} ...")
        session = backend.prepare(artifact, options)
        try:
            encoder = PairEncoder.from_folder(artifact.path)
            desc = f"accuracy of {label}" if log else None
            with path.open("a") as out:
                if path.stat().st_size and not path.read_bytes().endswith(b"\n"):
                    out.write("\n")  # end the line a kill cut off, so new lines stay whole
                def keep(request, scores):
                    row = {"key": request_key(request), "backend": name, "scores": [float(s) for s in scores]}
                    out.write(json.dumps(row) + "\n")
                    out.flush()  # a kill loses at most the request being written
                    stored[row["key"]] = row

                score_requests(session.run, encoder, missing, desc=desc, on_request=keep)
        finally:
            session.close()
    rows = [stored[request_key(r)] for r in requests]
    metrics = evaluate([np.asarray(row["scores"]) for row in rows], requests)
    metrics["backend"] = "+".join(sorted({row["backend"] for row in rows}))
    return metrics
