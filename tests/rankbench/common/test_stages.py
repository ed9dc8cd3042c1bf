from rankbench.common import stages
from rankbench.common.stages import StageClock


def test_laps_add_up_per_stage_in_the_order_they_ran(monkeypatch):
    now = iter([0.0, 2.4, 3.0, 7.0, 8.6])
    monkeypatch.setattr(stages.time, "perf_counter", lambda: next(now))
    clock = StageClock()                         # 0.0
    assert clock.lap("teacher") == 2.4           # 2.4
    clock.lap("builds")                          # 3.0
    clock.lap("builds")                          # 7.0: a stage lapped twice adds up
    clock.lap("cells")                           # 8.6
    assert clock.seconds == {"teacher": 2.4, "builds": 4.6, "cells": 1.6}
    assert list(clock.seconds) == ["teacher", "builds", "cells"]
    assert clock.describe() == "teacher 2 s, builds 5 s, cells 2 s"
