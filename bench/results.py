"""results.json: one versioned schema (schema/results-v2.schema.json in this folder), checked on
write and read.

    write_results(path, results)       # validates, then writes atomically (temp file + rename)
    results = read_results(path)       # raises ResultsError naming the problem; never half-read

Version 1 files (before per-cell accuracy) are read and upgraded in memory: their cells get no
accuracy of their own (`accuracy: null`), the artifacts keep theirs, and `upgraded_from: 1` says so.
The environment a run records comes from rankbench.bench.machine.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from rankbench.common.files import atomic_write_json, read_json_object

SCHEMA_VERSION = 2
SCHEMAS = {version: Path(__file__).parent / "schema" / f"results-v{version}.schema.json" for version in (1, 2)}
SCHEMA_PATH = SCHEMAS[SCHEMA_VERSION]


class ResultsError(ValueError):
    pass


@lru_cache(maxsize=2)
def _validator(version: int):
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMAS[version].read_text()))


def validate(results: dict, source: str = "results", version: int = SCHEMA_VERSION) -> None:
    errors = sorted(_validator(version).iter_errors(results), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ResultsError(f"{source} does not match results schema v{version} at {where}: "
                           f"{first.message[:300]}{more}")


def read_results(path: str | Path) -> dict:
    path = Path(path)
    results = read_json_object(path, "results", ResultsError)
    version = results.get("schema_version")
    if version not in SCHEMAS:
        raise ResultsError(f"{path} has schema_version {version!r}; this rankbench reads versions "
                           f"{', '.join(map(str, SCHEMAS))} (a newer rankbench wrote it?)")
    validate(results, str(path), version)
    if version == 1:
        results = upgrade_v1(results)
        validate(results, f"{path} (upgraded from v1)")
    return results


def upgrade_v1(results: dict) -> dict:
    """A v1 results dict as v2: no per-cell accuracy (v1 had one per artifact), no request keys."""
    out = {**results, "schema_version": SCHEMA_VERSION, "upgraded_from": 1}
    out["run"] = {**results["run"], "eval_requests": None}
    out["cells"] = [{**cell, "accuracy": None} for cell in results["cells"]]
    out["baselines"] = {name: b for name, b in results.get("baselines", {}).items() if "ndcg@10" in b}
    return out


def write_results(path: str | Path, results: dict) -> Path:
    results.setdefault("schema_version", SCHEMA_VERSION)
    validate(results)
    return atomic_write_json(path, results)  # a reader never sees a half-written file
