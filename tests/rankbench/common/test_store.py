"""The store: a folder is used in place; an fsspec URL is mirrored locally, files copied whole and
folders counted complete only once their marker is there (copied last)."""
from __future__ import annotations

import uuid

import fsspec
import pytest

from rankbench.common.store import Store


@pytest.fixture()
def url_store(tmp_path, monkeypatch):
    monkeypatch.setenv("RANKBENCH_STORE_CACHE", str(tmp_path / "mirror"))
    url = f"memory://rankbench-test-{uuid.uuid4().hex}/runs/x"
    yield Store(url)
    fsspec.filesystem("memory").rm(url.split("://", 1)[1].split("/")[0], recursive=True)


def test_a_folder_store_is_used_in_place(tmp_path):
    store = Store(str(tmp_path / "out"))
    assert not store.remote and store.local("cells/a.json") == tmp_path / "out" / "cells" / "a.json"
    assert store.relative(tmp_path / "out" / "artifacts" / "x") == "artifacts/x"
    assert store.relative("/elsewhere/teacher") == "/elsewhere/teacher"  # outside: used where it lies
    store.push("cells/a.json")  # nothing to copy: the folder is the store
    assert store.pull("cells/a.json") == tmp_path / "out" / "cells" / "a.json"


def test_files_go_up_and_come_back(url_store, tmp_path, monkeypatch):
    local = url_store.local("cells/k.json")
    local.parent.mkdir(parents=True)
    local.write_text('{"key": "k"}')
    url_store.push("cells/k.json")
    fs = fsspec.filesystem("memory")
    assert fs.cat(url_store.url.split("://", 1)[1] + "/cells/k.json") == b'{"key": "k"}'

    monkeypatch.setenv("RANKBENCH_STORE_CACHE", str(tmp_path / "other-machine"))
    assert not url_store.local("cells/k.json").exists()  # another machine's mirror starts empty
    assert url_store.pull_tree("cells") == tmp_path / "other-machine" / url_store.root().name / "cells"
    assert url_store.local("cells/k.json").read_text() == '{"key": "k"}'
    assert url_store.pull("cells/missing.json").exists() is False


def test_a_folder_counts_only_with_its_marker(url_store, tmp_path, monkeypatch):
    art = url_store.local("artifacts/a-1")
    art.mkdir(parents=True)
    (art / "model.bin").write_bytes(b"weights")
    url_store.push_dir("artifacts/a-1", marker="artifact.json")  # not finished: nothing goes up
    fs = fsspec.filesystem("memory")
    remote = url_store.url.split("://", 1)[1] + "/artifacts/a-1"
    assert not fs.exists(remote + "/model.bin")
    (art / "artifact.json").write_text("{}")
    url_store.push_dir("artifacts/a-1", marker="artifact.json")
    assert fs.cat(remote + "/model.bin") == b"weights"

    fs.rm(remote + "/artifact.json")  # as if a copy up had stopped before the marker
    monkeypatch.setenv("RANKBENCH_STORE_CACHE", str(tmp_path / "second"))
    assert not (url_store.pull_dir("artifacts/a-1", "artifact.json") / "model.bin").exists()
    fs.pipe(remote + "/artifact.json", b"{}")
    assert (url_store.pull_dir("artifacts/a-1", "artifact.json") / "model.bin").read_bytes() == b"weights"


def test_publish_copies_an_outside_folder_in_once(url_store, tmp_path):
    source = tmp_path / "teacher"
    source.mkdir()
    (source / "artifact.json").write_text("{}")
    (source / "w.bin").write_bytes(b"w")
    assert url_store.publish_dir(source, "imported/teacher-1", "artifact.json") == "imported/teacher-1"
    (source / "w.bin").write_bytes(b"changed")  # already published: not copied again
    url_store.publish_dir(source, "imported/teacher-1", "artifact.json")
    assert url_store.local("imported/teacher-1/w.bin").read_bytes() == b"w"


def test_an_unknown_protocol_fails_before_any_work():
    with pytest.raises(ValueError, match="nope"):
        Store("nope://bucket/x").check()
