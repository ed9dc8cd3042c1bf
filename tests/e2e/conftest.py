"""The e2e tests reuse the hand-made results of tests/reports (results_factory)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))
