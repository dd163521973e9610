"""Export a results folder (Parquet shards) to JSONL, CSV or a Lhotse CutSet.

The shards are streamed batch by batch, so exporting a corpus of any size holds one batch in
memory (the CutSet path also keeps a few recently probed recordings). The output appears
atomically: it is written to a hidden temporary file next to ``dst`` and renamed over it, so a
reader never sees half a file and an interrupted export leaves the previous one intact.

JSONL and CSV keep every row, error rows included. float32 columns are written as the shortest
decimal that reads back to the same float32 (``0.1``, not ``0.10000000149011612``). A CutSet holds
only what lhotse can load: error rows and rows whose audio lhotse cannot read (URLs, members of tar
shards, formats its backends lack) are skipped and counted in :class:`ExportSummary`.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from lanser_fast.manifest.lhotse_io import require_lhotse
from lanser_fast.manifest.writer import fsync_dir, shard_paths

FORMATS = ("jsonl", "csv", "cutset")
SUFFIXES = {".jsonl.gz": "cutset", ".jsonl": "jsonl", ".csv": "csv"}  # longest first
EXPORT_BATCH_ROWS = 8192  # rows per Parquet read; results rows are small (no audio)
RECORDING_CACHE = 64  # recordings kept probed: the segments of one long file come together
MAX_PROBLEMS = 20  # skip reasons kept in the summary
# Result columns carried into each supervision's ``custom`` dict of the CutSet.
CUSTOM_COLUMNS = ("weak_label", "weak_score", "scores", "taxonomy", "prompt", "asr_flags",
                  "nli_model", "asr_model", "asr_avg_logprob", "no_speech_prob", "audio_flags")
_TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`export_results` wrote."""

    rows: int  # rows (JSONL, CSV) or cuts (CutSet) written
    skipped_errors: int  # CutSet only: error rows plus rows whose audio lhotse cannot read
    fmt: str  # "jsonl", "csv" or "cutset"
    path: str  # the file written
    problems: tuple[str, ...] = ()  # why rows were skipped (first MAX_PROBLEMS reasons)


def export_results(src_dir: str | os.PathLike, dst: str | os.PathLike,
                   fmt: str | None = None) -> ExportSummary:
    """Convert the results folder ``src_dir`` to ``dst``.

    ``fmt`` ("jsonl", "csv" or "cutset") defaults to what ``dst``'s suffix says (``.jsonl``,
    ``.csv``, ``.jsonl.gz``). A ``.gz`` JSONL or CSV is gzipped. Raises ValueError for an unknown
    format and FileNotFoundError when ``src_dir`` holds no result shards.
    """
    dst = Path(dst)
    fmt = _resolve_format(dst, fmt)
    shards = shard_paths(src_dir)
    if not shards:
        raise FileNotFoundError(f"{src_dir}: no result shards (part-*.parquet)")
    if fmt == "cutset":
        lhotse = require_lhotse("exporting a Lhotse CutSet")
        if not dst.name.lower().endswith((".jsonl", ".jsonl.gz")):
            raise ValueError(f"{dst}: a CutSet is written as .jsonl.gz (or .jsonl)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    gzipped = dst.name.lower().endswith(".gz")
    with _atomic(dst, ".jsonl.gz" if gzipped else ".jsonl") as tmp:
        if fmt == "jsonl":
            rows = _write_jsonl(shards, tmp, gzipped)
            return ExportSummary(rows, 0, fmt, str(dst))
        if fmt == "csv":
            rows = _write_csv(shards, tmp, gzipped)
            return ExportSummary(rows, 0, fmt, str(dst))
        builder = _CutBuilder()
        lhotse.CutSet(builder.cuts(_rows(shards))).to_file(tmp)
        return ExportSummary(builder.written, builder.skipped, fmt, str(dst),
                             tuple(builder.problems))


def _resolve_format(dst: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    name = dst.name.lower()
    for suffix, kind in SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    raise ValueError(f"{dst}: cannot tell the export format from the name; use a "
                     f"{', '.join(SUFFIXES)} suffix (JSONL, CSV, Lhotse CutSet) or pass fmt")


# ----------------------------------------------------------------------------- reading


def _columns(shards: list[Path]) -> list[pa.Field]:
    """The union of the shards' columns in first-seen order (what ``read_results`` returns):
    stages write different column subsets."""
    fields: dict[str, pa.Field] = {}
    for path in shards:
        for field in pq.read_schema(path):
            fields.setdefault(field.name, field)
    return list(fields.values())


def _batches(shards: list[Path]) -> Iterator[pa.RecordBatch]:
    """Every row of ``shards`` in shard order, conformed to the union of their columns, with
    float32 values widened through their shortest decimal."""
    fields = _columns(shards)
    for path in shards:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=EXPORT_BATCH_ROWS):
            arrays = []
            for field in fields:
                index = batch.schema.get_field_index(field.name)
                column = batch.column(index) if index >= 0 else pa.nulls(len(batch), field.type)
                arrays.append(_exportable(column))
            yield pa.RecordBatch.from_arrays(arrays, names=[f.name for f in fields])


def _exportable(column: pa.Array) -> pa.Array:
    # Arrow prints float32 as its shortest round-trip decimal; parsing that as float64 gives the
    # number a reader expects, and float32(that) is the stored value again.
    kind = column.type
    if pa.types.is_binary(kind):  # path_bytes: hex in JSONL and CSV (manifest/names.py)
        return pa.array([None if v is None else v.hex() for v in column.to_pylist()],
                        pa.string())
    if pa.types.is_float32(kind):
        return column.cast(pa.string()).cast(pa.float64())
    if pa.types.is_list(kind) and pa.types.is_float32(kind.value_type):
        return column.cast(pa.list_(pa.string())).cast(pa.list_(pa.float64()))
    return column


def _rows(shards: list[Path]) -> Iterator[dict[str, Any]]:
    for batch in _batches(shards):
        yield from batch.to_pylist()


# ----------------------------------------------------------------------------- writers


def _write_jsonl(shards: list[Path], tmp: Path, gzipped: bool) -> int:
    rows = 0
    with _open_out(tmp, gzipped) as fh:
        for batch in _batches(shards):
            fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in batch.to_pylist())
            rows += len(batch)
    return rows


