"""Scenario parameters: defaults filled in, types and ranges checked, and the short label of the
non-default ones that cell ids carry.

    params = resolve_params("offline", {"batch_sizes": [1, 64]})   # unknown keys, bad values: errors
    scenario_label("offline", params)                              # "batch_sizes=1,64"
"""
from __future__ import annotations


def _defaults(name: str) -> dict:
    from rankbench.bench.scenarios import SCENARIOS

    return SCENARIOS.get(name)[0]


# Parameters that may be 0 (every other number must be > 0), and those that are lists.
_MAY_BE_ZERO = ("max_wait_ms", "min_seconds", "seed", "loadgen_seconds")
_LISTS = ("batch_sizes", "values", "rates")


def _check_param(name: str, key: str, value, default) -> None:
    """A value of the default's type (a boolean is not a number), positive where it is a count or a
    duration; a default of None takes none, or a positive number (a list of them for list params)."""
    where = f"scenario {name}: {key}"

    def number(v, integer: bool) -> bool:
        return (isinstance(v, int) or (not integer and isinstance(v, float))) and not isinstance(v, bool) \
            and (v > 0 or (key in _MAY_BE_ZERO and v == 0))

    if default is None and key in _LISTS:
        ok = value is None or (isinstance(value, list) and bool(value) and all(number(v, False) for v in value))
        kind = "a non-empty list of positive numbers, or none"
    elif default is None:
        ok, kind = value is None or number(value, False), "a positive number or none"
    elif isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, list):
        integer = all(isinstance(v, int) for v in default)
        ok = isinstance(value, list) and bool(value) and all(number(v, integer) for v in value)
        kind = f"a non-empty list of positive {'integers' if integer else 'numbers'}"
    else:
        integer = isinstance(default, int)
        ok = number(value, integer)
        kind = ("a non-negative " if key in _MAY_BE_ZERO else "a positive ") + ("integer" if integer else "number")
    if not ok:
        shown = f"{str(value).lower()} (a boolean)" if isinstance(value, bool) else repr(value)
        raise ValueError(f"{where} must be {kind}, got {shown}")


def resolve_params(name: str, params: dict | None = None) -> dict:
    """The scenario's parameters with defaults filled in; unknown keys and bad values are errors."""
    defaults = _defaults(name)
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"scenario {name}: unknown parameter(s) {unknown}; known: {sorted(defaults)}")
    for key, value in params.items():
        _check_param(name, key, value, defaults[key])
    out = {**defaults, **params}
    for key in _LISTS:
        if out.get(key) is not None:
            out[key] = list(out[key])
    return out


def scenario_label(name: str, params: dict) -> str:
    """The parameters that differ from the scenario's defaults, as a short stable tag for cell ids:
    'batch_sizes=1,32,128,sla_p99_ms=1000' ('' when all are defaults)."""
    defaults = _defaults(name)
    parts = []
    for key in sorted(params):
        value = params[key]
        if key in defaults and value == defaults[key]:
            continue
        shown = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) \
            if isinstance(value, list) else (f"{value:g}" if isinstance(value, float) else str(value))
        parts.append(f"{key}={shown}")
    return ";".join(parts)


