"""Experiments: the TOML file (config.py) and the whole flow it drives (run.py):
models -> compress -> bench -> reports."""
