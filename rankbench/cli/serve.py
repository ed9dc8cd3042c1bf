"""`rankbench serve`: serve an artifact over HTTP (FastAPI + uvicorn), on 127.0.0.1 unless told.

    rankbench serve --decision runs/default/decision.json --catalog movielens-100k     # the chosen variant
    rankbench serve --artifact runs/default/variants/x --backend onnxruntime:threads=2 --port 8000
    curl -s localhost:8000/rank -d '{"context": "watched: Heat (1995)", "candidates": ["1", "50"]}'

POST /rank, GET /health, GET /metrics: see rankbench/serve/app.py. `--port 0` takes a free port;
the line "listening on http://HOST:PORT" says which (GET /health answers once it is up). Ctrl-C / SIGTERM stops it cleanly: queued requests are answered first.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--decision", help="a decision.json: serve its chosen variant on its chosen backend")
    what.add_argument("--artifact", help="an artifact (or Hugging Face model) folder")
    parser.add_argument("--backend", default="torch", help="with --artifact: a backend spec, e.g. onnxruntime:threads=2")
    parser.add_argument("--catalog", default=None,
                        help="items to tokenize once at start: movielens-100k, synthetic or a requests .jsonl "
                             "(requests may then name candidates by id); with --decision, default: the run's data")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: a free one; default: %(default)s)")
    parser.add_argument("--max-batch", type=int, default=4, help="requests merged into one model call, at most")
    parser.add_argument("--max-wait-ms", type=float, default=2.0, help="batcher: wait for more after the first")
    parser.add_argument("--workers", type=int, default=1, help="worker threads calling the model")
    parser.add_argument("--max-queue", type=int, default=256, help="requests waiting, at most (more: 503)")
    parser.add_argument("--max-candidates", type=int, default=1000, help="candidates per request, at most (413)")
    parser.add_argument("--max-text-chars", type=int, default=4096, help="characters per text, at most (413)")
    parser.add_argument("--timeout-s", type=float, default=30.0, help="a request not served by then: 503")


def target_from_args(args):
    from rankbench.bench.backends import parse_backend_spec
    from rankbench.serve.service import ServeTarget

    if args.decision:
        return ServeTarget.from_decision(args.decision)
    name, options = parse_backend_spec(args.backend)
    return ServeTarget(args.artifact, name, options.to_dict())


def main(args) -> int:
    import signal
    import socket

    import uvicorn

    from rankbench.serve.app import create_app
    from rankbench.serve.requests import Limits
    from rankbench.serve.service import BatchSettings, RankService, catalog_items

    limits = Limits(max_candidates=args.max_candidates, max_text_chars=args.max_text_chars,
                    max_queue=args.max_queue, timeout_s=args.timeout_s)
    batching = BatchSettings(args.max_batch, args.max_wait_ms, args.workers)
    target = target_from_args(args)  # a bad decision or backend fails here, before any loading
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))  # bound before loading: a taken port fails at once
    except OSError as err:
        sock.close()
        raise RuntimeError(f"cannot listen on {args.host}:{args.port}: {err}") from None
    service = RankService.open(target, batching, limits, catalog_items(args.catalog or target.data))
    url = f"http://{args.host}:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(service), log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=5))
    info = service.info()
    print(f"serving {info['variant'] or target.artifact} on {info['backend']} ({info['catalog_items']} catalog "
          f"items); listening on {url}", flush=True)

    # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal to the previous handler:
    # make SIGTERM end like Ctrl-C, so both reach the clean shutdown below and exit 0.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        service.close()
        sock.close()
    print("stopped", flush=True)
    return 0
