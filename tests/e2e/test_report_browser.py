"""The report in a real browser: headless Chromium (Debian's chromium + chromium-driver) via selenium.

Checks: no console errors, the table and every plot render, clicking a column header sorts the rows,
the page fits a phone's width; on a compression-sized run (20 variants) the table fits 1100 px, no
legend covers an axis label and no two Pareto labels overlap, measured on the SVG as drawn.
Saves screenshots to test-artifacts/ (gitignored).
Run alone: .venv/bin/python -m pytest -q tests/e2e -m browser
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from results_factory import many_variants_results, sample_results

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
PLOTS = ("pareto", "latency-cdf", "throughput-batch", "p99-load")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The synthetic sample's report, or the report named by RANKBENCH_REPORT (e.g. a real run's)."""
    if os.environ.get("RANKBENCH_REPORT"):
        return Path(os.environ["RANKBENCH_REPORT"]).resolve()
    from rankbench.reports.render import write_report

    out = tmp_path_factory.mktemp("browser")
    results = sample_results(seed=0, constraints={"p99_ms": 50.0, "min_retention": 0.99})
    write_report(results, out, source="runs/sample/results.json")
    return out / "report.html"


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory):
    """A compression-sized run: 20 variants, long ids with params, ONNX-only artifacts unavailable on PyTorch."""
    from rankbench.reports.render import write_report

    out = tmp_path_factory.mktemp("wide")
    write_report(many_variants_results(), out, source="runs/compression/results.json")
    return out / "report.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        message = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs them (.ci/run): missing there is a failure, not a skip
        pytest.skip(message)
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must never try to download a driver or browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1100,1400",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def column(driver, index: int) -> list[str]:
    return driver.execute_script(
        "var i = arguments[0]; return Array.from(document.querySelectorAll('#cells-table tbody tr'))"
        ".map(function (r) { return r.cells[i].getAttribute('data-v') || r.cells[i].textContent.trim(); });",
        index)


def test_report_in_chromium(browser, report):
    from selenium.webdriver.common.by import By

    browser.get(report.as_uri())
    assert browser.title.startswith("rankbench report")
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == [], severe

    verdict = browser.find_element(By.CSS_SELECTOR, "#verdict .pick")
    assert verdict.is_displayed() and "Deploy" in verdict.text
    rows = browser.find_elements(By.CSS_SELECTOR, "#cells-table tbody tr")
    measured = sum(1 for c in sample_results(seed=0)["cells"] if c["status"] != "unavailable")
    assert len(rows) == (measured if not os.environ.get("RANKBENCH_REPORT") else len(rows)) and len(rows) >= 2
    assert browser.find_element(By.ID, "cells-table").is_displayed()
    for name in PLOTS:
        plot = browser.find_element(By.CSS_SELECTOR, f'svg[data-plot="{name}"]')
        assert plot.size["width"] > 300 and plot.size["height"] > 150, name

    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "report-top.png"))  # what a reader sees first
    headers = browser.find_elements(By.CSS_SELECTOR, "#cells-table thead th")
    p99_index = next(i for i, h in enumerate(headers) if h.text.startswith("p99"))
    before = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#cells-table tbody tr td:first-child")]
    headers[p99_index].click()
    after = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#cells-table tbody tr td:first-child")]
    assert after != before, "clicking p99 did not reorder the rows"
    measured = [v for v in column(browser, p99_index) if v != "-"]
    numbers = [float(v) for v in measured]
    assert numbers == sorted(numbers) and column(browser, p99_index)[:len(numbers)] == measured  # measured first
    assert headers[p99_index].get_attribute("aria-sort") == "ascending"
    headers[p99_index].click()
    numbers = [float(v) for v in column(browser, p99_index) if v != "-"]
    assert numbers == sorted(numbers, reverse=True)
    headers[0].click()  # text columns sort too
    names = column(browser, 0)
    assert names == sorted(names)

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1100, min(height + 100, 16000))
    assert browser.save_screenshot(str(ARTIFACTS / "report.png"))
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_report_fits_a_phone(browser, report):
    browser.set_window_size(390, 844)
    browser.get(report.as_uri())
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than a phone screen"
    width = browser.execute_script("return document.querySelector('svg[data-plot=\"pareto\"]').getBoundingClientRect().width")
    assert 300 <= width <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report-phone.png"))