def _write_csv(shards: list[Path], tmp: Path, gzipped: bool) -> int:
    fields = _columns(shards)
    names = [f.name for f in fields]
    # List cells (scores, flags) as JSON text: one cell, parseable, no delimiter clashes.
    as_json = {f.name for f in fields if pa.types.is_list(f.type)}
    rows = 0
    with _open_out(tmp, gzipped) as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for batch in _batches(shards):
            for row in batch.to_pylist():
                writer.writerow([_csv_cell(row[name], name in as_json) for name in names])
            rows += len(batch)
    return rows


def _csv_cell(value: Any, as_json: bool) -> Any:
    if value is None:
        return ""
    if as_json:
        return json.dumps(value, ensure_ascii=False)
    return value


class _CutBuilder:
    """Result rows → lhotse cuts; counts and explains the rows it skips."""

    def __init__(self):
        self.written = 0
        self.skipped = 0
        self.problems: list[str] = []
        self._recordings: OrderedDict[str, Any] = OrderedDict()  # path → Recording | reason

    def cuts(self, rows: Iterator[dict[str, Any]]) -> Iterator[Any]:
        for row in rows:
            if row.get("error") is not None:
                self._skip(f"{row['id']}: error row ({row['error']})")
                continue
            cut = self._cut(row)
            if isinstance(cut, str):
                self._skip(cut)
                continue
            self.written += 1
            yield cut

    def _skip(self, reason: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(reason)

    def _cut(self, row: dict[str, Any]) -> Any:
        """A MonoCut (MultiCut for a multi-channel file: the labels describe the mixdown), or
        the reason there is none."""
        from lhotse import MonoCut, MultiCut, SupervisionSegment

        recording = self._recording(row["path"])
        if isinstance(recording, str):
            return f"{row['id']}: {recording}"
        start = row.get("offset_s") or 0.0
        available = recording.duration - start
        if available <= 0:
            return (f"{row['id']}: starts at {start:.3f} s, past the end of {row['path']} "
                    f"({recording.duration:.3f} s)")
        # Clamped to the file: lhotse refuses to load a cut that overruns its recording.
        duration = row.get("duration_s")
        duration = available if duration is None else min(duration, available)
        channels = list(recording.channel_ids)
        channel = channels[0] if len(channels) == 1 else channels
        supervision = SupervisionSegment(
            id=row["id"], recording_id=recording.id, start=0.0, duration=duration,
            channel=channel, text=row.get("transcript"), language=row.get("language"),
            custom={name: row.get(name) for name in CUSTOM_COLUMNS},
        )
        cls = MonoCut if len(channels) == 1 else MultiCut
        return cls(id=row["id"], start=start, duration=duration, channel=channel,
                   recording=recording, supervisions=[supervision])

    def _recording(self, path: str | None) -> Any:
        """``Recording.from_file(path)`` (id = the path: unique, shared by the segments of one
        file), cached; or why lhotse cannot read it."""
        from lhotse import Recording

        if not path:
            return "no audio path"
        if path in self._recordings:
            self._recordings.move_to_end(path)
            return self._recordings[path]
        try:
            found: Any = Recording.from_file(path, recording_id=path)
        except Exception as exc:  # noqa: BLE001 - any probe failure means "not readable"
            found = f"lhotse cannot read {path} ({type(exc).__name__}: {exc})"
        self._recordings[path] = found
        if len(self._recordings) > RECORDING_CACHE:
            self._recordings.popitem(last=False)
        return found


# ----------------------------------------------------------------------------- files


@contextmanager
def _atomic(dst: Path, suffix: str) -> Iterator[Path]:
    """A temporary path next to ``dst`` (ending in ``suffix``, which lhotse reads to choose
    compression), renamed over ``dst`` when the block succeeds, removed when it fails."""
    tmp = dst.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex}{suffix}")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
        fsync_dir(dst.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _open_out(path: Path, gzipped: bool):
    if gzipped:
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    return open(path, "w", encoding="utf-8", newline="")
