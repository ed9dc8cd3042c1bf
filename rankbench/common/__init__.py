"""Helpers every layer may import (the bottom layer: it imports nothing else of rankbench).

files.py   writes that appear whole or not at all (temporary name, then rename)
digest.py  content digests of one length, for cache keys and identities
typed.py   typed config dataclasses from dicts (TOML, JSON, CLI) with errors that name the key
"""
