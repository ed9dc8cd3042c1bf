"""Placement: which machine of a cluster a backend's cells must run on, as an experiment states it.

    [[backends]]
    name = "torch"
    device = "cuda"
    node_label = {"rankbench/machine" = "a100"}   # only nodes started with this label (ray start --labels)
    accelerator_type = "A100"                      # only nodes with that GPU model (ray.util.accelerators)

Placement is not a backend option: it says where, not how. It is part of the cell's id (a suffix
`@a100`, so one backend with the same options may be measured on two machines) and of its cache key.
The local executor runs everything on this machine and ignores it (run.py says so).
"""
from __future__ import annotations

from dataclasses import dataclass

KEYS = ("node_label", "accelerator_type")


@dataclass(frozen=True)
class Placement:
    node_label: tuple[tuple[str, str], ...] = ()  # (key, value) pairs every chosen node must carry
    accelerator_type: str | None = None  # GPU model, e.g. "A100" (Ray's accelerator type names)

    def selector(self) -> dict[str, str]:
        return dict(self.node_label)

    def label(self) -> str:
        """The id suffix: the label values and the accelerator type, e.g. 'a100' or 'gpu-pool+A100'."""
        return "+".join([value for _, value in self.node_label] + ([self.accelerator_type] if self.accelerator_type else []))

    def to_dict(self) -> dict:
        out: dict = {}
        if self.node_label:
            out["node_label"] = self.selector()
        if self.accelerator_type:
            out["accelerator_type"] = self.accelerator_type
        return out


def placement_from_dict(raw: dict | None) -> Placement | None:
    """The inverse of Placement.to_dict (as a results cell records it)."""
    if not raw:
        return None
    return Placement(tuple(sorted((raw.get("node_label") or {}).items())), raw.get("accelerator_type"))


def pop_placement(raw: dict, where: str = "") -> Placement | None:
    """Take the placement keys out of a backend table (what is left are backend options); None when
    the table has none. Errors name the key."""
    labels, accelerator = raw.pop("node_label", None), raw.pop("accelerator_type", None)
    if labels is None and accelerator is None:
        return None
    if labels is not None and (not isinstance(labels, dict) or not labels
                               or not all(isinstance(k, str) and isinstance(v, str) and k and v
                                          for k, v in labels.items())):
        raise ValueError(f"{where + '.' if where else ''}node_label: expected a table of label = \"value\" strings, got {labels!r}")
    if accelerator is not None and (not isinstance(accelerator, str) or not accelerator):
        raise ValueError(f"{where + '.' if where else ''}accelerator_type: expected a string such as \"A100\", got {accelerator!r}")
    return Placement(tuple(sorted((labels or {}).items())), accelerator)
