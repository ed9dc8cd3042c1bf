"""Backends: one file each, one registry (see base.py for the protocol)."""
from bench.backends.base import (BACKENDS, BackendOptions, BackendUnavailable, PairEncoder, Session,
                                 backend_names, get_backend, parse_backend_spec, register_backend)

__all__ = ["BACKENDS", "BackendOptions", "BackendUnavailable", "PairEncoder", "Session", "backend_names",
           "get_backend", "parse_backend_spec", "register_backend"]
