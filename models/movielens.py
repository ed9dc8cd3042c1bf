"""MovieLens-100K from the RecBole 1.2.1 wheel: fetch once, verify, cache, parse.

The wheel is fetched alone (`pip download --no-deps recbole==1.2.1`): installing recbole would pull
ray and much more. Only the three atomic files are extracted, and each is checked by sha256.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rankbench.common.files import replace_dir

RECBOLE_WHEEL = "recbole==1.2.1"
WHEEL_PREFIX = "recbole/dataset_example/ml-100k/"
SHA256 = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
}


class DataUnavailable(RuntimeError):
    """The dataset is neither cached nor fetchable; the message says what to do."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rankbench"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verified(folder: Path) -> bool:
    return all((folder / n).is_file() and _sha256(folder / n) == h for n, h in SHA256.items())


def _fetch_into(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", RECBOLE_WHEEL, "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("recbole-*.whl"))
        if proc.returncode != 0 or not wheels:
            raise DataUnavailable(
                "MovieLens-100K is not cached and could not be fetched "
                f"(`{' '.join(cmd[2:])}` failed: {proc.stderr.strip()[-300:] or 'no wheel'}).\n"
                f"Either allow access to PyPI, or pass --data-dir pointing at a folder that holds "
                f"{', '.join(SHA256)} (RecBole atomic format)."
            )
        staging = Path(tempfile.mkdtemp(dir=folder.parent))
        with zipfile.ZipFile(wheels[0]) as zf:
            for name in SHA256:
                (staging / name).write_bytes(zf.read(WHEEL_PREFIX + name))
        if not _verified(staging):
            shutil.rmtree(staging)
            raise DataUnavailable("the fetched ml-100k files do not match their sha256 checksums")
        replace_dir(staging, folder)  # a half-extracted folder is never taken as the cache


def ensure_files(data_dir: str | Path | None = None) -> Path:
    """Return a folder holding verified ml-100k files, fetching into the cache when needed."""
    if data_dir is not None:
        folder = Path(data_dir)
        missing = [n for n in SHA256 if not (folder / n).is_file()]
        if missing:
            raise DataUnavailable(f"--data-dir {folder} lacks {', '.join(missing)}")
        return folder
    # RANKBENCH_DATA_CACHE lets tests (and users) keep data apart from other cached work.
    folder = Path(os.environ.get("RANKBENCH_DATA_CACHE") or cache_root() / "data") / "ml-100k"
    if _verified(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    _fetch_into(folder)
    return folder


@dataclass
class MovieLensTables:
    interactions: list[tuple[str, str, float]]  # (user, item, timestamp)
    item_text: dict[str, str]
    user_text: dict[str, str]
    ratings: dict[tuple[str, str], float]  # (user, item) -> 1..5 stars


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="latin-1").splitlines()
    return [line.split("\t") for line in lines[1:] if line.strip()]  # first line: typed header


def read_tables(folder: Path) -> MovieLensTables:
    rows = _rows(folder / "ml-100k.inter")
    interactions = [(u, i, float(ts)) for u, i, _rating, ts in rows]
    ratings = {(u, i): float(rating) for u, i, rating, _ts in rows}
    item_text = {}
    for item, title, year, genres in _rows(folder / "ml-100k.item"):
        year_part = f" ({year})" if year else ""
        item_text[item] = f"{title.strip()}{year_part} | {genres.replace(' ', ', ')}"
    user_text = {u: f"age {age}, {'male' if g == 'M' else 'female'}, {occ}"
                 for u, age, g, occ, _zip in _rows(folder / "ml-100k.user")}
    return MovieLensTables(interactions, item_text, user_text, ratings)
