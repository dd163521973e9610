"""Atomic Parquet shard writer with resume.

Output is a directory (``out.parquet/``) of ``part-<writer>-<seq>.parquet`` shards, readable as
one dataset by pyarrow, pandas and ``datasets.load_dataset("parquet")``. Rows are buffered and
written as a whole shard to a hidden temporary name, fsynced, then renamed: a shard either exists
completely or not at all, whatever moment the process is killed. Reopening the directory reads
the ids of the complete shards (``done_ids``), deletes temporary leftovers and continues the
sequence, so a resumed run writes each id once.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from lanser_fast.manifest.names import storable_row

SHARD_ROWS = 4096  # rows per shard: bounds memory and the work a crash can lose
_SHARD_RE = re.compile(r"^part-(?P<writer>[A-Za-z0-9_]+)-(?P<seq>\d{6})\.parquet$")
_TMP_PREFIX = ".tmp-"


class ShardWriter:
    """Buffers rows and writes them as atomic Parquet shards into ``out_dir``."""

    def __init__(self, out_dir: str | os.PathLike, schema: pa.Schema, *, writer: str = "0",
                 shard_rows: int = SHARD_ROWS, flush_s: float | None = None,
                 clean: bool = True):
        """``flush_s``: also write a shard once its first row is this old (bounds the work a
        crash loses on a slow run). ``clean=False`` leaves temporary leftovers alone (workers
        sharing a folder, cleaned once by their coordinator)."""
        if not re.fullmatch(r"[A-Za-z0-9_]+", writer):
            raise ValueError(f"writer name {writer!r}: use letters, digits and '_'")
        self.out_dir = Path(out_dir)
        self.schema = schema
        self.writer = writer
        self.shard_rows = shard_rows
        self.flush_s = flush_s
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._rows: list[dict[str, Any]] = []
        self._first_row_at = 0.0
        self._seq = 1 + max((seq for w, seq, _ in _shards(self.out_dir) if w == writer),
                            default=-1)
        if clean:
            remove_leftovers(self.out_dir)
        self.rows_written = 0

    def write(self, row: dict[str, Any]) -> None:
        self.write_group([row])

    def write_many(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def write_group(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write ``rows`` into one shard (the rows of one input): a resumed run finds all of
        them or none."""
        if not self._rows:
            self._first_row_at = time.monotonic()
        self._rows.extend(rows)
        if len(self._rows) >= self.shard_rows or (
                self.flush_s is not None and time.monotonic() - self._first_row_at >= self.flush_s):
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one complete shard (no-op when empty)."""
        if not self._rows:
            return
        write_shard(self._table(), self.out_dir / f"part-{self.writer}-{self._seq:06d}.parquet")
        self._seq += 1
        self.rows_written += len(self._rows)
        self._rows = []

    def _table(self) -> pa.Table:
        """The buffered rows as a table; a row that still cannot be stored becomes its input's
        error row (stage ``write``) instead of failing the shard's other rows."""
        keep = "path_bytes" in self.schema.names
        rows = [storable_row(r, keep) for r in self._rows]
        try:
            return pa.Table.from_pylist(rows, schema=self.schema)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            return pa.Table.from_pylist([self._storable(r) for r in rows], schema=self.schema)

    def _storable(self, row: dict[str, Any]) -> dict[str, Any]:
        try:
            pa.Table.from_pylist([row], schema=self.schema)
            return row
        except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
            failed = {name: row.get(name) for name in ("id", "path", "path_bytes", "offset_s")
                      if name in self.schema.names}
            if "error" in self.schema.names:
                failed.update(error_stage="write", error=f"unstorable: {type(exc).__name__}: "
                                                        f"{exc}"[:500])
            return failed

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        # Flush on errors too: rows already produced are results, not to be lost.
        self.close()


def write_shard(table: pa.Table, final: Path) -> None:
    """``table`` as the shard ``final``, whole or not at all: written to a temporary name,
    fsynced, renamed (over an older ``final`` too), the rename made durable."""
    tmp = final.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}.parquet"
    with open(tmp, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def remove_leftovers(out_dir: str | os.PathLike) -> None:
    """Delete the temporary files of shards that a killed run did not finish."""
    for leftover in Path(out_dir).glob(_TMP_PREFIX + "*"):
        leftover.unlink(missing_ok=True)


def shard_paths(out_dir: str | os.PathLike) -> list[Path]:
    """The complete shards of ``out_dir`` in writer and sequence order."""
    return [path for _, _, path in _shards(Path(out_dir))]


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename inside ``path`` durable."""
    _fsync_dir(Path(path))


def done_ids(out_dir: str | os.PathLike) -> set[str]:
    """Ids present in the complete shards of ``out_dir`` (empty if it does not exist)."""
    ids: set[str] = set()
    for _, _, path in _shards(Path(out_dir)):
        ids.update(pq.read_table(path, columns=["id"]).column("id").to_pylist())
    return ids


def read_results(out_dir: str | os.PathLike) -> pa.Table:
    """All complete shards of ``out_dir`` as one table, in shard order."""
    paths = shard_paths(out_dir)
    if not paths:
        raise FileNotFoundError(f"{out_dir}: no result shards (part-*.parquet)")
    return pa.concat_tables([pq.read_table(p) for p in paths], promote_options="default")


def write_json_atomic(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Write a JSON sidecar (e.g. ``run.json``) via temporary file + rename."""
    path = Path(path)
    tmp = path.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex}.json")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _shards(out_dir: Path) -> list[tuple[str, int, Path]]:
    if not out_dir.is_dir():
        return []
    found = []
    for path in out_dir.iterdir():
        match = _SHARD_RE.match(path.name)
        if match:
            found.append((match["writer"], int(match["seq"]), path))
    return sorted(found, key=lambda t: (t[0], t[1]))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
