"""Configs: every method is registered, round-trips through a dict, and rejects bad values up front."""
from __future__ import annotations

import pytest

from rankbench.compress.registry import config_from_dict, get_method, method_names

ISSUE_METHODS = ["prune-heads", "prune-ffn", "prune-layers", "prune-unstructured", "quantize-ort-dynamic",
                 "quantize-ort-static", "quantize-torch-dynamic", "half", "quantize-tensorrt-int8", "distill",
                 "lora", "prefix", "adapter"]
# The smallest valid step of each method (required fields only).
MINIMAL = {"prune-heads": {"ratio": 0.5}, "prune-ffn": {"ratio": 0.5}, "prune-layers": {"ratio": 0.5},
           "prune-unstructured": {"sparsity": 0.5}, "distill": {"layers": 1}}


def test_every_method_of_the_issue_is_registered():
    assert set(ISSUE_METHODS) <= set(method_names())


@pytest.mark.parametrize("name", method_names())
def test_config_round_trips_through_a_dict(name):
    config = config_from_dict({"method": name, **MINIMAL.get(name, {})})
    assert config.method == name
    assert config_from_dict(config.to_dict()) == config


@pytest.mark.parametrize("step, message", [
    ({"method": "prune-heads", "ratio": 0.0}, r"ratio must be in \(0, 1\)"),
    ({"method": "prune-heads", "ratio": 1.0}, r"ratio must be in \(0, 1\)"),
    ({"method": "prune-ffn", "ratio": -0.2}, r"ratio must be in \(0, 1\)"),
    ({"method": "prune-unstructured", "sparsity": 1.5}, r"sparsity must be in \(0, 1\)"),
    ({"method": "prune-heads", "ratio": 0.5, "scope": "everywhere"}, "scope must be one of"),
    ({"method": "prune-heads", "ratio": 0.5, "importance": "vibes"}, "importance must be one of"),
    ({"method": "distill", "layers": 0}, "layers must be an integer >= 1"),
    ({"method": "distill", "layers": 2, "loss": "mse"}, "loss must be one of"),
    ({"method": "distill", "layers": 2, "distill_weight": 0, "hard_weight": 0}, "not both 0"),
    ({"method": "distill", "layers": 2, "heads_ratio": 1.0}, r"heads_ratio must be in \[0, 1\)"),
    ({"method": "lora", "r": 0}, "r must be > 0"),
    ({"method": "lora", "lr": -1.0}, "lr must be > 0"),
    ({"method": "lora", "bias": "some"}, "lora: bias must be one of"),
    ({"method": "adapter", "bias": "lora_only"}, "adapter: bias must be one of"),
    ({"method": "adapter", "modules_to_save": "pooler"}, "adapter.modules_to_save: expected a list"),
    ({"method": "prefix", "bias": "lora_only"}, "prefix: bias must be one of"),
    ({"method": "prefix", "dropout": 0.1}, "prefix: unknown key 'dropout'"),
    ({"method": "prefix", "init": "text"}, "prefix: init must be one of"),
    ({"method": "prefix", "init": "activations", "prefix_projection": True}, "needs prefix_projection = false"),
    ({"method": "half", "dtype": "float8"}, "dtype must be one of"),
    ({"method": "quantize-ort-static", "calibration": "magic"}, "calibration must be one of"),
    ({"method": "quantize-torch-dynamic", "engine": "tensorrt"}, "engine must be one of"),
    ({"method": "prune-heads"}, "missing 1 required keyword-only argument: 'ratio'"),
    ({"method": "prune-heads", "ratio": 0.5, "ration": 0.5}, "prune-heads: unknown key 'ration'"),
    ({"method": "prune-everything"}, "unknown compression method 'prune-everything'"),
    ({"ratio": 0.5}, "needs a method name"),
    # A boolean is not a number: `layers = true` must not build a 1-layer student.
    ({"method": "distill", "layers": True}, r"distill.layers: expected an integer, got true \(a boolean\)"),
    ({"method": "prune-heads", "ratio": True}, "prune-heads.ratio: expected a number, got true"),
    ({"method": "lora", "r": 8.5}, "lora.r: expected an integer, got 8.5"),
    ({"method": "lora", "target_modules": "query"}, "lora.target_modules: expected a list"),
    ({"method": "quantize-ort-dynamic", "per_channel": 1}, "quantize-ort-dynamic.per_channel: expected a boolean"),
    ("distill", "expected a table"),
])
def test_bad_configs_raise_clear_errors(step, message):
    with pytest.raises(ValueError, match=message):
        config_from_dict(step)


def test_registering_a_name_twice_with_another_config_fails():
    from dataclasses import dataclass

    from rankbench.compress.config import MethodConfig
    from rankbench.compress.registry import register_method

    @dataclass(frozen=True, kw_only=True)
    class Other(MethodConfig):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        register_method("distill", Other, lambda *a: None)
    assert get_method("distill").config.__name__ == "DistillConfig"


def test_lists_from_toml_become_tuples():
    config = config_from_dict({"method": "lora", "target_modules": ["query", "key", "value"]})
    assert config.target_modules == ("query", "key", "value")
    hash(config)  # frozen configs stay hashable
