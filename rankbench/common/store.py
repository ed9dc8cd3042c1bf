"""The store: where a run's shared files live (artifacts, score files, parity references, cells), so
that every worker of every machine reads and writes the same ones.

    store = Store("runs/x")                    # a folder (on one machine, or mounted on every node)
    store = Store("s3://bucket/rankbench/x")   # any fsspec URL (gs://, file://, memory:// in tests)
    path = store.pull("cells/abc.json")        # the local copy, fetched first from a URL store
    store.push("cells/abc.json")               # the local file copied up (no-op for a folder store)
    store.pull_dir("artifacts/distill-1f2e", marker="artifact.json")

Code always works on local paths under `store.root()`: for a folder store that is the folder itself
(today's layout, nothing copied); for a URL store it is a mirror on this machine
($RANKBENCH_STORE_CACHE, else ~/.cache/rankbench/store/<digest of the URL>), filled on demand and
copied up when a file is finished. Paths are relative to the root; an absolute path (a file that is
not in the store, e.g. a cached teacher on a one-machine run) is used where it lies and never copied.

Folders are immutable once complete (an artifact is named by its hash): a folder counts as present
when its `marker` file is, and the marker is copied up last, so a reader never takes a half-copied
folder as complete. Files (cells, score files) are copied whole, the newest copy winning.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rankbench.common.digest import digest
from rankbench.common.files import replace_dir

MIRROR_ENV = "RANKBENCH_STORE_CACHE"


def mirror_base() -> Path:
    """Where URL stores are mirrored on this machine."""
    if os.environ.get(MIRROR_ENV):
        return Path(os.environ[MIRROR_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rankbench" / "store"


@dataclass(frozen=True)
class Store:
    url: str  # a folder or an fsspec URL ("protocol://...")

    @property
    def remote(self) -> bool:
        return "://" in self.url

    def root(self) -> Path:
        return mirror_base() / digest(self.url) if self.remote else Path(self.url)

    def local(self, rel: str | Path) -> Path:
        return self.root() / rel  # an absolute `rel` stays itself

    def relative(self, path: str | Path) -> str:
        """`path` relative to the root where it lies inside, else the absolute path."""
        path = Path(path).absolute()
        try:
            return path.relative_to(self.root().absolute()).as_posix()
        except ValueError:
            return str(path)

    def _in_store(self, rel: str | Path) -> bool:
        return self.remote and not Path(rel).is_absolute()

    def _fs(self):
        import fsspec

        fs, base = fsspec.core.url_to_fs(self.url)
        return fs, base.rstrip("/")

    def check(self) -> None:
        """Fail early (before any work) when the URL's protocol or its package is missing."""
        if self.remote:
            try:
                self._fs()
            except ImportError as err:  # e.g. s3:// without s3fs: fsspec names the package to install
                raise RuntimeError(f"store {self.url}: {err}") from None

    # --- files --------------------------------------------------------------------------------
    def pull(self, rel: str | Path) -> Path:
        """The local copy of a file, replaced by the store's copy where the store has one."""
        local = self.local(rel)
        if self._in_store(rel):
            fs, base = self._fs()
            if fs.exists(f"{base}/{rel}"):
                _get(fs, f"{base}/{rel}", local)
        return local

    def push(self, rel: str | Path) -> None:
        """Copy a finished local file up (a folder store already holds it)."""
        local = self.local(rel)
        if self._in_store(rel) and local.is_file():
            fs, base = self._fs()
            fs.makedirs(f"{base}/{Path(rel).parent.as_posix()}", exist_ok=True)
            fs.put_file(str(local), f"{base}/{rel}")

    @contextmanager
    def synced(self, rel: str | Path):
        """Yield the local copy of a file (pulled first); copy it up afterwards if it changed,
        even when the work with it failed (what was finished is kept)."""
        local = self.pull(rel)
        before = _stamp(local)
        try:
            yield local
        finally:
            if _stamp(local) != before:
                self.push(rel)

    def pull_tree(self, rel: str | Path) -> Path:
        """Every file under a store folder that is missing here or differs in size (e.g. cells/)."""
        local = self.local(rel)
        if self._in_store(rel):
            fs, base = self._fs()
            remote = f"{base}/{rel}"
            for path, info in (fs.find(remote, detail=True) if fs.exists(remote) else {}).items():
                target = local / Path(path).relative_to(Path(remote)).as_posix()
                if not target.is_file() or target.stat().st_size != info.get("size"):
                    _get(fs, path, target)
        return local

    # --- folders that are complete once their marker is there ----------------------------------
    def pull_dir(self, rel: str | Path, marker: str) -> Path:
        local = self.local(rel)
        if self._in_store(rel) and not (local / marker).is_file():
            fs, base = self._fs()
            remote = f"{base}/{rel}"
            if fs.exists(f"{remote}/{marker}"):
                staging = local.with_name(f".{local.name}.{os.getpid()}.pull")
                shutil.rmtree(staging, ignore_errors=True)
                for path in fs.find(remote):
                    _get(fs, path, staging / Path(path).relative_to(Path(remote)).as_posix())
                replace_dir(staging, local)
        return local

    def push_dir(self, rel: str | Path, marker: str) -> None:
        local = self.local(rel)
        if not self._in_store(rel) or not (local / marker).is_file():
            return
        fs, base = self._fs()
        remote = f"{base}/{rel}"
        if fs.exists(f"{remote}/{marker}"):
            return  # complete there already (built by another worker, or pushed before)
        files = sorted(p for p in local.rglob("*") if p.is_file() and p != local / marker)
        for path in files + [local / marker]:  # the marker last: it says the folder is complete
            target = f"{remote}/{path.relative_to(local).as_posix()}"
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            fs.put_file(str(path), target)

    def publish_dir(self, source: str | Path, rel: str, marker: str) -> str:
        """Copy a complete folder from outside the store into it (once) and up; its store path."""
        local = self.local(rel)
        if not (local / marker).is_file():
            staging = local.with_name(f".{local.name}.{os.getpid()}.publish")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(source, staging)
            replace_dir(staging, local)
        self.push_dir(rel, marker)
        return rel


def _stamp(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _get(fs, remote: str, local: Path) -> None:
    """Download one file to a temporary name beside `local`, then rename: never half a file."""
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(f".{local.name}.{os.getpid()}.get")
    try:
        fs.get_file(remote, str(tmp))
        os.replace(tmp, local)
    finally:
        tmp.unlink(missing_ok=True)
