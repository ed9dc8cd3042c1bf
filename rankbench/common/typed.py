"""Typed config dataclasses from dicts (TOML tables, JSON steps, CLI options), checked key by key.

    config = from_dict(TrainConfig, {"max_steps": 300, "lr": 1e-4}, where="teacher.train")

Every key must be a field; every value must have the field's annotated type: a boolean is not a
number (`layers = true` is refused, not read as 1), an integer is accepted where a float is
expected, lists become tuples where the field is a tuple, and nested dataclasses are built from
their tables. Errors are `ConfigError`s that name the key (`teacher.train.lr: expected a number,
got "fast"`); the dataclass' own `__post_init__` checks run afterwards, under the same name.
"""
from __future__ import annotations

import dataclasses
import types
import typing


class ConfigError(ValueError):
    """A config value or key that cannot be meant; the message names where it is."""


_KIND = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
         type(None): "none"}


def _describe(hint) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin in (tuple, list):
        return "a list"
    if origin is dict or hint is dict:
        return "a table"
    if dataclasses.is_dataclass(hint):
        return f"a table ({hint.__name__})"
    return _KIND.get(hint, getattr(hint, "__name__", str(hint)))


def _shown(value) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    return repr(value)


def check_value(value, hint, where: str):
    """`value` converted to `hint` (int -> float, list -> tuple, table -> dataclass), or ConfigError."""
    if hint is typing.Any or hint is object:
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return check_value(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {_describe(hint)}, got {_shown(value)}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {_shown(value)}")
        item = args[0] if args else typing.Any
        items = [check_value(v, item, f"{where}[{k}]") for k, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {_shown(value)}")
        if len(args) == 2:
            return {k: check_value(v, args[1], f"{where}.{k}") for k, v in value.items()}
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return value if isinstance(value, hint) else from_dict(hint, value, where)
    return _scalar(value, hint, where)


def _scalar(value, hint, where: str):
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (bool, str) and isinstance(value, hint):
        return value
    if hint is type(None) and value is None:
        return None
    if hint not in _KIND:  # a type this module does not know: left to the dataclass to check
        return value
    raise ConfigError(f"{where}: expected {_describe(hint)}, got {_shown(value)}")


def field_types(cls) -> dict:
    """Field name -> resolved type annotation, for the fields a constructor takes."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, typing.Any) for f in dataclasses.fields(cls) if f.init}


def from_dict(cls, raw, where: str = ""):
    """`cls(**raw)` after checking the keys and the type of every value (see the module docstring)."""
    label = where or cls.__name__
    if isinstance(raw, cls):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: expected a table, got {_shown(raw)}")
    types_ = field_types(cls)
    unknown = sorted(set(raw) - set(types_))
    if unknown:
        raise ConfigError(f"{label}: unknown key {unknown[0]!r} (known: {', '.join(sorted(types_))})")
    prefix = f"{where}." if where else ""
    values = {key: check_value(value, types_[key], f"{prefix}{key}") for key, value in raw.items()}
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        text = str(err)  # checks that already name the config (e.g. "distill: ...") are not named twice
        raise ConfigError(text if text.startswith(f"{label.rsplit(': ', 1)[-1]}:") else f"{label}: {text}") from None
