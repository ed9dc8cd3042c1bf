"""scripts/teacher_ablation.py and scripts/peft_sweep.py on the tiny random model and synthetic data:
every code path of the long runs, in seconds, resumable without training or scoring again."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import peft_sweep  # noqa: E402
import teacher_ablation  # noqa: E402

TINY_DATA = ('{dataset = "synthetic", synthetic_users = 30, synthetic_items = 150, train_per_user = 4, '
             'n_candidates = 20')


def no_scoring(monkeypatch):
    from rankbench.models.ranker import BertRanker

    def refuse(*args, **kwargs):
        raise AssertionError("scored again: the cached evaluation was not used")

    monkeypatch.setattr(BertRanker, "score", refuse)


def no_training_here(monkeypatch):
    """Training in this process fails: the scripts must train each model in a fresh process (so its
    peak memory is its own), which this patch does not reach."""
    import rankbench.models.teacher
    import rankbench.models.train

    def refuse(*args, **kwargs):
        raise AssertionError("trained in the script's own process, not a fresh one")

    monkeypatch.setattr(rankbench.models.train, "train", refuse)
    monkeypatch.setattr(rankbench.models.teacher, "train", refuse)


def test_teacher_ablation_tables_every_config_beside_the_baselines(tmp_path, capsys, monkeypatch):
    configs = tmp_path / "teachers.toml"
    configs.write_text(f"""
[[configs]]
name = "small"
note = "3 titles"
data = {TINY_DATA}}}
teacher = {{base = "tiny-random", max_length = 32}}
train = {{max_steps = 2}}

[[configs]]
name = "rich"
note = "5 titles, genres, hard negatives"
data = {TINY_DATA}, history_len = 5, item_details = true, hard_negatives = 0.5}}
teacher = {{base = "tiny-random", max_length = 48, dropout = 0.0}}
train = {{max_steps = 3}}
""")
    out = tmp_path / "out"
    args = ["--configs", str(configs), "--users", "6", "--out", str(out)]
    no_training_here(monkeypatch)
    assert teacher_ablation.main(args) == 0
    printed = capsys.readouterr().out
    rows = json.loads((out / "teacher_ablation.json").read_text())
    assert [r["name"] for r in rows] == ["small", "rich", "popularity", "cf-als"]
    assert [r["steps"] for r in rows[:2]] == [2, 3] and rows[1]["data"]["hard_negatives"] == 0.5
    assert [r["teacher"]["dropout"] for r in rows[:2]] == [None, 0.0]  # the row says what trained
    assert all(len(r["per_request"]["ndcg@10"]) == 6 for r in rows)
    assert "Teacher ablation on 6 valid users" in printed
    assert "| rich | 5 titles, genres, hard negatives | 3 |" in printed
    assert (out / "teacher_ablation.md").read_text().strip() == printed.strip()
    no_scoring(monkeypatch)  # again: teachers and evaluations come from their caches
    assert teacher_ablation.main(args + ["--only", "rich"]) == 0
    assert [r["name"] for r in json.loads((out / "teacher_ablation.json").read_text())] == ["rich", "popularity",
                                                                                            "cf-als"]


def test_teacher_ablation_checks_every_config_first(tmp_path):
    from rankbench.common.typed import ConfigError

    for config in teacher_ablation.DEFAULTS:  # the default list is valid as written
        teacher_ablation.configs_of(config, config["name"])
    configs = tmp_path / "bad.toml"
    configs.write_text('[[configs]]\nname = "a"\ndata = {histroy_len = 5}\n')
    with pytest.raises(ConfigError, match="config a.data: unknown key 'histroy_len'"):
        teacher_ablation.main(["--configs", str(configs), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_peft_sweep_tables_each_method_beside_the_full_fine_tune(tmp_path, capsys, monkeypatch):
    experiment = tmp_path / "tiny.toml"
    experiment.write_text(f"""
[data]
{TINY_DATA.strip('{').replace(', ', chr(10))}

[teacher]
base = "tiny-random"
max_length = 32

[teacher.train]
max_steps = 3
""")
    configs = tmp_path / "peft.toml"
    configs.write_text("""
[[configs]]
name = "lora-all"
step = {method = "lora", r = 4, target_modules = ["query", "key", "value", "dense"], max_steps = 2}

[[configs]]
name = "adapter-on-teacher"
note = "domain-adapted start"
step = {method = "adapter", size = 4, start = "teacher"}
""")
    out = tmp_path / "out"
    args = ["--experiment", str(experiment), "--configs", str(configs), "--users", "5", "--out", str(out)]
    no_training_here(monkeypatch)
    assert peft_sweep.main(args) == 0
    rows = json.loads((out / "peft_sweep.json").read_text())
    assert [r["name"] for r in rows] == ["full fine-tune", "lora-all", "adapter-on-teacher"]
    assert [r["start"] for r in rows] == ["base", "base", "teacher"]
    assert rows[0]["peak_rss_delta_bytes"] is not None
    assert [r["train_steps"] for r in rows] == [3, 2, 3]  # no max_steps: the teacher's step budget
    for row in rows[1:]:
        assert 0 < row["trainable_params"] < row["params"]
        assert row["train_seconds"] > 0 and row["peak_rss_delta_bytes"] >= 0
    printed = capsys.readouterr().out
    assert "PEFT on 5 valid users" in printed and "| adapter-on-teacher | domain-adapted start | teacher |" in printed
    no_scoring(monkeypatch)  # built steps and evaluations are reused
    assert peft_sweep.main(args) == 0


def test_peft_sweep_defaults_are_valid_peft_steps():
    from rankbench.compress.registry import config_from_dict

    for config in peft_sweep.DEFAULTS:
        assert config_from_dict(dict(config["step"])).method in ("lora", "prefix", "adapter")
