"""Compression: methods that turn the fine-tuned ranker into smaller / faster artifacts on disk.

registry.py (the methods, their configs and loaders), config.py (what every method config shares),
api.py (`compress`: one step, cached), recipe.py (chains of steps, cached), artifact.py (the
on-disk contract every backend reads), methods/ (one file per family: pruning, distillation, PEFT,
INT8), structure.py (shape edits), importance.py (which units matter), training.py (shared
training helpers).
"""
