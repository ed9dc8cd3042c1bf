"""p99 against offered load: real LoadGen runs, the simulation's estimate on the same runs, and the
service measured over HTTP (`rankbench load --attach`), one panel per serving.

    fig = p99_vs_load_figure(results, sla_ms)      # None when the run has no server cells
"""
from __future__ import annotations

from rankbench.reports.plotkit import grid, legend_below, name_axes, style

# kind -> (label suffix, line style, line width, marker face)
_LOAD_KINDS = {"real": ("", "-", 1.4, None), "simulation": (" simulation (estimate)", ":", 1.0, "none"),
               "served": (" served over HTTP", "--", 1.4, None)}


def server_sla(results: dict, sla_ms: float | None) -> float | None:
    """The SLA line of the load plot: the constraint's, else the one SLA the server cells share."""
    if sla_ms is None:
        slas = {c.get("sla_p99_ms") for c in results.get("cells", [])
                if c["scenario"] in ("server", "server-sim")} - {None}
        sla_ms = slas.pop() if len(slas) == 1 else None
    return sla_ms


def load_series(results: dict) -> dict[str, list[tuple[str, str, list[tuple[float, float]]]]]:
    """serving -> [(variant, kind, [(rate, p99 ms)])]: kind "real" (LoadGen runs in process),
    "simulation" (the estimate replayed on the same runs, or a server-sim cell), "served" (HTTP)."""
    from rankbench.reports.figures import serving

    out: dict[str, list] = {}
    for cell in results.get("cells", []):
        if cell["status"] != "ok" or cell["scenario"] not in ("server", "server-sim"):
            continue
        points = sorted((p for p in cell.get("points", []) if p.get("stats")), key=lambda p: p["rate_rps"])
        kind = "simulation" if cell["scenario"] == "server-sim" else "real"
        out.setdefault(serving(cell), []).append(
            (cell["variant"], kind, [(p["rate_rps"], p["stats"]["p99_ms"]) for p in points]))
        sim = [(p["rate_rps"], p["simulated_p99_ms"]) for p in points if p.get("simulated_p99_ms")]
        if kind == "real" and sim:
            out[serving(cell)].append((cell["variant"], "simulation", sim))
    for served in results.get("served") or []:
        points = sorted((p for p in served.get("points", []) if p.get("stats")), key=lambda p: p["rate_rps"])
        if points:
            out.setdefault(served.get("backend") or "served", []).append(
                (served.get("variant") or "served", "served", [(p["rate_rps"], p["stats"]["p99_ms"]) for p in points]))
    return out


def p99_vs_load_figure(results: dict, sla_ms: float | None):
    from rankbench.reports.plots import _log_x, _order

    groups = {b: series for b, series in load_series(results).items() if series}
    if not groups:
        return None
    sla_ms = server_sla(results, sla_ms)
    variants = _order(results, "variant")
    fig, axes = grid(len(groups), share=False)
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
    name_axes(axes, "p99-load")
    legend_below(fig, axes, "p99-load")
    return fig
