"""The lanser-fast cache folder, the file identity its keys are built from, and installing a
model folder into a Hugging Face hub cache (the layout ``from_pretrained``/``snapshot_download``
resolve offline)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def cache_root() -> Path:
    """``$LANSER_FAST_CACHE``, default ``~/.cache/lanser-fast`` (exports, conversions, plans)."""
    return Path(os.environ.get("LANSER_FAST_CACHE", Path.home() / ".cache" / "lanser-fast"))


def file_stamps(folder: Path, suffixes: tuple[str, ...] | None = None) -> dict[str, str]:
    """``{name: "size:mtime_ns"}`` of the files in ``folder`` (links resolved; only
    ``suffixes`` if given): what a cache key needs to notice a changed model."""
    stamps = {}
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and (suffixes is None or path.suffix in suffixes):
            stat = path.resolve().stat()
            stamps[path.name] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return stamps


def hub_cache(hf_home: str | os.PathLike | None = None) -> Path:
    """The hub cache of ``hf_home`` (default: the one huggingface_hub uses: ``$HF_HUB_CACHE``,
    else ``$HF_HOME/hub``)."""
    if hf_home is not None:
        return Path(hf_home) / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def install_in_hub_cache(model_dir: str | os.PathLike, repo_id: str,
                         cache: str | os.PathLike | None = None, *, link: bool = False) -> Path:
    """Install ``model_dir`` into the hub cache ``cache`` as ``repo_id`` at revision ``main``
    (the commit name is a digest of the files, so the same files give the same snapshot) and
    return the snapshot folder. ``link``: symlink the files instead of copying them."""
    model_dir = Path(model_dir)
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    digest = hashlib.sha1()
    for path in files:
        digest.update(path.relative_to(model_dir).as_posix().encode())
        digest.update(f"{path.stat().st_size}".encode() if link else path.read_bytes())
    commit = digest.hexdigest()
    repo = (Path(cache) if cache is not None else hub_cache()) / \
        ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    if snapshot.exists():
        shutil.rmtree(snapshot)
    for path in files:
        target = snapshot / path.relative_to(model_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        if link:
            target.symlink_to(path.resolve())
        else:
            shutil.copy2(path, target)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot
