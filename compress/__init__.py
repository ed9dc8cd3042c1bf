"""Compression: methods that turn the fine-tuned ranker into smaller / faster artifacts on disk.

api.py (configs, registry, `compress`), recipe.py (chains of steps, cached), prune.py, quantize.py,
distill.py, peft.py, structure.py (shape edits), training.py (shared training helpers), cli.py
(`rankbench compress`), artifact.py (the on-disk contract every backend reads).
"""
