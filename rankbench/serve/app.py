"""The HTTP face of a RankService: FastAPI routes, served by uvicorn (`rankbench serve`).

    app = create_app(service)
    POST /rank     {"context": "...", "candidates": [{"id": "i1", "text": "..."}, "i2", {"id": "i3"}]}
                   -> {"order": ["i2", "i1", "i3"], "scores": [s1, s2, s3], "queue_ms": .., "batch_requests": ..}
    GET  /health   -> {"status": "ok", "variant": .., "backend": .., "catalog_items": .., ...}
    GET  /metrics  -> Prometheus text format (rankbench.serve.metrics)

Bodies are read and checked here (rankbench.serve.requests) rather than by FastAPI's models, so
every refusal carries one message naming the field and the limits hold before any parsing work.
Overload is answered at once: a full queue or a request that waited past the timeout gets 503.
"""
import asyncio
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from rankbench.bench.batcher import Overloaded
from rankbench.serve.requests import RequestError, parse_rank_request


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past `limit` bytes (checked while reading, not after)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"body of {declared} bytes; at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _rank(service, request: Request):
    body = await _read_body(request, service.limits.max_body_bytes)
    query = parse_rank_request(body, service.encoder.catalog_text, service.limits)
    loop = asyncio.get_running_loop()
    answer = loop.create_future()

    def done(job):
        service.metrics.observe(job)
        loop.call_soon_threadsafe(lambda: answer.done() or answer.set_result(job))

    service.submit(query, done)
    try:
        job = await asyncio.wait_for(answer, timeout=service.limits.timeout_s)
    except asyncio.TimeoutError:
        raise Overloaded(f"not answered within {service.limits.timeout_s:g} s") from None
    if job.shed:
        raise Overloaded(job.error)
    if job.error:
        return _error(500, f"ranking failed: {job.error}")
    scores, order = job.result
    return {"order": order, "scores": [float(s) for s in scores], "queue_ms": round(job.queue_ms, 3),
            "batch_requests": job.batch_size}


def create_app(service) -> FastAPI:
    app = FastAPI(title="rankbench", description="rank candidates for a context with a compressed BERT ranker")

    @app.post("/rank")
    async def rank(request: Request):
        start = time.perf_counter()
        try:
            out = await _rank(service, request)
        except RequestError as err:
            out = _error(err.status, str(err))
        except Overloaded as err:
            out = _error(503, f"overloaded: {err}")
        status = out.status_code if isinstance(out, Response) else 200
        service.metrics.answered(status, time.perf_counter() - start)
        return out if isinstance(out, Response) else JSONResponse(out)

    @app.get("/health")
    async def health():
        return {"status": "ok", **service.info(), "queue_depth": service.batcher.depth}

    @app.get("/metrics")
    async def metrics():
        body, content_type = service.metrics.render(service.batcher.depth, service.encoder.catalog_size)
        return Response(body, media_type=content_type)

    return app
