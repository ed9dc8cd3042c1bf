"""The service's Prometheus metrics (text format at GET /metrics), one registry per service.

    metrics = ServiceMetrics()
    metrics.observe(job)                 # a finished bench.batcher.Job: queue wait, batch, model time
    metrics.answered(200, seconds)       # every HTTP answer, by status
    body, content_type = metrics.render(queue_depth=3, catalog_items=1682)
"""
from __future__ import annotations

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class ServiceMetrics:
    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

        disable_created_metrics()  # no *_created series: they only double the text of every metric

        self.registry = CollectorRegistry()  # not the global one: several services may live in one process
        r = self.registry
        self.requests = Counter("rankbench_requests", "HTTP answers to POST /rank, by status code", ["code"],
                                registry=r)
        self.latency = Histogram("rankbench_request_seconds", "POST /rank time in the service, by status",
                                 ["code"], buckets=LATENCY_BUCKETS, registry=r)
        self.queue_wait = Histogram("rankbench_queue_wait_seconds", "time a request waited for a worker",
                                    buckets=LATENCY_BUCKETS, registry=r)
        self.model = Histogram("rankbench_model_seconds", "model time of the batch a request was in",
                               buckets=LATENCY_BUCKETS, registry=r)
        self.assemble = Histogram("rankbench_prepare_seconds", "pair-id preparation time of the batch",
                                  buckets=LATENCY_BUCKETS, registry=r)
        self.batch = Histogram("rankbench_batch_requests", "requests merged into the batch a request was in",
                               buckets=BATCH_BUCKETS, registry=r)
        self.shed = Counter("rankbench_shed", "requests answered 503 unserved (queue full or waited too long)",
                            registry=r)
        self.depth = Gauge("rankbench_queue_depth", "requests waiting for a worker", registry=r)
        self.catalog = Gauge("rankbench_catalog_items", "items with cached token ids", registry=r)

    def observe(self, job) -> None:
        if job.shed or not job.started_ns:
            self.shed.inc()
            return
        self.queue_wait.observe(job.queue_ms / 1000.0)
        self.batch.observe(job.batch_size)
        self.model.observe(job.parts_ns.get("model", 0) / 1e9)
        self.assemble.observe(job.parts_ns.get("assemble", 0) / 1e9)

    def answered(self, status: int, seconds: float) -> None:
        self.requests.labels(code=str(status)).inc()
        self.latency.labels(code=str(status)).observe(seconds)

    def render(self, queue_depth: int, catalog_items: int) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        self.depth.set(queue_depth)
        self.catalog.set(catalog_items)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
