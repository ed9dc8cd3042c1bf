"""A tiny random ranker served by a real `rankbench serve` process on a free 127.0.0.1 port, with a
catalog of hand-made requests; stopped (SIGINT) and checked for a clean exit after the module."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from rankbench.models.jsonl_data import write_requests
from tests.bench.conftest import make_requests, spread_head

START_TIMEOUT_S = 180  # loading torch, the model and the catalog on a busy 2-core machine


class Served:
    def __init__(self, process: subprocess.Popen, url: str, lines: "queue.Queue[str]", output: list[str]):
        self.process, self.url, self.lines, self.output = process, url, lines, output

    def stop(self, timeout_s: float = 30) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError("rankbench serve did not stop within 30 s of SIGINT")


def _reader(stream, lines: "queue.Queue[str]", output: list[str]) -> None:
    for line in stream:
        output.append(line)
        lines.put(line)


def start_service(artifact: str, catalog: str, *extra: str) -> Served:
    command = [sys.executable, "-m", "rankbench", "serve", "--artifact", artifact, "--backend", "torch:threads=1",
               "--port", "0", "--catalog", catalog, *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue = queue.Queue()
    output: list[str] = []
    threading.Thread(target=_reader, args=(process.stdout, lines, output), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if "listening on " in line:
            served = Served(process, line.rsplit("listening on ", 1)[1].strip(), lines, output)
            wait_healthy(served.url, deadline)
            return served
    process.kill()
    raise AssertionError("rankbench serve did not start:\n" + "".join(output))


def wait_healthy(url: str, deadline: float) -> None:
    import httpx

    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url}/health never answered")


@pytest.fixture(scope="module")
def service_files(tmp_path_factory):
    from rankbench.compress.artifact import Artifact
    from rankbench.models.presets import load_ranker

    root = tmp_path_factory.mktemp("served")
    ranker = load_ranker("tiny-random", max_length=64)
    spread_head(ranker.model)
    artifact = Artifact.from_ranker(ranker, root / "tiny", name="tiny")
    requests = make_requests(8, 12)
    write_requests(root / "requests.jsonl", requests)
    return artifact, root / "requests.jsonl", requests


@pytest.fixture(scope="module")
def served(service_files):
    artifact, catalog, _ = service_files
    service = start_service(str(artifact.path), str(catalog), "--max-batch", "4", "--max-wait-ms", "5")
    yield service
    if service.process.poll() is None:
        service.stop()
