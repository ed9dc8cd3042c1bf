"""Backends: one file each (`<name>_backend.py`), one registry (see base.py for the protocol)."""
from rankbench.bench.backends.base import (BACKENDS, Backend, BackendUnavailable, Session, backend_names,
                                           get_backend, load_backends, pad_batch, reference_backends,
                                           register_backend)
from rankbench.bench.backends.options import BackendOptions, parse_backend_spec

__all__ = ["BACKENDS", "Backend", "BackendOptions", "BackendUnavailable", "Session", "backend_names",
           "get_backend", "load_backends", "pad_batch", "parse_backend_spec", "reference_backends",
           "register_backend"]
