"""The report's figures as inline SVG strings (matplotlib, text kept as text, no external files).

    svg = pareto(results, decision)      # or None when the run has nothing to draw
    key = pareto_key(results, decision)  # [(number, variant)]: what the numbers on its points mean

Every variant keeps one colour, marker and line style in every figure (plotkit.style by its place
in the run), so the figures survive grey-scale printing and 20 variants stay apart. Each function
takes the results dict (and the decision where it matters) and returns an SVG string, or None when
the run has nothing to draw (e.g. no server cells); `*_figure` functions return the matplotlib
figure itself, for tests that measure what a reader would see.
"""
from __future__ import annotations

from rankbench.reports.plotkit import (WIDTH_IN, grid, legend_below, name_axes, place_labels, plt, style,
                                       to_svg)

MANY_LINES = 8  # more variants than this in a panel: one panel to a row, so the lines spread out
CHOSEN_RING_PT = 8.0  # radius of the ring around the chosen cell


def _order(results: dict, key: str) -> list[str]:
    seen = {}
    for cell in results.get("cells", []):
        seen.setdefault(cell[key], None)
    return list(seen)


def variant_numbers(results: dict) -> dict[str, int]:
    """Each variant's number on the Pareto plot: its place in the run, from 1."""
    return {name: i + 1 for i, name in enumerate(_order(results, "variant"))}


def frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """2-D Pareto frontier (lower x, higher y), sorted by x."""
    out = []
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if not out or y > out[-1][1]:
            out.append((x, y))
    return out


def _pareto_cells(results: dict, decision) -> list:
    """(cell, candidate) of the decision's scenario with a p99 and an NDCG@10, ok or invalid."""
    from rankbench.reports.select import candidate

    scenario = decision.constraints.scenario
    cells = [c for c in results.get("cells", []) if c["scenario"] == scenario and c["status"] in ("ok", "invalid")]
    cands = [(c, candidate(results, c)) for c in cells]
    return [(c, k) for c, k in cands if k.p99_ms is not None and k.ndcg is not None]


def pareto_key(results: dict, decision) -> list[tuple[int, str]]:
    numbers = variant_numbers(results)
    shown = {k.variant for _, k in _pareto_cells(results, decision)}
    return sorted((numbers[v], v) for v in shown)


def _labels(cands: list, decision, on_frontier: set, numbers: dict) -> list[tuple[float, float, str]]:
    """Every point gets its variant's number; the chosen cell and the frontier cells also their name.
    The ones that matter come first, so they get the free spots."""
    chosen = decision.choice.cell_id if decision.choice else None
    named = {k.cell_id for _, k in cands if k.cell_id == chosen or k.cell_id in on_frontier}
    ordered = sorted(cands, key=lambda ck: (ck[1].cell_id != chosen, ck[1].cell_id not in named, ck[1].p99_ms))
    return [(k.p99_ms, k.ndcg, f"{numbers[k.variant]} {k.variant}" if k.cell_id in named else str(numbers[k.variant]))
            for _, k in ordered]


def _draw_pareto_points(ax, cands: list) -> set:
    """Markers and a frontier step line per serving; returns the ids of the cells on a frontier."""
    on_frontier = set()
    for i, backend in enumerate(dict.fromkeys(k.serving for _, k in cands)):
        ok = [k for c, k in cands if k.serving == backend and c["status"] == "ok"]
        if not ok:
            continue
        st = style(i)
        ax.scatter([k.p99_ms for k in ok], [k.ndcg for k in ok], s=36, color=st["color"], marker=st["marker"],
                   label=backend, zorder=3, edgecolors="black", linewidths=0.5)
        front = frontier([(k.p99_ms, k.ndcg) for k in ok])
        on_frontier |= {k.cell_id for k in ok if (k.p99_ms, k.ndcg) in front}
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", color=st["color"],
                linestyle=st["linestyle"], linewidth=1.2, label=f"{backend} frontier")
    invalid = [k for c, k in cands if c["status"] == "invalid"]
    if invalid:
        ax.scatter([k.p99_ms for k in invalid], [k.ndcg for k in invalid], marker="x", s=40, color="#555555",
                   label="invalid (parity failed)", zorder=3)
    return on_frontier


def _draw_limits(ax, results: dict, decision) -> None:
    from rankbench.reports.figures import teacher_accuracy

    constraints = decision.constraints
    if constraints.p99_ms is not None:
        ax.axvline(constraints.p99_ms, color="black", linestyle="--", linewidth=1,
                   label=f"SLA p99 = {constraints.p99_ms:g} ms")
    reference = (teacher_accuracy(results) or {}).get("ndcg@10")
    if constraints.min_retention is not None and reference:
        ax.axhline(reference * constraints.min_retention, color="black", linestyle=":", linewidth=1,
                   label=f"retention {constraints.min_retention:g} x teacher")
    if decision.choice:
        ax.scatter([decision.choice.p99_ms], [decision.choice.ndcg], s=(2 * CHOSEN_RING_PT) ** 2, facecolors="none",
                   edgecolors="black", linewidths=1.8, label="chosen", zorder=4)


