"""One kind of registry for every extension point (methods, backends, scenarios, losses, presets).

    BACKENDS = Registry("backend", load=load_backends)   # `load` imports the modules that register
    BACKENDS.add("torch", TorchBackend)                   # a second, different entry is an error
    BACKENDS.get("torch"); BACKENDS.names()               # unknown names: ValueError with the known ones

Item access (`registry[name] = entry`, `del registry[name]`) replaces or removes an entry outright:
for tests that swap one in (pytest's monkeypatch.setitem) and nothing else.
"""
from __future__ import annotations

from typing import Callable


class Registry:
    def __init__(self, kind: str, load: Callable[[], None] | None = None):
        self.kind = kind
        self._entries: dict[str, object] = {}
        self._load = load
        self._loaded = load is None

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._loaded = True  # set first: the modules it imports register through `add`
            self._load()

    def add(self, name: str, entry):
        if name in self._entries and self._entries[name] is not entry:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def decorator(self, name: str):
        """`@registry.decorator("name")`: register the decorated object under `name`."""
        def wrap(entry):
            return self.add(name, entry)
        return wrap

    def get(self, name: str, *default):
        """The entry; unknown: the default if one is given (as dict.get), else a ValueError."""
        self._ensure_loaded()
        if name not in self._entries and default:
            return default[0]
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self.names())}")
        return self._entries[name]

    def find(self, name: str):
        """The entry, or None when there is none."""
        self._ensure_loaded()
        return self._entries.get(name)

    def names(self) -> list[str]:
        self._ensure_loaded()
        return list(self._entries)

    def items(self):
        self._ensure_loaded()
        return list(self._entries.items())

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self._entries

    def __getitem__(self, name: str):
        return self.get(name)

    def __setitem__(self, name: str, entry) -> None:
        self._entries[name] = entry

    def __delitem__(self, name: str) -> None:
        del self._entries[name]
