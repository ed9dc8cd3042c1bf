"""The local executor (the default): every unit of work in this process, one after the other, on
this machine, exactly as a run has always worked. Placements in the experiment are not needed here
and are ignored (the run says so)."""
from __future__ import annotations

from typing import Iterator

from rankbench.bench.executors.base import Executor, Outcome, Work, error_outcome
from rankbench.bench.machine import measurement_identity


class LocalExecutor(Executor):
    name = "local"

    def map(self, works: list[Work]) -> Iterator[Outcome]:
        for work in works:
            try:
                value = work.fn(*work.args, **work.local_kwargs)
            except Exception as err:  # noqa: BLE001 - one failed unit must not stop the others
                yield error_outcome(work.key, err)
            else:
                yield Outcome(work.key, value)

    def key_context(self, env: dict, threads: int, run_threads: int | None) -> dict:
        # As before executors existed: cells measured here before stay valid.
        return {"measured_by": measurement_identity(env), "threads": threads}
