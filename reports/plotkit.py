"""The drawing kit of the report's figures: series styles, panels, legends, labels, inline SVG.

    st = style(i)                          # colour, marker and line style of the i-th variant
    fig, axes = grid(3, wide=True)         # panels, one to a row when many lines share a panel
    legend_below(fig, axes, "latency-cdf") # one legend under every panel, never over an axis
    place_labels(ax, [(x, y, "distill-l3")], "pareto")   # labels that do not overlap
    svg = to_svg(fig, "latency-cdf")

Every artist a reader's eye (or a browser test) must find gets an SVG id (matplotlib's gid):
`<plot>-legend`, `<plot>-xlabel-<panel>`, `<plot>-label-<n>`.
"""
from __future__ import annotations

import io
import math
import re

# Okabe-Ito's eight plus Tol's indigo and wine: ten colours that stay apart for colour-blind readers
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999",
           "#332288", "#882255")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "p", "h")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)))
WIDTH_IN = 7.0
LEGEND_FONT_PT = 8
MARKER_RADIUS_PT = 4.0
LABEL_PAD_PX = 2.0  # room between placed labels: the browser's text metrics differ slightly from Agg's
# where a label may go relative to its point (offset in points, alignment), nearest first; the far
# ones get a leader line
_NEAR = [((5, 0), "left", "center"), ((-5, 0), "right", "center"), ((0, 5), "center", "bottom"),
         ((0, -5), "center", "top"), ((4, 4), "left", "bottom"), ((-4, 4), "right", "bottom"),
         ((4, -4), "left", "top"), ((-4, -4), "right", "top")]
OFFSETS = _NEAR + [((dx * k, dy * k), ha, va) for k in (2.5, 4, 6) for (dx, dy), ha, va in _NEAR]


def style(index: int) -> dict:
    """Colour, marker and line style of the index-th series. Colours repeat every 10 series, markers
    shift by one each time they do, so no two of the first 100 series share colour and marker, and
    neighbours differ in all three."""
    return {"color": COLOURS[index % len(COLOURS)],
            "marker": MARKERS[(index + index // len(COLOURS)) % len(MARKERS)],
            "linestyle": LINESTYLES[index % len(LINESTYLES)]}


def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    pyplot.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.titlesize": 10, "axes.grid": True,
                            "grid.color": "#dddddd", "grid.linewidth": 0.6, "legend.fontsize": LEGEND_FONT_PT,
                            "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "rankbench"})
    return pyplot


def to_svg(fig, name: str) -> str:
    """The figure as an inline <svg> element that scales with the page (no fixed size, unique ids)."""
    pyplot = plt()
    pyplot.rcParams["svg.hashsalt"] = name  # ids of markers/clip paths must not collide between inline figures
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    pyplot.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: not allowed inside HTML
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                 rf'<svg\1 class="plot" role="img" aria-label="{name}" data-plot="{name}"', svg, count=1)
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)


def grid(n_panels: int, height_in: float = 2.8, share: bool = True, wide: bool = False):
    """Panels two to a row, or one to a row (`wide`) when many lines share a panel; shared axes only
    where backends are measured on the same x values."""
    cols = 1 if n_panels == 1 or wide else 2
    rows = math.ceil(n_panels / cols)
    height = height_in * (1.25 if wide else 1.0)
    fig, axes = plt().subplots(rows, cols, figsize=(WIDTH_IN, height * rows), squeeze=False,
                               sharex=share, sharey=share)
    flat = list(axes.flat)
    for ax in flat[:n_panels]:
        ax.tick_params(labelbottom=True, labelleft=True)  # each panel readable on its own (phones, print)
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def name_axes(axes, name: str) -> None:
    """SVG ids on the axis labels, so a browser can check that nothing covers them."""
    for i, ax in enumerate(axes):
        ax.xaxis.label.set_gid(f"{name}-xlabel-{i}")
        ax.yaxis.label.set_gid(f"{name}-ylabel-{i}")


