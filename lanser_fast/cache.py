"""The lanser-fast cache folder and the file identity its keys are built from."""

from __future__ import annotations

import os
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