# Boxes of SVG elements as the browser draws them; ids are set by reports.plotkit.
RECTS = """
return Array.from(document.querySelectorAll(arguments[0])).map(function (e) {
  var r = e.getBoundingClientRect();
  return {id: e.id || e.parentNode.id, text: e.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
});"""


def rects(driver, selector: str) -> list[dict]:
    return driver.execute_script(RECTS, selector)


def overlaps(a: dict, b: dict, tolerance: float = 0.5) -> bool:
    return (min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > tolerance
            and min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > tolerance)


def test_a_compression_sized_report_fits_1100px_and_a_phone(browser, wide_report):
    from selenium.webdriver.common.by import By

    browser.set_window_size(1100, 1400)
    browser.get(wide_report.as_uri())
    assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 1
    box = browser.find_element(By.CSS_SELECTOR, "#cells .scroll")
    inner = browser.execute_script("return arguments[0].scrollWidth - arguments[0].clientWidth", box)
    assert inner <= 1, f"the table is {inner}px wider than its box at 1100px"
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#cells-table thead th")]
    assert headers[:6] == ["Cell", "Speed-up", "p50 ms", "p99 ms", "NDCG@10", "Retention"]
    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1100, min(height + 100, 16000))
    assert browser.save_screenshot(str(ARTIFACTS / "report-20-variants.png"))

    browser.set_window_size(390, 844)
    browser.get(wide_report.as_uri())
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than a phone screen"
    name = browser.find_element(By.CSS_SELECTOR, "#cells-table tbody td.name")
    assert name.value_of_css_property("position") == "sticky"  # the table scrolls, its first column stays
    assert browser.save_screenshot(str(ARTIFACTS / "report-20-variants-phone.png"))


def test_unavailable_cells_are_only_in_the_note(browser, wide_report):
    browser.set_window_size(1100, 1400)
    browser.get(wide_report.as_uri())
    unavailable = [c["id"] for c in many_variants_results()["cells"] if c["status"] == "unavailable"]
    ids = browser.execute_script(
        "return Array.from(document.querySelectorAll('#cells-table tbody tr')).map(r => r.dataset.id)")
    assert unavailable and not set(unavailable) & set(ids)
    note = browser.execute_script("return document.getElementById('unavailable').textContent")
    assert "'onnx' does not run on torch" in note and "distill-l3+int8/torch" in note
    assert "'torch-int8' does not run on onnxruntime: torch-int8-dynamic/onnxruntime" in note


def test_no_legend_covers_an_axis_label_and_pareto_labels_do_not_overlap(browser, wide_report):
    browser.set_window_size(1100, 1400)
    browser.get(wide_report.as_uri())
    for plot in ("pareto", "latency-cdf", "throughput-batch", "p99-load"):
        legend = rects(browser, f'svg[data-plot="{plot}"] g[id="{plot}-legend"]')
        labels = rects(browser, f'svg[data-plot="{plot}"] g[id^="{plot}-xlabel-"] text, '
                                f'svg[data-plot="{plot}"] g[id^="{plot}-ylabel-"] text')
        assert len(legend) == 1 and labels, plot
        for label in labels:
            assert not overlaps(legend[0], label), f"{plot}: the legend covers {label['text']!r}"
            assert legend[0]["y0"] >= label["y1"] - 0.5 or label["id"].startswith(f"{plot}-ylabel"), plot
    labels = rects(browser, 'svg[data-plot="pareto"] g[id^="pareto-label-"] text')
    assert len(labels) >= 30
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not overlaps(a, b), f"Pareto labels {a['text']!r} and {b['text']!r} overlap"
    key = browser.execute_script("return document.getElementById('pareto-key').textContent")
    assert "20 teacher-fp16-export" in key
    empty = browser.execute_script("return document.querySelector('#plots p.empty').textContent")
    assert empty.startswith("No sweeps")  # a section with no data says so


def test_the_compression_sized_report_prints_on_a_page_width(browser, wide_report):
    """Print styles (no scroll boxes, smaller table) at the width of an A4 page's print area."""
    browser.set_window_size(720, 1000)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        browser.get(wide_report.as_uri())
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        table = browser.execute_script("return document.getElementById('cells-table').getBoundingClientRect().right")
        width = browser.execute_script("return window.innerWidth")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert overflow <= 1 and table <= width, f"the printed table reaches {table:.0f}px of {width}px"
