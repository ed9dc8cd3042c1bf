"""A Hugging Face hub id as a starting point: resolved to a snapshot folder in the HF cache.

    folder = hub_snapshot("cross-encoder/ms-marco-MiniLM-L6-v2")   # .../snapshots/<commit>
    hub_commit("cross-encoder/ms-marco-MiniLM-L6-v2")              # the commit, for cache keys

With network access the model is fetched into the HF cache once (only the files a BERT ranker
needs); offline (HF_HUB_OFFLINE=1, or no network) a cached snapshot is used, and without one the
error says how to get it. The cache is the usual one (HF_HUB_CACHE, else HF_HOME/hub, else
~/.cache/huggingface/hub), read when called, so a process may point it elsewhere after start.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

# org/name, as the hub spells repository ids; a local path that does not exist may look the same.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
# What a BERT ranker loads: config, weights, tokenizer (a repo's ONNX or OpenVINO copies are skipped).
FILES = ["config.json", "model.safetensors", "model-*.safetensors", "model.safetensors.index.json",
         "pytorch_model.bin", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
         "special_tokens_map.json"]


class HubModelUnavailable(ValueError):
    """The hub model is neither cached nor downloadable here; the message says what to do."""


def looks_like_hub_id(name: str) -> bool:
    return bool(_HUB_ID.match(name)) and not name.startswith(".")


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def hub_cache_dir() -> Path:
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "huggingface" / "hub"


def _unavailable(repo_id: str, cache: Path, why: str) -> HubModelUnavailable:
    return HubModelUnavailable(
        f"{repo_id!r} is not a preset or a local folder, and as a Hugging Face model it is not in the "
        f"Hugging Face cache ({cache}) and {why}: download it once where the hub is reachable "
        f"(`huggingface-cli download {repo_id}`, with HF_HUB_CACHE or HF_HOME pointing at that cache), "
        "or pass a local model folder")


def hub_snapshot(repo_id: str) -> Path:
    """The snapshot folder of `repo_id` (main) in the HF cache, downloaded first when online."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError

    cache = hub_cache_dir()
    try:
        folder = Path(snapshot_download(repo_id, cache_dir=cache, local_files_only=offline(),
                                        allow_patterns=FILES))
    except RepositoryNotFoundError as err:
        raise HubModelUnavailable(f"{repo_id!r} is not a preset, a local folder or a Hugging Face model "
                                  f"that this machine may read ({type(err).__name__})") from None
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if offline() else "the hub cannot be reached (no network?)"
        raise _unavailable(repo_id, cache, why) from None
    if not (folder / "config.json").is_file():
        raise HubModelUnavailable(f"{repo_id!r}: the cached snapshot {folder} has no config.json "
                                  "(an interrupted download? download it again)")
    return folder


def hub_commit(repo_id: str) -> str:
    """The commit of the snapshot `repo_id` resolves to (what a teacher's cache key records)."""
    return hub_snapshot(repo_id).name
