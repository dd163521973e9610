"""What the input readers produce and read with: :class:`Item`, :class:`ManifestError`, and
opening a manifest (local or fsspec URL, gzip-aware) and its JSON lines.

Both readers of manifests, ``inputs`` (folders, tables, tar shards) and ``lhotse_io`` (Lhotse
CutSets), build on this module; neither imports the other's internals.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from typing import Iterator

from lanser_fast.audio import SAMPLE_RATE, Audio, load_audio
from lanser_fast.audio.errors import MissingFileError, UnreadableFileError


class ManifestError(ValueError):
    """An input that cannot be read at all; raised before any work starts."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


@dataclass(frozen=True)
class Item:
    """One unit of work: a whole file, a region of a file, or embedded audio bytes."""

    id: str  # unique within a run, stable across runs of the same inputs
    path: str  # file path or URL; for embedded audio "<container>/<member or row name>"
    offset_s: float | None = None  # region start (None: from the start)
    duration_s: float | None = None  # region length (None: to the end)
    transcript: str | None = None  # a transcript shipped with the input, if any
    label: str | None = None  # a label shipped with the input, if any
    data: bytes | None = None  # embedded audio (Parquet bytes column, tar member)
    problem: str | None = None  # why this row cannot be processed (manifest error row)

    def load_audio(self, sample_rate: int = SAMPLE_RATE, resampler: str = "soxr") -> Audio:
        """Decode this item's audio (region applied) to mono float32 at ``sample_rate``
        (``resampler``: see ``lanser_fast.audio.load_audio``)."""
        if self.problem:
            raise ValueError(self.problem)
        kwargs = dict(offset_s=self.offset_s or 0.0, duration_s=self.duration_s,
                      sample_rate=sample_rate, name=self.path, resampler=resampler)
        if self.data is not None:
            return load_audio(self.data, **kwargs)
        if is_url(self.path):
            return load_audio(read_url(self.path), **kwargs)
        return load_audio(self.path, **kwargs)


def jsonl_lines(spec: str) -> Iterator[tuple[str, str]]:
    """``("<spec>:<line number>", line)`` for each non-blank line of a JSONL file."""
    with open_text(spec) as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                yield f"{spec}:{number}", line


def is_url(spec: str) -> bool:
    return "://" in spec


def read_url(url: str) -> bytes:
    import fsspec

    try:
        with fsspec.open(url, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise MissingFileError(url, "no such file") from None
    except PermissionError:
        raise UnreadableFileError(url, "permission denied") from None
    except OSError as exc:
        raise UnreadableFileError(url, str(exc)) from None


def open_binary(spec: str):
    try:
        if is_url(spec):
            import fsspec

            return fsspec.open(spec, "rb").open()
        return open(spec, "rb")
    except OSError as exc:
        raise ManifestError(spec, f"cannot open ({exc.strerror or exc})") from None


def open_text(spec: str):
    """A manifest as text (UTF-8, BOM dropped; gzip-compressed when it ends in ``.gz``)."""
    raw = open_binary(spec)
    if spec.lower().endswith(".gz"):
        raw = gzip.GzipFile(fileobj=raw, mode="rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
