"""OpenVINO model helpers: no telemetry without the user's yes, and IR files checked with errors that
name the file (the backend and method tests cover conversion, compiling and scoring)."""
from __future__ import annotations

import pathlib

import pytest

from rankbench.models.openvino_model import OpenVinoModelError, check_ir_files

telemetry = pytest.importorskip("openvino_telemetry.utils.opt_in_checker",
                                reason="the openvino-telemetry package is not installed")


def test_no_answer_counts_as_no_and_an_answer_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(pathlib.Path, "home", classmethod(lambda cls: tmp_path))
    checker = telemetry.OptInChecker()
    assert checker.consent_file() == str(tmp_path / "intel" / "openvino_telemetry")
    # As a library (no opt-in dialog) OpenVINO and NNCF would count the missing file as consent.
    assert checker.check(False, False) == telemetry.ConsentCheckResult.DECLINED
    (tmp_path / "intel").mkdir()
    (tmp_path / "intel" / "openvino_telemetry").write_text("1")
    assert checker.check(False, False) == telemetry.ConsentCheckResult.ACCEPTED
    (tmp_path / "intel" / "openvino_telemetry").write_text("0")
    assert checker.check(False, False) == telemetry.ConsentCheckResult.DECLINED


@pytest.mark.parametrize("files, message", [
    ({}, "model.xml is missing"),
    ({"model.xml": "<net/>"}, "model.bin is missing"),
    ({"model.xml": "<net><layers>", "model.bin": ""}, "not well-formed XML"),
    ({"model.xml": "<graph/>", "model.bin": ""}, "root element is <graph>, not <net>"),
])
def test_ir_files_are_checked_before_openvino_reads_them(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(OpenVinoModelError, match=message) as err:
        check_ir_files(tmp_path / "model.xml")
    assert str(tmp_path / "model.xml") in str(err.value)
