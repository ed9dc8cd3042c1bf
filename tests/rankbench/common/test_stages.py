from rankbench.common import stages
from rankbench.common.stages import StageClock


def test_laps_add_up_per_stage_and_restart_leaves_time_out(monkeypatch):
    now = iter([0.0, 2.4, 3.0, 10.0, 14.0, 15.6])
    monkeypatch.setattr(stages.time, "perf_counter", lambda: next(now))
    clock = StageClock()                         # 0.0
    assert clock.lap("teacher") == 2.4           # 2.4
    clock.lap("builds")                          # 3.0
    clock.restart()                              # 10.0: the 7 s in between belong to no stage
    clock.lap("builds")                          # 14.0: a stage lapped twice adds up
    clock.lap("cells")                           # 15.6
    assert clock.seconds == {"teacher": 2.4, "builds": 4.6, "cells": 1.6}
    assert list(clock.seconds) == ["teacher", "builds", "cells"]
    assert clock.describe() == "teacher 2 s, builds 5 s, cells 2 s"
