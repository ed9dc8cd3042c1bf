"""`python -m rankbench ...`: the same as the `rankbench` command."""
import sys

from rankbench.cli import main

sys.exit(main())
