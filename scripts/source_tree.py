"""Import rankbench from this checkout on a machine where it is not installed (a borrowed GPU box).

    import source_tree; source_tree.use()      # then: import rankbench.models, rankbench.bench, ...

Installed (`make`), setuptools maps rankbench.models to models/ and so on (pyproject.toml); this
finder does the same mapping for a bare checkout.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {f"rankbench.{name}": ROOT / name for name in ("models", "compress", "bench", "reports")}


class _SourceFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        folder = MAPPED.get(fullname)
        if folder is None:
            return None
        return importlib.util.spec_from_file_location(fullname, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])


def use() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        import rankbench.models  # noqa: F401 - installed: nothing to do
    except ModuleNotFoundError:
        sys.meta_path.append(_SourceFinder())
