"""The shared helpers: typed configs refuse what cannot be meant, writes appear whole, one digest."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rankbench.common.digest import DIGEST_CHARS, Hasher, digest, file_digest
from rankbench.common.files import atomic_path, atomic_write_json, read_json_or_none
from rankbench.common.typed import ConfigError, from_dict


@dataclass(frozen=True)
class Inner:
    rate: float = 1.0


@dataclass(frozen=True)
class Outer:
    count: int = 1
    ratio: float = 0.5
    name: str = "x"
    flag: bool = False
    sizes: tuple[int, ...] = (1,)
    limit: int | None = None
    inner: Inner = field(default_factory=Inner)

    def __post_init__(self):
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")


def test_typed_configs_convert_what_is_meant():
    config = from_dict(Outer, {"count": 3, "ratio": 1, "sizes": [2, 4], "inner": {"rate": 2}}, "sec")
    assert config == Outer(count=3, ratio=1.0, sizes=(2, 4), inner=Inner(2.0))
    assert isinstance(config.ratio, float) and isinstance(config.sizes, tuple)


@pytest.mark.parametrize("raw, message", [
    ({"count": True}, "sec.count: expected an integer, got true (a boolean)"),
    ({"ratio": False}, "sec.ratio: expected a number, got false (a boolean)"),
    ({"count": 2.5}, "sec.count: expected an integer, got 2.5"),
    ({"name": 3}, "sec.name: expected a string, got 3"),
    ({"flag": 1}, "sec.flag: expected a boolean, got 1"),
    ({"sizes": [1, "2"]}, "sec.sizes[1]: expected an integer, got '2'"),
    ({"limit": True}, "sec.limit: expected an integer or none, got true (a boolean)"),
    ({"inner": {"rate": "fast"}}, "sec.inner.rate: expected a number, got 'fast'"),
    ({"inner": {"speed": 1}}, "sec.inner: unknown key 'speed' (known: rate)"),
    ({"colour": 1}, "sec: unknown key 'colour' (known: count, flag, inner, limit, name, ratio, sizes)"),
    ({"count": 0}, "sec: count must be >= 1, got 0"),
])
def test_typed_configs_refuse_what_cannot_be_meant(raw, message):
    with pytest.raises(ConfigError) as err:
        from_dict(Outer, raw, "sec")
    assert str(err.value) == message


def test_an_interrupted_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.json"
    atomic_write_json(path, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text('{"v": 2, "trunc')
            raise RuntimeError("killed mid-write")
    assert read_json_or_none(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left behind
    path.write_text("{broken")
    assert read_json_or_none(path) is None and read_json_or_none(tmp_path / "absent.json") is None


def test_one_digest_length_and_key_order_does_not_matter(tmp_path):
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1}) != digest({"a": 2, "b": [1, 2]})
    (tmp_path / "f").write_bytes(b"abc")
    values = [digest("x"), file_digest(tmp_path / "f"), Hasher().update("a").update(b"b").hexdigest()]
    assert {len(v) for v in values} == {DIGEST_CHARS}
    assert file_digest(tmp_path / "f") == Hasher().update(b"abc").hexdigest()


def test_a_registry_loads_on_first_use_and_names_what_it_knows():
    from rankbench.common.registry import Registry

    loads = []
    shapes = Registry("shape", load=lambda: (loads.append(1), shapes.add("circle", 1)))
    assert loads == [] and shapes.names() == ["circle"] and loads == [1]
    shapes.add("square", 4)
    shapes.add("square", 4)  # the same entry again is fine ...
    with pytest.raises(ValueError, match="shape 'square' is registered twice"):
        shapes.add("square", 5)  # ... another one under a taken name is not
    with pytest.raises(ValueError, match="unknown shape 'cube'; known shapes: circle, square"):
        shapes.get("cube")
    assert shapes.find("cube") is None and shapes.get("cube", 0) == 0 and loads == [1]
