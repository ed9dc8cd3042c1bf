"""Cache keys cover everything that produces a number: the machine's identity (CPU model and ISA),
the library versions and the project's code; artifacts and the teacher, the code that builds them."""
from __future__ import annotations

from rankbench.bench.backends import BackendOptions
from rankbench.bench.cells import BackendSpec, ScenarioSpec, define_cells
from rankbench.bench.machine import environment, measurement_identity, same_machine


def _key(tiny_artifact, env):
    backend = BackendSpec("torch", BackendOptions())
    scenario = ScenarioSpec("single-stream", {"candidates": 10})
    return define_cells({"tiny": tiny_artifact}, [backend], [scenario], {"measured_by": measurement_identity(env)})[0]["key"]


def test_a_cell_key_changes_with_isa_libraries_and_code(tiny_artifact):
    env = environment()
    key = _key(tiny_artifact, env)
    assert _key(tiny_artifact, dict(env)) == key
    for change in ({"isa": ["avx2"]}, {"cpu_id": "25/1/1"}, {"libraries": {**env["libraries"], "onnxruntime": "9.9"}},
                   {"code_digest": "0" * 16}):
        assert _key(tiny_artifact, {**env, **change}) != key, change


def test_same_machine_tells_isa_apart():
    env = environment()
    assert same_machine(env, dict(env)) == (True, "")
    ok, why = same_machine(env, {**env, "isa": ["avx2"]})
    assert not ok and "isa differs" in why


def test_artifact_and_teacher_keys_cover_their_code(monkeypatch):
    from rankbench.compress import api
    from rankbench.models import teacher
    from rankbench.models.data import DataConfig

    before = teacher.teacher_key(teacher.TeacherConfig(), DataConfig())
    monkeypatch.setattr(teacher, "training_code", lambda: "changed")
    assert teacher.teacher_key(teacher.TeacherConfig(), DataConfig()) != before
    assert len(api.compression_code()) == 16  # part of every build key (compress.api.build_key)


def test_a_changed_compression_code_builds_anew(tiny_artifact, tmp_path, monkeypatch):
    from rankbench.compress import api
    from rankbench.compress.registry import config_from_dict

    ctx = api.CompressContext(out_dir=tmp_path)
    step = config_from_dict({"method": "prune-heads", "ratio": 0.5, "importance": "magnitude"})
    before = api.build_key(tiny_artifact, step, ctx)
    monkeypatch.setattr(api, "compression_code", lambda: "changed")
    assert api.build_key(tiny_artifact, step, ctx) != before
