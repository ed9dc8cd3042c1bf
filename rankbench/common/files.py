"""Writes that appear whole or not at all: a reader (or a resumed run) never sees half a file.

    atomic_write_text(path, text)            atomic_write_json(path, obj)
    with atomic_path(path) as tmp:           # any writer: np.savez(tmp, ...), torch.save(..., tmp)
        write_somehow(tmp)
    replace_dir(staging, final)              # a folder built aside appears under its final name

The temporary name lies in the same folder (a rename across file systems is not atomic) and keeps
the final suffix, since some writers choose their format by it (np.savez adds .npz otherwise).
"""
from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path


def temporary_name(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_json(path: str | Path, obj, indent: int | None = 1) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=indent, default=str))


def read_json_or_none(path: str | Path):
    """The JSON in `path`, or None when it is absent or damaged (then it counts as not finished)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def read_json_object(path: str | Path, what: str, error: type[Exception] = ValueError) -> dict:
    """The JSON object in `path`; FileNotFoundError when absent, `error` (naming the file and the
    line) when it is not JSON or not an object."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} file at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        where = f"line {err.lineno}: {err.msg}" if isinstance(err, json.JSONDecodeError) else "not UTF-8"
        raise error(f"{path} is not valid JSON ({where})") from None
    if not isinstance(data, dict):
        raise error(f"{path} is not a {what} object")
    return data


def replace_dir(staging: str | Path, final: str | Path) -> Path:
    """Move a completely built folder to its final name, replacing an older one there."""
    staging, final = Path(staging), Path(final)
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    return final
