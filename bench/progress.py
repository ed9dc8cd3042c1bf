"""What a run prints while it measures: a bar over the cells and one line per finished cell.

    status = CellProgress(total=len(cells), enabled=True)
    status.note("teacher/torch: parity")          # shown next to the bar
    status.done(cell)                             # "ok  teacher/torch/single-stream p50 ... (12.3 s)"
"""
from __future__ import annotations


class _PlainBar:
    """Status lines without a bar, where tqdm is missing (a bare GPU machine)."""

    def __init__(self, **_kw):
        pass

    def update(self, _n):
        pass

    def set_postfix_str(self, _text):
        pass

    def write(self, text):
        print(text, flush=True)

    def close(self):
        pass


def cell_figures(cell: dict) -> str:
    """The headline figures of a finished cell, or its reason when it did not run."""
    stats = cell.get("stats") or {}
    if cell["status"] != "ok" or not stats:
        return f"  {cell['reason'][:120]}" if cell.get("reason") else ""
    figures = f" p50 {stats['p50_ms']:.2f} ms  p99 {stats['p99_ms']:.2f} ms"
    if stats.get("pairs_per_s"):
        figures += f"  {stats['pairs_per_s']:.0f} pairs/s"
    if cell["scenario"] in ("server", "server-sim"):
        rate = cell.get("max_rate_under_sla_rps")
        sla = cell.get("sla_p99_ms")
        figures += f"  max rate {'none' if rate is None else f'{rate:.3g}'} rps"
        figures += f" @ p99<={sla:g} ms" if sla is not None else ""
    return figures


class CellProgress:
    def __init__(self, total: int, enabled: bool):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = _PlainBar
        self.bar = tqdm(total=total, desc="cells", unit="cell", disable=not enabled)
        self.enabled = enabled

    def note(self, text: str) -> None:
        self.bar.set_postfix_str(text[:60])

    def done(self, cell: dict, cached: bool = False) -> None:
        self.bar.update(1)
        if self.enabled:
            took = "  (cached)" if cached else f"  ({cell.get('seconds') or 0:.1f} s)"
            self.bar.write(f"{cell['status']:<11} {cell['id']}{cell_figures(cell)}{took}")

    def close(self) -> None:
        self.bar.close()