def legend_columns(labels: list[str]) -> int:
    """As many columns as the longest label lets fit across the figure (at most 4)."""
    longest_in = max(len(label) for label in labels) * LEGEND_FONT_PT * 0.6 / 72 + 0.6  # + handle and gap
    return max(1, min(4, len(labels), int(WIDTH_IN // longest_in)))


def legend_below(fig, axes, name: str, tight: bool = True, order: list[str] | None = None) -> None:
    """One legend for all panels, under the lowest axis label: laid out first, then anchored below the
    figure's content, so it can never cover an axis (bbox_inches="tight" grows the SVG to hold it).
    Entries follow `order` (e.g. the run's variants), the rest after them as they come."""
    handles, labels = {}, []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    rank = {label: i for i, label in enumerate(order or [])}
    labels.sort(key=lambda label: rank.get(label, len(rank)))
    if tight:
        fig.tight_layout()
    if not handles:
        return
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bottom = min(ax.get_tightbbox(renderer).y0 for ax in axes)  # below tick and axis labels
    anchor = fig.transFigure.inverted().transform((0, bottom))[1]
    legend = fig.legend([handles[x] for x in labels], labels, loc="upper center", ncol=legend_columns(labels),
                        frameon=False, bbox_to_anchor=(0.5, anchor - 0.01), bbox_transform=fig.transFigure)
    legend.set_gid(f"{name}-legend")


def _overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _cost(box, taken: list, inside) -> float:
    """Area of `box` over what is taken, and outside the axes (a label must not reach an axis label)."""
    outside = box.width * box.height - _overlap(box, inside)
    return sum(_overlap(box, other) for other in taken) + 10 * outside


def _box_at(anchor: tuple[float, float], size: tuple[float, float], ha: str, va: str):
    """The display box of a text of `size` aligned (ha, va) at `anchor`, padded."""
    from matplotlib.transforms import Bbox

    (x, y), (width, height) = anchor, size
    x0 = x - {"left": 0.0, "center": width / 2, "right": width}[ha]
    y0 = y - {"bottom": 0.0, "center": height / 2, "top": height}[va]
    return Bbox.from_extents(x0, y0, x0 + width, y0 + height).padded(LABEL_PAD_PX)


def _circles(ax, circles: list) -> list:
    """Display boxes of (x, y, radius in points) circles around data points."""
    from matplotlib.transforms import Bbox

    boxes = []
    for x, y, radius_pt in circles:
        px, py = ax.transData.transform((x, y))
        radius = radius_pt * ax.figure.dpi / 72
        boxes.append(Bbox.from_extents(px - radius, py - radius, px + radius, py + radius))
    return boxes


def _best_spot(point, size, taken: list, inside, dpi: float):
    """(cost, offset, ha, va, box) of the least crowded spot around a point, the first free one."""
    best = None
    for (dx, dy), ha, va in OFFSETS:
        box = _box_at((point[0] + dx * dpi / 72, point[1] + dy * dpi / 72), size, ha, va)
        cost = _cost(box, taken, inside)
        if best is None or cost < best[0]:
            best = (cost, (dx, dy), ha, va, box)
        if cost == 0:
            break
    return best


def place_labels(ax, labels: list[tuple[float, float, str]], name: str, avoid: list | None = None,
                 fontsize: float = 7) -> list:
    """Annotate each (x, y, text) at the first free spot around its point, nearest first, in the given
    order (put the ones that matter first). Nothing placed may overlap another label, a marker (its
    own, and the (x, y, radius in points) circles in `avoid`) or leave the axes; where no spot is free,
    the least crowded one is used. Spots far from their point get a leader line. Returns the
    annotations (gid `<name>-label-<n>`)."""
    fig = ax.figure
    fig.canvas.draw()  # fixes the limits and the layout
    renderer = fig.canvas.get_renderer()
    taken = _circles(ax, [(x, y, MARKER_RADIUS_PT) for x, y, _ in labels] + list(avoid or []))
    inside = ax.get_window_extent(renderer)
    placed = []
    for n, (x, y, text) in enumerate(labels):
        probe = ax.text(0, 0, text, fontsize=fontsize)
        extent = probe.get_window_extent(renderer)
        probe.remove()
        _, (dx, dy), ha, va, box = _best_spot(ax.transData.transform((x, y)), (extent.width, extent.height),
                                              taken, inside, fig.dpi)
        far = abs(dx) + abs(dy) > 10
        ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                          fontsize=fontsize, annotation_clip=False, gid=f"{name}-label-{n}",
                          arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.5} if far else None)
        taken.append(box)
        placed.append(ann)
    return placed
