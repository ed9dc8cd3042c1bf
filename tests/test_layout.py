"""The layout rules: every import points down the layers, one namespace, small files and functions.

Layers, top to bottom: the application (rankbench.cli above rankbench.experiment and rankbench.serve) -> reports ->
bench -> compress -> models -> common. Imports are read with `ast`, inside functions too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Source folder -> (import name, layer); a module may import its own layer or any lower one.
PACKAGES = {"rankbench/common": ("rankbench.common", 0), "models": ("rankbench.models", 1),
            "compress": ("rankbench.compress", 2), "bench": ("rankbench.bench", 3),
            "reports": ("rankbench.reports", 4), "rankbench/experiment": ("rankbench.experiment", 5),
            "rankbench/serve": ("rankbench.serve", 5),
            "rankbench/cli": ("rankbench.cli", 6)}
BARE_NAMES = {"models", "compress", "bench", "reports"}
MAX_FILE_LINES = 350
MAX_FUNCTION_LINES = 60


def source_files():
    for folder, (name, layer) in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, name, layer


def layer_of(module: str) -> int | None:
    best = None
    for name, layer in PACKAGES.values():
        if module == name or module.startswith(name + "."):
            best = layer if best is None else max(best, layer)
    return best


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_every_import_points_down():
    upward, bare = [], []
    for path, _name, layer in source_files():
        for line, module in imported_modules(ast.parse(path.read_text())):
            if module.split(".")[0] in BARE_NAMES:
                bare.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            target = layer_of(module)
            if target is not None and target > layer:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not bare, "bare top-level imports (use rankbench.<package>):\n" + "\n".join(bare)
    assert not upward, "imports that point up:\n" + "\n".join(upward)


def test_the_direction_check_catches_an_upward_import_inside_a_function():
    tree = ast.parse("def f():\n    from rankbench.reports.select import select\n")
    assert any(layer_of(m) == 4 for _, m in imported_modules(tree))
    assert layer_of("rankbench.models.data") == 1 and layer_of("rankbench.cli.args") == 6


def test_installed_packages_live_under_one_namespace(tmp_path):
    """From outside the checkout (so the repository root is not on the path), as a user would."""
    import subprocess
    import sys

    code = ("import importlib.util, json, rankbench.models, rankbench.compress, rankbench.bench, "
            "rankbench.reports, rankbench.cli, rankbench.experiment\n"
            "print(json.dumps({'files': [m.__file__ for m in (rankbench.models, rankbench.compress, "
            "rankbench.bench, rankbench.reports)], 'bare': [n for n in %r if importlib.util.find_spec(n)]}))"
            % sorted(BARE_NAMES))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json

    found = json.loads(out.stdout)
    assert [Path(f).parent for f in found["files"]] == [ROOT / f for f in ("models", "compress", "bench", "reports")]
    assert found["bare"] == [], f"generic top-level names importable: {found['bare']}"


def test_files_and_functions_stay_small():
    big_files, long_functions = [], []
    for path, _name, _layer in source_files():
        text = path.read_text()
        if len(text.splitlines()) > MAX_FILE_LINES:
            big_files.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not big_files, "files over 350 lines:\n" + "\n".join(big_files)
    assert not long_functions, "functions over 60 lines:\n" + "\n".join(long_functions)


def test_tests_mirror_the_packages():
    for folder in ("models", "compress", "bench", "reports", "rankbench"):
        assert (ROOT / "tests" / folder).is_dir(), f"tests/{folder} is missing"
