"""The report's figures as inline SVG strings (matplotlib, text kept as text, no external files).

Every series is told apart by marker and line style as well as colour, so the figures survive
grey-scale printing. Each function takes the results dict (and the decision where it matters) and
returns an SVG string, or None when the run has nothing to draw (e.g. no server cells).
"""
from __future__ import annotations

import io
import math
import re

COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")  # Okabe-Ito
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))
WIDTH_IN = 7.0


def style(index: int) -> dict:
    """Colour, marker and line style of the index-th series: all three differ between neighbours."""
    return {"color": COLOURS[index % len(COLOURS)], "marker": MARKERS[index % len(MARKERS)],
            "linestyle": LINESTYLES[index % len(LINESTYLES)]}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.titlesize": 10, "axes.grid": True,
                         "grid.color": "#dddddd", "grid.linewidth": 0.6, "legend.fontsize": 8,
                         "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "rankbench"})
    return plt


def to_svg(fig, name: str) -> str:
    """The figure as an inline <svg> element that scales with the page (no fixed size, unique ids)."""
    plt = _plt()
    plt.rcParams["svg.hashsalt"] = name  # ids of markers/clip paths must not collide between inline figures
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: not allowed inside HTML
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                 rf'<svg\1 class="plot" role="img" aria-label="{name}" data-plot="{name}"', svg, count=1)
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)


def _grid(n_panels: int, height_in: float = 2.8, share: bool = True):
    """Panels two to a row; shared axes only where backends are measured on the same x values."""
    plt = _plt()
    cols = 1 if n_panels == 1 else 2
    rows = math.ceil(n_panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH_IN, height_in * rows + 0.6), squeeze=False,
                             sharex=share, sharey=share)
    flat = list(axes.flat)
    for ax in flat[:n_panels]:
        ax.tick_params(labelbottom=True, labelleft=True)  # each panel readable on its own (phones, print)
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def _shared_legend(fig, axes) -> None:
    handles, labels = {}, []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    if handles:
        fig.legend([handles[x] for x in labels], labels, loc="lower center", ncol=min(3, len(labels)),
                   frameon=False, bbox_to_anchor=(0.5, -0.02))
        fig.tight_layout(rect=(0, 0.02 + 0.03 * math.ceil(len(labels) / 3), 1, 1))


def _order(results: dict, key: str) -> list[str]:
    seen = {}
    for cell in results.get("cells", []):
        seen.setdefault(cell[key], None)
    return list(seen)


def frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """2-D Pareto frontier (lower x, higher y), sorted by x."""
    out = []
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if not out or y > out[-1][1]:
            out.append((x, y))
    return out


def pareto(results: dict, decision) -> str | None:
    """NDCG@10 against p99 of every cell of the decision's scenario, per backend, with frontiers."""
    from rankbench.reports.select import candidate

    scenario = decision.constraints.scenario
    cells = [c for c in results.get("cells", []) if c["scenario"] == scenario and c["status"] in ("ok", "invalid")]
    cands = [(c, candidate(results, c)) for c in cells]
    cands = [(c, k) for c, k in cands if k.p99_ms is not None and k.ndcg is not None]
    if not cands:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 4.2))
    for i, backend in enumerate(dict.fromkeys(k.serving for _, k in cands)):
        ok = [k for c, k in cands if k.serving == backend and c["status"] == "ok"]
        if not ok:
            continue
        st = style(i)
        ax.scatter([k.p99_ms for k in ok], [k.ndcg for k in ok], s=36, color=st["color"], marker=st["marker"],
                   label=backend, zorder=3, edgecolors="black", linewidths=0.5)
        front = frontier([(k.p99_ms, k.ndcg) for k in ok])
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", color=st["color"],
                linestyle=st["linestyle"], linewidth=1.2, label=f"{backend} frontier")
    # accuracy belongs to the variant, so all its cells share one height: one label, right of its last cell
    rightmost = {}
    for c, k in cands:
        if c["status"] == "ok" and (k.variant not in rightmost or k.p99_ms > rightmost[k.variant].p99_ms):
            rightmost[k.variant] = k
    for k in rightmost.values():
        ax.annotate(k.variant, (k.p99_ms, k.ndcg), textcoords="offset points", xytext=(6, -3), fontsize=7)
    invalid = [k for c, k in cands if c["status"] == "invalid"]
    if invalid:
        ax.scatter([k.p99_ms for k in invalid], [k.ndcg for k in invalid], marker="x", s=40, color="#555555",
                   label="invalid (parity failed)", zorder=3)
    constraints = decision.constraints
    if constraints.p99_ms is not None:
        ax.axvline(constraints.p99_ms, color="black", linestyle="--", linewidth=1,
                   label=f"SLA p99 = {constraints.p99_ms:g} ms")
    from rankbench.reports.figures import teacher_accuracy

    reference = (teacher_accuracy(results) or {}).get("ndcg@10")
    if constraints.min_retention is not None and reference:
        ax.axhline(reference * constraints.min_retention, color="black", linestyle=":", linewidth=1,
                   label=f"retention {constraints.min_retention:g} x teacher")
    if decision.choice:
        ax.scatter([decision.choice.p99_ms], [decision.choice.ndcg], s=260, facecolors="none", edgecolors="black",
                   linewidths=1.8, label="chosen", zorder=4)
    ax.set_xlabel(f"p99 latency per request, {scenario} (ms)")
    ax.set_ylabel("NDCG@10 (higher is better)")
    ax.set_title("Accuracy against tail latency (up and to the left is better)")
    ax.margins(x=0.12, y=0.08)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
    fig.tight_layout()
    return to_svg(fig, "pareto")


