"""What every executor shares: a unit of work, its outcome, and the executor protocol.

    works = [Work(key, fn, args, Needs(backend="torch", options=opts, timed=True))]
    for outcome in executor.map(works):       # in the order they finish
        outcome.value if outcome.ok else (outcome.error, outcome.unavailable)

A Work is a module-level function and its arguments (picklable: a remote executor ships them), with
what it needs to run (its backend and options decide GPU / TPU / CPU; `timed` asks for a node to
itself). An outcome carries the function's return value whole, or why there is none: the
exception, a dead worker or node, or `unavailable` when no machine can ever run it. Work functions
return their results; they never append to shared state, so a retried work cannot count twice.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from rankbench.bench.backends import BackendOptions
from rankbench.bench.placement import Placement
from rankbench.common.store import Store
from rankbench.compress.artifact import ARTIFACT_FILE, Artifact


@dataclass(frozen=True)
class Needs:
    backend: str | None = None  # None: the CPU (builds, reference scores: fp32 on a CPU)
    options: BackendOptions | None = None
    placement: Placement | None = None
    timed: bool = False  # measured: nothing else of the run may share its node meanwhile
    threads: int | None = None  # CPU threads it uses (the backend's option, else the run's; None: default)


@dataclass
class Work:
    key: str  # the caller matches outcomes by it
    fn: Callable
    args: tuple = ()
    needs: Needs = field(default_factory=Needs)
    local_kwargs: dict = field(default_factory=dict)  # in-process extras (a progress bar); never shipped


@dataclass
class Outcome:
    key: str
    value: object = None
    error: str | None = None  # one line: why there is no value
    detail: str | None = None  # the traceback, for errors.log
    unavailable: bool = False  # no machine can run it (e.g. no node has a GPU)

    @property
    def ok(self) -> bool:
        return self.error is None


def error_outcome(key: str, err: BaseException) -> Outcome:
    last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return Outcome(key, error=f"{type(err).__name__}: {str(err)[:400]}{where}",
                   detail="".join(traceback.format_exception(err)))


class Executor:
    """Runs works. Subclasses: local (this process, one at a time) and ray (a cluster)."""

    name = ""
    distributed = False  # works run in other processes, maybe other machines: artifacts travel by the store

    def __init__(self, store: Store):
        self.store = store

    def map(self, works: list[Work]) -> Iterator[Outcome]:
        raise NotImplementedError

    def share(self, value):
        """A handle for a large argument many works take (Ray: put in the object store once)."""
        return value

    def key_context(self, env: dict, threads: int, run_threads: int | None) -> dict:
        """What a cell's cache key holds about where and how it is measured (rankbench.bench.cells)."""
        raise NotImplementedError

    def where(self, spec) -> dict | None:
        """What this executor adds to the key of a backend's cells (None: nothing)."""
        return None

    def portable(self, artifact: Artifact) -> Artifact:
        """The artifact as works receive it: its path relative to the store. One that lies outside
        the store (a cached teacher, a folder given on the command line) is copied in first where
        works run elsewhere, under imported/<name>-<hash>."""
        rel = self.store.relative(artifact.path)
        if self.distributed and Path(rel).is_absolute():
            rel = self.store.publish_dir(artifact.path, f"imported/{artifact.name}-{artifact.hash}", ARTIFACT_FILE)
        return Artifact(Path(rel), artifact.name, artifact.format, artifact.meta)

    def view(self, artifact: Artifact) -> Artifact:
        """A portable artifact as the driver sees it (its path in the local root; files not fetched)."""
        return Artifact(self.store.local(artifact.path), artifact.name, artifact.format, artifact.meta)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
