"""Executors: who runs a run's units of work (builds, scoring, measuring), one registry.

    executor = make_executor("local", Store("runs/x"))                    # this process (the default)
    executor = make_executor("ray", Store("s3://b/x"), address="auto")    # a Ray cluster (extra: ray)

See base.py for the protocol, units.py for the work itself, ray_executor.py for the cluster. Ray is
imported only by the Ray executor, only when one is made.
"""
from __future__ import annotations

from rankbench.common.registry import Registry


def _load() -> None:
    from rankbench.bench.executors import local, ray_executor

    EXECUTORS.add("local", local.LocalExecutor)
    EXECUTORS.add("ray", ray_executor.RayExecutor)


EXECUTORS = Registry("executor", load=_load)


def executor_names() -> list[str]:
    return EXECUTORS.names()


def make_executor(name: str, store, **settings):
    """An executor by name (an unknown name: an error with the known ones)."""
    return EXECUTORS.get(name)(store, **settings)
