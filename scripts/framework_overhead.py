"""What a server framework costs per request, with no model: the numbers behind `rankbench serve`'s choice.

    .venv/bin/python scripts/framework_overhead.py fastapi --requests 300          # this checkout's venv
    /path/to/venv-with-litserve/bin/python scripts/framework_overhead.py litserve   # litserve is not a dependency
    python3 scripts/framework_overhead.py stdlib                                     # http.server baseline

Starts the chosen server on 127.0.0.1 (a free port) in a child process, with a handler that parses
a 100-candidate /rank body and returns 100 scores and the order (what the real service does around
the model), then sends `--requests` requests one after another and `--requests` more with 8 in
flight, and prints p50 / p99 round-trip times and the load average. Self-contained (no rankbench
import), bounded in count and time, loopback only.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

BODY = json.dumps({"context": "watched: Heat (1995); Casino (1995); Ronin (1998)",
                   "candidates": [{"id": str(i), "text": f"Movie {i} (199{i % 10}) | Action, Crime"}
                                  for i in range(100)]}).encode()


def answer(raw: bytes) -> bytes:
    body = json.loads(raw)
    ids = [c["id"] for c in body["candidates"]]
    return json.dumps({"order": ids[::-1], "scores": [float(i) for i in range(len(ids))]}).encode()


def serve_fastapi(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI, Request, Response

    app = FastAPI()

    @app.post("/rank")
    async def rank(request: Request):
        return Response(answer(await request.body()), media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


try:  # LitServe pickles its API into worker processes: the class must live at module level
    import litserve as ls

    class NullLitAPI(ls.LitAPI):
        def setup(self, device):
            pass

        def decode_request(self, request):
            return request

        def predict(self, x):
            ids = [c["id"] for c in x["candidates"]]
            return {"order": ids[::-1], "scores": [float(i) for i in range(len(ids))]}

        def encode_response(self, output):
            return output
except ImportError:
    NullLitAPI = None


def serve_litserve(port: int) -> None:
    ls.LitServer(NullLitAPI(api_path="/rank"), accelerator="cpu").run(
        host="127.0.0.1", port=port, log_level="warning", generate_client_file=False)


def serve_stdlib(port: int) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            # headers and body leave in two writes: without this, Nagle + delayed ACK add 40 ms
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self):  # noqa: N802 - the stdlib's name
            out = answer(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


SERVERS = {"fastapi": serve_fastapi, "litserve": serve_litserve, "stdlib": serve_stdlib}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(client, url: str, n: int, in_flight: int) -> list[float]:
    from concurrent.futures import ThreadPoolExecutor

    def one(_):
        t0 = time.perf_counter()
        r = client.post(url, content=BODY, headers={"content-type": "application/json"})
        assert r.status_code == 200 and len(r.json()["order"]) == 100
        return (time.perf_counter() - t0) * 1000.0

    with ThreadPoolExecutor(in_flight) as pool:
        return list(pool.map(one, range(n)))


def measure(name: str, n: int) -> dict:
    import statistics

    import httpx

    port = free_port()
    # its own process group: LitServe starts worker processes, and all of them stop with the group
    child = subprocess.Popen([sys.executable, __file__, name, "--child", str(port)], start_new_session=True)
    url = f"http://127.0.0.1:{port}/rank"
    try:
        with httpx.Client(timeout=30, trust_env=False) as client:
            for _ in range(300):  # up within 60 s, or give up
                try:
                    client.post(url, content=BODY, headers={"content-type": "application/json"})
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            timed(client, url, 20, 1)  # warm-up
            seq, par = timed(client, url, n, 1), timed(client, url, n, 8)
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)
    def pct(xs, q):
        return round(statistics.median(xs) if q == 50 else statistics.quantiles(xs, n=100)[q - 1], 3)

    return {"framework": name, "requests": n, "sequential_p50_ms": pct(seq, 50), "sequential_p99_ms": pct(seq, 99),
            "8_in_flight_p50_ms": pct(par, 50), "8_in_flight_p99_ms": pct(par, 99),
            "load_average": [round(x, 2) for x in os.getloadavg()], "python": sys.version.split()[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework", choices=sorted(SERVERS))
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        SERVERS[args.framework](args.child)
        return 0
    print(json.dumps(measure(args.framework, max(10, min(args.requests, 5000)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