def _log_x(ax, base: int = 10, axis: str = "x") -> None:
    """Log scale labelled with plain numbers (1, 2, 5, 10 ... or 1, 2, 4, 8 ...), no exponents."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=base)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=base, subs=(1.0, 2.0, 5.0) if base == 10 else (1.0,)))
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_formatter(NullFormatter())


def _per_backend(results: dict, scenario: str) -> dict[str, list[dict]]:
    """Ok cells of a scenario by how they serve (backend and options): one panel each."""
    from rankbench.reports.figures import serving

    out: dict[str, list[dict]] = {}
    for cell in results.get("cells", []):
        if cell["scenario"] == scenario and cell["status"] == "ok":
            out.setdefault(serving(cell), []).append(cell)
    return out


def latency_cdf(results: dict) -> str | None:
    """Empirical CDF of the single-stream latency samples, one panel per backend, one line per variant."""
    import numpy as np

    groups = {b: [c for c in cells if c.get("samples_ms")] for b, cells in _per_backend(results, "single-stream").items()}
    groups = {b: cells for b, cells in groups.items() if cells}
    if not groups:
        return None
    variants = _order(results, "variant")
    fig, axes = _grid(len(groups))
    for ax, (backend, cells) in zip(axes, groups.items()):
        for cell in cells:
            data = np.sort(np.asarray(cell["samples_ms"], dtype=float))
            fraction = np.arange(1, len(data) + 1) / len(data)
            st = style(variants.index(cell["variant"]))
            ax.plot(data, fraction, label=cell["variant"], color=st["color"], linestyle=st["linestyle"],
                    marker=st["marker"], markevery=max(1, len(data) // 6), markersize=4, linewidth=1.2)
        _log_x(ax)
        ax.set_title(backend)
        ax.set_xlabel("latency per request (ms, log scale)")
        ax.set_ylabel("fraction of requests")
    _shared_legend(fig, axes)
    return to_svg(fig, "latency-cdf")


def _points_plot(results: dict, scenario: str, x_key: str, y_of, name: str, xlabel: str, ylabel: str,
                 sla_ms: float | None = None, log2_x: bool = False, log_y: bool = False) -> str | None:
    groups = {}
    for backend, cells in _per_backend(results, scenario).items():
        usable = [c for c in cells if any(x_key in p and p.get("stats") for p in c.get("points", []))]
        if usable:
            groups[backend] = usable
    if not groups:
        return None
    variants = _order(results, "variant")
    fig, axes = _grid(len(groups), share=False)  # each backend is swept over its own range
    for ax, (backend, cells) in zip(axes, groups.items()):
        for cell in cells:
            points = sorted((p for p in cell["points"] if x_key in p and p.get("stats")), key=lambda p: p[x_key])
            st = style(variants.index(cell["variant"]))
            ax.plot([p[x_key] for p in points], [y_of(p) for p in points], label=cell["variant"],
                    markersize=4, linewidth=1.2, **st)
        if sla_ms is not None:
            ax.axhline(sla_ms, color="black", linestyle="--", linewidth=1, label=f"SLA p99 = {sla_ms:g} ms")
        if log2_x:
            _log_x(ax, base=2)
        if log_y:
            _log_x(ax, axis="y")
        ax.set_title(backend)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    _shared_legend(fig, axes)
    return to_svg(fig, name)


def throughput_vs_batch(results: dict) -> str | None:
    svg = _points_plot(results, "offline", "batch_size", lambda p: p["stats"].get("pairs_per_s") or 0.0,
                       "throughput-batch", "batch size (requests per call, log scale)", "throughput (pairs/s)",
                       log2_x=True)
    return svg


def _load_series(results: dict) -> dict[str, list[tuple[str, str, list[tuple[float, float]]]]]:
    """backend -> [(variant, kind, [(rate, p99 ms)])]: kind "real" (LoadGen runs in process),
    "simulation" (the estimate replayed on the same runs, or a server-sim cell), "served" (HTTP)."""
    out: dict[str, list] = {}
    for cell in results.get("cells", []):
        if cell["status"] != "ok" or cell["scenario"] not in ("server", "server-sim"):
            continue
        points = sorted((p for p in cell.get("points", []) if p.get("stats")), key=lambda p: p["rate_rps"])
        if cell["scenario"] == "server-sim":
            out.setdefault(cell["backend"], []).append(
                (cell["variant"], "simulation", [(p["rate_rps"], p["stats"]["p99_ms"]) for p in points]))
            continue
        out.setdefault(cell["backend"], []).append(
            (cell["variant"], "real", [(p["rate_rps"], p["stats"]["p99_ms"]) for p in points]))
        sim = [(p["rate_rps"], p["simulated_p99_ms"]) for p in points if p.get("simulated_p99_ms")]
        if sim:
            out[cell["backend"]].append((cell["variant"], "simulation", sim))
    for served in results.get("served") or []:
        points = sorted((p for p in served.get("points", []) if p.get("stats")), key=lambda p: p["rate_rps"])
        if points:
            out.setdefault(served.get("backend") or "served", []).append(
                (served.get("variant") or "served", "served", [(p["rate_rps"], p["stats"]["p99_ms"]) for p in points]))
    return out


_LOAD_KINDS = {"real": ("", "-", 1.4, None), "simulation": (" simulation (estimate)", ":", 1.0, "none"),
               "served": (" served over HTTP", "--", 1.4, None)}


def p99_vs_load(results: dict, sla_ms: float | None) -> str | None:
    """p99 against offered load per backend: real LoadGen runs (solid), the simulation's estimate for
    the same runs (dotted, hollow markers), and the service measured over HTTP (dashed)."""
    if sla_ms is None:
        slas = {c.get("sla_p99_ms") for c in results.get("cells", [])
                if c["scenario"] in ("server", "server-sim")} - {None}
        sla_ms = slas.pop() if len(slas) == 1 else None
    groups = {b: series for b, series in _load_series(results).items() if series}
    if not groups:
        return None
    variants = _order(results, "variant")
    fig, axes = _grid(len(groups), share=False)
    for ax, (backend, series) in zip(axes, groups.items()):
        for variant, kind, xy in series:
            st = style(variants.index(variant) if variant in variants else len(variants))
            suffix, line, width, face = _LOAD_KINDS[kind]
            ax.plot([x for x, _ in xy], [y for _, y in xy], label=f"{variant}{suffix}", color=st["color"],
                    marker=st["marker"], linestyle=line, linewidth=width, markersize=4,
                    **({"markerfacecolor": face} if face else {}))
        if sla_ms is not None:
            ax.axhline(sla_ms, color="black", linestyle="-.", linewidth=1, label=f"SLA p99 = {sla_ms:g} ms")
        _log_x(ax, axis="y")
        ax.set_title(backend)
        ax.set_xlabel("offered load (requests/s)")
        ax.set_ylabel("p99 latency (ms, log scale)")
    _shared_legend(fig, axes)
    return to_svg(fig, "p99-load")


def sweeps(results: dict) -> dict[str, str]:
    """p99 against the swept value for each sweep scenario present (candidates per request, length)."""
    labels = {"sweep-candidates": "candidates per request", "sweep-length": "sequence length (tokens)"}
    out = {}
    for scenario, label in labels.items():
        svg = _points_plot(results, scenario, "value", lambda p: p["stats"]["p99_ms"], scenario, label,
                           "p99 latency (ms)")
        if svg:
            out[scenario] = svg
    return out
