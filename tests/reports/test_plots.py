"""reports.plots / plotkit: figures that stay readable with 20 variants, measured as matplotlib lays them
out (the browser test checks the same in the rendered SVG)."""
from __future__ import annotations

import itertools

import pytest

from results_factory import many_variants_results


@pytest.fixture(scope="module")
def many():
    return many_variants_results()


def _intersect(a, b) -> bool:
    return min(a.x1, b.x1) > max(a.x0, b.x0) and min(a.y1, b.y1) > max(a.y0, b.y0)


def _text_box(text, renderer):
    """The text's own box (an annotation's extent also holds its leader line)."""
    from matplotlib.text import Text

    return Text.get_window_extent(text, renderer)


def _renderer(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def test_no_two_of_100_series_share_colour_and_marker_and_neighbours_differ_in_all_three():
    from rankbench.reports.plotkit import style

    styles = [style(i) for i in range(100)]
    pairs = [(s["color"], s["marker"]) for s in styles]
    assert len(set(pairs)) == 100
    for a, b in zip(styles, styles[1:]):
        assert a["color"] != b["color"] and a["marker"] != b["marker"] and a["linestyle"] != b["linestyle"]


def test_twenty_variants_get_twenty_looks_in_the_latency_cdf(many):
    from rankbench.reports.plots import latency_cdf_figure

    fig = latency_cdf_figure(many)
    legend = fig.legends[0]
    looks = {(h.get_color(), h.get_marker()) for h in legend.legend_handles}
    labels = [t.get_text() for t in legend.get_texts()]
    assert len(labels) == 20 and len(looks) == 20
    assert labels == list(dict.fromkeys(c["variant"] for c in many["cells"]))  # the run's order, not the panels'
    for ax in fig.axes:  # a variant looks the same in every panel
        for line in ax.get_lines():
            index = labels.index(line.get_label())
            assert (line.get_color(), line.get_marker()) == (legend.legend_handles[index].get_color(),
                                                             legend.legend_handles[index].get_marker())


@pytest.mark.parametrize("name", ["latency-cdf", "throughput-batch", "pareto"])
def test_legends_sit_below_and_never_cover_an_axis_label_or_tick(many, name):
    from rankbench.reports import plots
    from rankbench.reports.select import select

    fig = {"latency-cdf": lambda: plots.latency_cdf_figure(many),
           "throughput-batch": lambda: plots.points_figure(many, "offline", "batch_size",
                                                           lambda p: p["stats"]["pairs_per_s"], "throughput-batch",
                                                           "batch size", "pairs/s", log2_x=True),
           "pareto": lambda: plots.pareto_figure(many, select(many))}[name]()
    renderer = _renderer(fig)
    legend = fig.legends[0]
    assert legend.get_gid() == f"{name}-legend"
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        assert box.y1 <= ax.get_tightbbox(renderer).y0 + 0.5  # below everything the panel draws
        for text in [ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]:
            if text.get_text():
                assert not _intersect(box, text.get_window_extent(renderer)), text.get_text()


def test_pareto_labels_do_not_overlap_and_stay_inside_the_axes(many):
    from rankbench.reports.plots import pareto_figure, pareto_key
    from rankbench.reports.select import select

    decision = select(many)
    fig = pareto_figure(many, decision)
    renderer = _renderer(fig)
    ax = fig.axes[0]
    labels = [t for t in ax.texts if (t.get_gid() or "").startswith("pareto-label-")]
    points = sum(1 for c in many["cells"] if c["scenario"] == "single-stream" and c["status"] == "ok")
    assert len(labels) == points  # every point carries its variant's number
    boxes = [_text_box(t, renderer) for t in labels]
    for (a, ta), (b, tb) in itertools.combinations(zip(boxes, labels), 2):
        assert not _intersect(a, b), f"{ta.get_text()!r} overlaps {tb.get_text()!r}"
    inside = ax.get_window_extent(renderer)
    assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 and inside.y0 <= b.y0 and b.y1 <= inside.y1 for b in boxes)
    texts = [t.get_text() for t in labels]
    chosen = decision.choice
    number = dict((name, n) for n, name in pareto_key(many, decision))[chosen.variant]
    assert texts[0] == f"{number} {chosen.variant}"  # the chosen cell is named and placed first
    assert len(pareto_key(many, decision)) == 20


def test_label_placement_moves_a_label_off_a_crowded_spot():
    from rankbench.reports.plotkit import place_labels, plt

    fig, ax = plt().subplots(figsize=(4, 3))
    xs = [1.0, 1.02, 1.04, 1.06]
    ax.scatter(xs, [1.0] * 4)
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2)
    placed = place_labels(ax, [(x, 1.0, f"label number {i}") for i, x in enumerate(xs)], "test")
    renderer = _renderer(fig)
    boxes = [_text_box(a, renderer) for a in placed]
    assert not any(_intersect(a, b) for a, b in itertools.combinations(boxes, 2))
    assert {a.get_gid() for a in placed} == {f"test-label-{i}" for i in range(4)}
