"""Wall time per stage of a run, so that a run can say where its time went.

    clock = StageClock()
    ...train...;  clock.lap("teacher")          # seconds since the start
    ...build...;  clock.lap("builds")           # seconds since the previous lap
    clock.seconds                               # {"teacher": 1.5, "builds": 2.0} (say)

Work found in a cache counts as the (short) time it took to find it: the figures are this run's.
"""
from __future__ import annotations

import time


class StageClock:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> float:
        """End `stage`: the seconds since the previous lap (or the start) are added to it."""
        now = time.perf_counter()
        spent = now - self._last
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + spent, 1)
        self._last = now
        return spent

    def describe(self) -> str:
        return ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in self.seconds.items())
