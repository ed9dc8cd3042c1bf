"""Cells: what a run measures (variant x backend with its options x scenario with its parameters),
each with an id that is unique within the run and a cache key over everything that shapes its figures.

    specs = backend_specs(["torch", "onnxruntime:threads=2", {"name": "xla", "precision": "bf16"}])
    cells = define_cells(variants, specs, scenario_specs([...]), context)
    cached = read_cached(cell_dir, cells, retry_failed=False)

A backend or scenario given as a table may carry `variants = [...]`: the variants it applies to; a
backend table may carry a placement (`node_label`, `accelerator_type`: rankbench.bench.placement).
Finished cells are files `<cells>/<key>.json`, written whole (temporary name, then rename).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rankbench.bench.backends import BackendOptions, get_backend, parse_backend_spec
from rankbench.bench.placement import Placement, pop_placement
from rankbench.bench.scenario_params import resolve_params, scenario_label
from rankbench.bench.scenarios import SCENARIO_VERSIONS
from rankbench.common.digest import digest
from rankbench.common.files import read_json_or_none

HARNESS_VERSION = 2  # bump when the meaning of a cell file changes (code changes are in the key anyway)
SLA_SCENARIOS = ("server", "server-sim")  # scenarios whose sla_p99_ms is the run's p99 constraint


@dataclass(frozen=True)
class BackendSpec:
    name: str
    options: BackendOptions
    variants: frozenset | None = None  # None: every variant
    placement: Placement | None = None  # where a cluster runs its cells (None: anywhere that fits)


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    params: dict
    variants: frozenset | None = None


def _variants_filter(raw: dict):
    only = raw.pop("variants", None)
    return frozenset(only) if only is not None else None


def backend_specs(backends) -> list[BackendSpec]:
    """Specs "name[:opt...]", (name, options), or tables {name = ..., options..., variants = [...]}."""
    specs = []
    for item in backends:
        only, placement = None, None
        if isinstance(item, str):
            name, options = parse_backend_spec(item)
        elif isinstance(item, dict):
            raw = dict(item)
            only = _variants_filter(raw)
            name = raw.pop("name")
            placement = pop_placement(raw, f"backend {name}")
            options = BackendOptions.from_dict(raw, f"backend {name}")
        else:
            name, options = item
            options = options if isinstance(options, BackendOptions) else BackendOptions.from_dict(options)
        get_backend(name)  # an unknown name fails here, before any work, with the known names
        specs.append(BackendSpec(name, options, only, placement))
    return specs


def scenario_specs(scenarios, sla_p99_ms: float | None = None) -> list[ScenarioSpec]:
    """Specs "name", (name, params) or tables. The server's SLA is the run's p99 constraint
    (`sla_p99_ms`); a server spec may name its own only where the run has none."""
    out = []
    for item in scenarios:
        only = None
        if isinstance(item, dict):
            raw = dict(item)
            only = _variants_filter(raw)
            name, params = raw.pop("name"), raw
        else:
            name, params = (item, {}) if isinstance(item, str) else item
        params = resolve_params(name, params)
        if name in SLA_SCENARIOS and sla_p99_ms is not None:
            if params["sla_p99_ms"] not in (None, sla_p99_ms):
                raise ValueError(f"{name}: sla_p99_ms {params['sla_p99_ms']:g} differs from the run's p99 "
                                 f"constraint {sla_p99_ms:g}: a run has one SLA")
            params["sla_p99_ms"] = float(sla_p99_ms)
        out.append(ScenarioSpec(name, params, only))
    return out


def cell_id(variant: str, backend: BackendSpec, scenario: ScenarioSpec) -> str:
    """The canonical id: variant/backend[:options][@placement]/scenario[params], options and params
    shown only where they differ from their defaults. Every part of the run's output uses it."""
    options = backend.options.label()
    params = scenario_label(scenario.name, scenario.params)
    where = backend.placement.label() if backend.placement else ""
    return (f"{variant}/{backend.name}{':' + options if options else ''}{'@' + where if where else ''}/"
            f"{scenario.name}{'[' + params + ']' if params else ''}")


def define_cells(variants: dict, backends: list[BackendSpec], scenarios: list[ScenarioSpec],
                 context: dict, where=None) -> list[dict]:
    """Cell definitions in a stable order. `context`: what else shapes the figures (machine,
    libraries, code, timing, request ids), part of every key; `where(spec)`: what an executor adds
    to the key of a backend's cells (e.g. the Ray resources they ask for), or None. Two cells with
    one id are an error."""
    cells, ids = [], set()
    for vname, artifact in variants.items():
        for backend in backends:
            for scenario in scenarios:
                if any(s.variants is not None and vname not in s.variants for s in (backend, scenario)):
                    continue  # the experiment limits this backend or scenario to other variants
                cid = cell_id(vname, backend, scenario)
                if cid in ids:
                    raise ValueError(f"two cells would be {cid!r}: a backend or scenario is listed twice "
                                     "with the same options")
                ids.add(cid)
                definition = {"v": HARNESS_VERSION, "variant": vname, "artifact": artifact.hash,
                              "backend": backend.name, "options": backend.options.to_dict(),
                              "scenario": scenario.name, "params": scenario.params,
                              "scenario_version": SCENARIO_VERSIONS.get(scenario.name, 1), **context}
                extra = {"placement": backend.placement.to_dict() if backend.placement else None,
                         "where": where(backend) if where else None}
                definition.update({k: v for k, v in extra.items() if v})  # absent: keys as before
                cells.append({"id": cid, "key": digest(definition), "variant": vname, "backend": backend.name,
                              "options": backend.options, "scenario": scenario.name, "params": scenario.params,
                              "placement": backend.placement})
    return cells


def base_cell(d: dict) -> dict:
    """A results-schema cell for definition `d`, with nothing measured yet."""
    return {"id": d["id"], "key": d["key"], "variant": d["variant"], "backend": d["backend"],
            "backend_options": d["options"].to_dict(), "device": None, "scenario": d["scenario"],
            "scenario_params": d["params"], "status": "ok", "reason": None, "parity": None,
            "samples_ms": [], "stats": None, "parts_ms": {}, "points": [], "max_rate_under_sla_rps": None,
            "sla_p99_ms": None, "seconds": None, "machine": None, "threads": None, "executor": None,
            "placement": d["placement"].to_dict() if d.get("placement") else None}


def read_cached(cell_dir: Path, cells: list[dict], retry_failed: bool, only_cached: bool) -> dict[str, dict]:
    """key -> finished cell file, for cells that need no new measurement. "unavailable" cells are
    checked again (it costs nothing), failed ones too with `retry_failed`."""
    done = ("ok", "invalid") + (() if retry_failed else ("failed",)) + (("unavailable",) if only_cached else ())
    finished = {}
    for d in cells:
        cached = read_json_or_none(cell_dir / f"{d['key']}.json")
        if cached and cached.get("key") == d["key"] and cached.get("status") in done:
            finished[d["key"]] = cached
    return finished