def pareto_figure(results: dict, decision):
    """NDCG@10 against p99 of every cell of the decision's scenario, per serving, with frontiers."""
    cands = _pareto_cells(results, decision)
    if not cands:
        return None
    fig, ax = plt().subplots(figsize=(WIDTH_IN, 4.6))
    on_frontier = _draw_pareto_points(ax, cands)
    _draw_limits(ax, results, decision)
    ax.set_xlabel(f"p99 latency per request, {decision.constraints.scenario} (ms)")
    ax.set_ylabel("NDCG@10 (higher is better)")
    ax.set_title("Accuracy against tail latency (up and to the left is better)")
    ax.margins(x=0.15, y=0.1)
    name_axes([ax], "pareto")
    fig.tight_layout()
    ring = [(decision.choice.p99_ms, decision.choice.ndcg, CHOSEN_RING_PT)] if decision.choice else []
    place_labels(ax, _labels(cands, decision, on_frontier, variant_numbers(results)), "pareto", avoid=ring)
    legend_below(fig, [ax], "pareto", tight=False)
    return fig


def pareto(results: dict, decision) -> str | None:
    fig = pareto_figure(results, decision)
    return to_svg(fig, "pareto") if fig else None


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


def _many(groups: dict) -> bool:
    return max(len(cells) for cells in groups.values()) > MANY_LINES


def latency_cdf_figure(results: dict):
    """Empirical CDF of the single-stream latency samples, one panel per serving, one line per variant."""
    import numpy as np

    groups = {b: [c for c in cells if c.get("samples_ms")] for b, cells in _per_backend(results, "single-stream").items()}
    groups = {b: cells for b, cells in groups.items() if cells}
    if not groups:
        return None
    variants = _order(results, "variant")
    fig, axes = grid(len(groups), wide=_many(groups))
    for ax, (backend, cells) in zip(axes, groups.items()):
        for cell in cells:
            data = np.sort(np.asarray(cell["samples_ms"], dtype=float))
            fraction = np.arange(1, len(data) + 1) / len(data)
            ax.plot(data, fraction, label=cell["variant"], markevery=max(1, len(data) // 6), markersize=4,
                    linewidth=1.2, **style(variants.index(cell["variant"])))
        _log_x(ax)
        ax.set_title(backend)
        ax.set_xlabel("latency per request (ms, log scale)")
        ax.set_ylabel("fraction of requests")
    name_axes(axes, "latency-cdf")
    legend_below(fig, axes, "latency-cdf", order=variants)
    return fig


def latency_cdf(results: dict) -> str | None:
    fig = latency_cdf_figure(results)
    return to_svg(fig, "latency-cdf") if fig else None


def points_figure(results: dict, scenario: str, x_key: str, y_of, name: str, xlabel: str, ylabel: str,
                  sla_ms: float | None = None, log2_x: bool = False, log_y: bool = False):
    """One line per variant through its cell's points (batch sizes, rates, swept values), one panel per serving."""
    groups = {}
    for backend, cells in _per_backend(results, scenario).items():
        usable = [c for c in cells if any(x_key in p and p.get("stats") for p in c.get("points", []))]
        if usable:
            groups[backend] = usable
    if not groups:
        return None
    variants = _order(results, "variant")
    fig, axes = grid(len(groups), share=False, wide=_many(groups))  # each backend is swept over its own range
    for ax, (backend, cells) in zip(axes, groups.items()):
        for cell in cells:
            points = sorted((p for p in cell["points"] if x_key in p and p.get("stats")), key=lambda p: p[x_key])
            ax.plot([p[x_key] for p in points], [y_of(p) for p in points], label=cell["variant"],
                    markersize=4, linewidth=1.2, **style(variants.index(cell["variant"])))
        if sla_ms is not None:
            ax.axhline(sla_ms, color="black", linestyle="--", linewidth=1, label=f"SLA p99 = {sla_ms:g} ms")
        if log2_x:
            _log_x(ax, base=2)
        if log_y:
            _log_x(ax, axis="y")
        ax.set_title(backend)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    name_axes(axes, name)
    legend_below(fig, axes, name, order=variants)
    return fig


def _points_svg(name: str, *args, **kwargs) -> str | None:
    fig = points_figure(*args, name=name, **kwargs)
    return to_svg(fig, name) if fig else None


def throughput_vs_batch(results: dict) -> str | None:
    return _points_svg("throughput-batch", results, "offline", "batch_size",
                       lambda p: p["stats"].get("pairs_per_s") or 0.0,
                       xlabel="batch size (requests per call, log scale)", ylabel="throughput (pairs/s)", log2_x=True)


def p99_vs_load(results: dict, sla_ms: float | None) -> str | None:
    from rankbench.reports.load_plot import p99_vs_load_figure

    fig = p99_vs_load_figure(results, sla_ms)
    return to_svg(fig, "p99-load") if fig else None


SWEEPS = {"sweep-candidates": "candidates per request", "sweep-length": "sequence length (tokens)"}


def sweeps(results: dict) -> dict[str, str]:
    """p99 against the swept value for each sweep scenario present (candidates per request, length)."""
    out = {}
    for scenario, label in SWEEPS.items():
        svg = _points_svg(scenario, results, scenario, "value", lambda p: p["stats"]["p99_ms"],
                          xlabel=label, ylabel="p99 latency (ms)")
        if svg:
            out[scenario] = svg
    return out
