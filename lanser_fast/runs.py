"""Run plumbing every corpus stage shares (``decode``, ``features``, ``transcribe``, ``label``).

A corpus run reads items, skips the ones whose rows are already in its output folder (resume),
works on the rest with a thread pool that keeps input order and a bounded window in flight, and
writes the rows of each input as one group plus a ``_run.json`` sidecar. The rules that make a
resumed run end with the rows of an uninterrupted one live here, once:

- an input is *done* when its rows are in the folder; a long file cut into VAD segments writes
  ids ``<id>#00000``, ``<id>#00001`` ... (``segment_id``) and counts as done by its first one,
  because all rows of an input are written together;
- an item that cannot be read becomes its one error row (``load_item``), never an exception.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from lanser_fast.manifest import Item, done_ids, error_row
from lanser_fast.manifest.names import storable

# The leading underscore makes Parquet dataset readers (pyarrow, pandas) skip the sidecar.
RUN_SIDECAR = "_run.json"
SEGMENT_DIGITS = 5  # "<id>#00000": the k-th VAD segment of a long input
MAX_DECODE_THREADS = 4  # decode threads of one worker when not set


def segment_id(item_id: str, k: int) -> str:
    """The row id of the ``k``-th VAD segment of input ``item_id``."""
    return f"{item_id}#{k:0{SEGMENT_DIGITS}d}"


def input_of(row_id: str) -> str:
    """The input a row belongs to: a long file's segment rows carry ``segment_id``'s suffix."""
    head, sep, tail = row_id.rpartition("#")
    return head if sep and len(tail) == SEGMENT_DIGITS and tail.isdigit() else row_id


def done_inputs(out_dir: str | os.PathLike) -> set[str]:
    """Ids of the inputs whose rows are in ``out_dir`` (a long file by its first segment's row:
    the rows of one input are written together)."""
    done = done_ids(out_dir)
    first = segment_id("", 0)
    return done | {i[: -len(first)] for i in done if i.endswith(first)}


def skip_done(items: Iterable[Item], done: set[str], summary) -> Iterator[Item]:
    """``items`` whose ids are not in ``done``; ``summary.skipped`` counts the others."""
    for item in items:
        if storable(item.id) in done:  # ids are stored storable (manifest/names.py)
            summary.skipped += 1
            continue
        yield item


def load_item(item: Item, sample_rate: int, resampler: str = "soxr"):
    """The item's ``Audio``, or its error row (a manifest problem or a decode failure)."""
    if item.problem:
        return error_row(item, "manifest", ValueError(item.problem))
    try:
        return item.load_audio(sample_rate, resampler)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error row
        return error_row(item, "decode", exc)


@dataclass
class FileRows:
    """The rows of one input, complete once every utterance has its result."""

    item: Item
    audio_s: float = 0.0  # decoded length (0 for an input that failed to decode)
    rows: list[dict] = field(default_factory=list)
    left: int = 0  # utterances still being worked on
    decode_s: float = 0.0  # time spent decoding (and cutting) it


def decode_threads_for(requested: int) -> int:
    """Decode threads of a worker: ``requested``, or one per core up to 4 when 0."""
    return requested or min(MAX_DECODE_THREADS, os.cpu_count() or 1)


def ordered_map(pool: ThreadPoolExecutor, fn, items: Iterable, window: int) -> Iterator:
    """``pool.map`` in input order with at most ``window`` items submitted ahead."""
    pending = []
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


def counts_text(counter) -> str:
    """``kind n, kind n`` of a Counter of row kinds, most common first (``none`` when empty)."""
    return ", ".join(f"{k} {v}" for k, v in counter.most_common()) or "none"


def batched(items: Iterable, size: int) -> Iterator[list]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
