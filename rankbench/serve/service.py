"""The ranking service behind `rankbench serve`: one prepared session, the catalog token cache and the
batcher of bench/batcher.py (the same ones the LoadGen server scenario measures).

    target = ServeTarget.from_decision("runs/default/decision.json")   # or ServeTarget(artifact, backend)
    service = RankService.open(target, BatchSettings(max_batch=4, max_wait_ms=2), catalog=items)
    job = service.submit(query, on_done)    # bench.batcher.Overloaded when the queue is full
    service.close()
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rankbench.bench.batcher import Batcher, RankProcessor
from rankbench.common.files import read_json_object
from rankbench.serve.metrics import ServiceMetrics
from rankbench.serve.requests import Limits


@dataclass(frozen=True)
class ServeTarget:
    """What to serve: an artifact folder on a backend with its options."""

    artifact: str
    backend: str = "torch"
    options: dict = field(default_factory=dict)
    variant: str | None = None
    data: dict | None = None  # the run's data settings (DataConfig fields): its items are the catalog

    @classmethod
    def from_decision(cls, path: str | Path) -> "ServeTarget":
        """The chosen variant and backend of a decision.json, its artifact path and backend options
        read from the results.json the decision names."""
        path = Path(path)
        decision = read_json_object(path, "decision")
        choice = decision.get("choice")
        if not isinstance(choice, dict) or not choice.get("variant") or not choice.get("backend"):
            raise ValueError(f"{path}: no choice to serve (the decision found no feasible cell)")
        results_path = _beside(path, decision.get("results"))
        results = read_json_object(results_path, "results")
        entry = (results.get("artifacts") or {}).get(choice["variant"])
        if not entry or not entry.get("path"):
            raise ValueError(f"{results_path}: no artifact path for variant {choice['variant']!r}")
        cell = next((c for c in results.get("cells", []) if c.get("id") == choice.get("cell_id")), {})
        options = choice.get("backend_options") or cell.get("backend_options") or {}
        experiment = (results.get("run") or {}).get("experiment") or {}
        data = experiment.get("data") or ({"dataset": experiment["dataset"]} if experiment.get("dataset") else None)
        return cls(str(_beside(path, entry["path"], results_path)), choice["backend"], dict(options),
                   choice["variant"], data)


def _beside(decision: Path, name, other: Path | None = None) -> Path:
    """A path as written (relative to the working folder), else next to the decision (or `other`)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{decision}: names no results file")
    given = Path(name)
    if given.exists() or given.is_absolute():
        return given
    for folder in (decision.parent, other.parent if other else None):
        if folder is not None and (folder / given.name).exists():
            return folder / given.name
    return given


@dataclass(frozen=True)
class BatchSettings:
    max_batch: int = 4
    max_wait_ms: float = 2.0
    workers: int = 1

    def __post_init__(self):
        if self.max_batch < 1 or self.workers < 1 or self.max_wait_ms < 0:
            raise ValueError("need max_batch >= 1, workers >= 1 and max_wait_ms >= 0")


class RankService:
    def __init__(self, session, encoder, target: ServeTarget, batching: BatchSettings, limits: Limits):
        self.session, self.encoder, self.target, self.limits = session, encoder, target, limits
        self.metrics = ServiceMetrics()
        self.batcher = Batcher(RankProcessor(session, encoder).process, batching.max_batch, batching.max_wait_ms,
                               batching.workers, max_queue=limits.max_queue,
                               shed_after_ms=limits.timeout_s * 1000.0)
        self.batching = batching

    @classmethod
    def open(cls, target: ServeTarget, batching: BatchSettings = BatchSettings(), limits: Limits = Limits(),
             catalog=(), warm_up: int = 2) -> "RankService":
        """Prepare the session, tokenize the catalog's (id, text) items once, warm the model up."""
        from rankbench.bench.backends import BackendOptions, get_backend
        from rankbench.compress.artifact import Artifact
        from rankbench.models.encoder import PairEncoder

        artifact = Artifact.load(target.artifact)
        backend = get_backend(target.backend)
        options = BackendOptions.from_dict(target.options, f"backend {target.backend}")
        for ok, why in (backend.available(), backend.supports(artifact, options)):
            if not ok:
                raise RuntimeError(f"cannot serve {artifact.name} on {target.backend}: {why}")
        encoder = PairEncoder.from_folder(artifact.path)
        encoder.load_catalog(catalog)
        session = backend.prepare(artifact, options)
        for _ in range(warm_up):  # first calls compile / allocate: not a client's latency
            session.run(encoder.encode([("warm up", "warm up")] * 8))
        return cls(session, encoder, target, batching, limits)

    def submit(self, query, on_done):
        return self.batcher.submit(query, on_done)

    def info(self) -> dict:
        return {"variant": self.target.variant, "artifact": self.target.artifact, "backend": self.target.backend,
                "backend_options": self.target.options, "device": getattr(self.session, "device", None),
                "max_length": self.encoder.max_length, "catalog_items": self.encoder.catalog_size,
                "catalog_path": self.encoder.template is not None, "max_batch_requests": self.batching.max_batch,
                "max_wait_ms": self.batching.max_wait_ms, "workers": self.batching.workers,
                "max_candidates": self.limits.max_candidates, "max_queue": self.limits.max_queue}

    def close(self) -> None:
        self.batcher.close()
        self.session.close()


def catalog_items(dataset: str | dict | None) -> list[tuple[str, str]]:
    """(item id, text) of every candidate of a dataset (movielens-100k, synthetic, a requests .jsonl),
    or of a run's data settings (a dict of DataConfig fields: item texts depend on them)."""
    if not dataset:
        return []
    from rankbench.common.typed import from_dict
    from rankbench.models.data import DataConfig, load_data

    config = from_dict(DataConfig, dataset if isinstance(dataset, dict) else {"dataset": dataset}, "catalog")
    data = load_data(config)
    items = {}
    for request in (*data.train, *data.valid, *data.test):
        for c in request.candidates:
            items.setdefault(c.id, c.text)
    return sorted(items.items())
