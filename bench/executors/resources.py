"""What a unit of work asks a Ray cluster for, and whether any node of the cluster can give it.
Plain functions on dicts: tested without Ray.

    resources_for("torch", BackendOptions(device="cuda"))        # {"CPU": 1, "GPU": 1}
    resources_for("xla", BackendOptions(device="tpu"))           # {"CPU": 1, "TPU": 1}
    resources_for("onnxruntime", BackendOptions(threads=4))      # {"CPU": 4}
    task_options(Needs(...), accelerator_type="A100")            # keyword arguments of .options()
    feasible(task_options(...), ray.nodes())                     # (True, "") or (False, why)

Backends say what they need through their options (device, provider); TensorRT always needs an
NVIDIA GPU. The timing slot: every node offers one unit of TIMING_SLOT (`ray start --resources`);
a timed work holds the whole unit and any other work of the run a sliver (SHARED_SLOT), so a timed
cell waits until its node runs nothing else of the run, and nothing starts there while it is timed.
Resources are logical (Ray pins no cores), which is why the slot, not the CPU count, keeps a node
to a timed cell.
"""
from __future__ import annotations

TIMING_SLOT = "rankbench_timing_slot"
SHARED_SLOT = 0.001  # Ray counts resources to 1e-4: a thousand untimed works fit beside no timed one
MACHINE_LABEL = "rankbench/machine"  # node label naming the machine (cells are grouped by it)
ALWAYS_GPU = ("tensorrt",)


def accelerator(backend: str | None, options) -> str | None:
    """"GPU", "TPU" or None (the CPU) for a backend run with `options`."""
    if backend is None or options is None:
        return None
    device = options.device
    if backend in ALWAYS_GPU or options.provider in ("cuda", "tensorrt") or device in ("cuda", "gpu") \
            or device.startswith("cuda:"):
        return "GPU"
    return "TPU" if device == "tpu" else None


def resources_for(backend: str | None, options, threads: int | None = None) -> dict:
    """Logical resources: CPUs for the threads it runs (one by default), plus its accelerator."""
    out = {"CPU": threads or 1}
    kind = accelerator(backend, options)
    if kind:
        out[kind] = 1
    return out


def task_options(needs, accelerator_type: str | None = None, max_retries: int = 1) -> dict:
    """Keyword arguments for a Ray task's .options(): resources, the timing slot, placement."""
    wanted = resources_for(needs.backend, needs.options, needs.threads)
    custom = {TIMING_SLOT: 1.0 if needs.timed else SHARED_SLOT}
    if "TPU" in wanted:  # Ray knows TPUs as a resource of that name, not a num_ argument
        custom["TPU"] = wanted["TPU"]
    out = {"num_cpus": wanted["CPU"], "num_gpus": wanted.get("GPU", 0), "resources": custom,
           "max_retries": max_retries}
    placement = needs.placement
    kind = "GPU" if wanted.get("GPU") else None
    accel = (placement.accelerator_type if placement and placement.accelerator_type else None) or \
        (accelerator_type if kind == "GPU" else None)
    if accel:
        out["accelerator_type"] = accel
    if placement and placement.node_label:
        out["label_selector"] = placement.selector()
    return out


def _label_matches(selector: dict, labels: dict) -> bool:
    """Ray's label selector syntax: "value", "!value", "in(a,b)", "!in(a,b)"."""
    for key, want in selector.items():
        have = labels.get(key)
        negate = want.startswith("!")
        want = want[1:] if negate else want
        values = {v.strip() for v in want[3:-1].split(",")} if want.startswith("in(") and want.endswith(")") \
            else {want}
        if (have in values) == negate:
            return False
    return True


def asked(options: dict) -> dict:
    """The resources a task's options ask of one node, by Ray resource name."""
    want = {"CPU": options.get("num_cpus", 1), **options.get("resources", {})}
    if options.get("num_gpus"):
        want["GPU"] = options["num_gpus"]
    if options.get("accelerator_type"):
        want[f"accelerator_type:{options['accelerator_type']}"] = 0.001
    return want


def feasible(options: dict, nodes: list[dict]) -> tuple[bool, str]:
    """Whether some live node could ever run a task with these options (now or once free)."""
    want, selector = asked(options), options.get("label_selector") or {}
    alive = [n for n in nodes if n.get("Alive", n.get("alive", True))]
    for node in alive:
        have = node.get("Resources") or {}
        labels = node.get("Labels") or {}
        if all(have.get(k, 0) >= v for k, v in want.items()) and _label_matches(selector, labels):
            return True, ""
    need = ", ".join(f"{k} {v:g}" for k, v in want.items())
    need += "".join(f", label {k}={v}" for k, v in selector.items())
    shown = "; ".join(f"{n.get('NodeManagerHostname', '?')}: " + ", ".join(
        f"{k} {v:g}" for k, v in sorted((n.get("Resources") or {}).items())
        if k in ("CPU", "GPU", "TPU", TIMING_SLOT) or k.startswith("accelerator_type"))
        for n in alive[:4])
    return False, f"no node of the Ray cluster offers {need} (nodes: {shown or 'none alive'})"
