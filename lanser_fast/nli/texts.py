"""Text inputs and outputs of ``lanser-fast score`` / ``prompts``.

Inputs: JSONL, CSV, TSV or Parquet with a text column (named by ``--column``), or ``-`` for one
text per line on stdin. The column is checked when the file is opened, before any model loads.
Outputs: Parquet (``.parquet``) or JSONL (anything else), written as the run goes.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from lanser_fast.manifest.schema import stage_schema

CHUNK = 1024  # texts read, scored and written at a time


class TextInputError(ValueError):
    """A text input that cannot be read as asked (missing file or column)."""


class TextSource:
    """Rows of (id, text[, label]) from one input, in chunks."""

    def __init__(self, spec: str, column: str = "transcript", id_column: str | None = "id",
                 label_column: str | None = None):
        self.spec, self.column, self.id_column, self.label_column = (spec, column, id_column,
                                                                     label_column)
        if spec != "-" and not Path(spec).is_file():
            raise TextInputError(f"{spec}: no such file")
        self.kind = "lines" if spec == "-" else _kind(spec)
        if self.kind != "lines":
            columns = self._columns()
            for name in filter(None, (column, label_column)):
                if name not in columns:
                    raise TextInputError(f"{spec}: no column {name!r} (columns: "
                                         f"{', '.join(columns) or 'none'}); choose one with "
                                         f"{'--column' if name == column else '--label-column'}")

    def _columns(self) -> list[str]:
        if self.kind == "parquet":
            return pq.read_schema(self.spec).names
        with open(self.spec, encoding="utf-8", newline="") as fh:
            if self.kind == "jsonl":
                for line in fh:
                    if line.strip():
                        return list(json.loads(line))
                return []
            return next(csv.reader(fh, delimiter="\t" if self.kind == "tsv" else ","), [])

    def rows(self) -> Iterator[dict]:
        """Dicts with id, text (and label when asked), one per input row."""
        for index, row in enumerate(self._raw()):
            text = row.get(self.column) if self.kind != "lines" else row["text"]
            item_id = row.get(self.id_column) if self.id_column else None
            out = {"id": str(item_id) if item_id not in (None, "") else str(index),
                   "text": None if text is None else str(text)}
            if self.label_column:
                out["label"] = row.get(self.label_column)
            yield out

    def chunks(self, size: int = CHUNK) -> Iterator[list[dict]]:
        chunk = []
        for row in self.rows():
            chunk.append(row)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _raw(self) -> Iterator[dict]:
        if self.kind == "lines":
            stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
            for line in stream:
                yield {"text": line.rstrip("\n")}
        elif self.kind == "parquet":
            for batch in pq.ParquetFile(self.spec).iter_batches(batch_size=CHUNK):
                yield from batch.to_pylist()
        else:
            with open(self.spec, encoding="utf-8", newline="") as fh:
                if self.kind == "jsonl":
                    for number, line in enumerate(fh, start=1):
                        if line.strip():
                            try:
                                yield json.loads(line)
                            except json.JSONDecodeError as exc:
                                raise TextInputError(f"{self.spec}:{number}: not JSON "
                                                     f"({exc.msg})") from None
                else:
                    yield from csv.DictReader(fh, delimiter="\t" if self.kind == "tsv" else ",")


def _kind(spec: str) -> str:
    suffix = Path(spec).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv", ".parquet"):
        return suffix[1:]
    raise TextInputError(f"{spec}: unknown format (use .jsonl, .csv, .tsv, .parquet or - for "
                         "stdin)")




SCORE_SCHEMA = stage_schema("score")


class ScoreWriter:
    """Rows of SCORE_SCHEMA to Parquet (``.parquet``) or JSONL, written chunk by chunk to a
    temporary name and renamed at the end, so a crashed run never leaves a partial file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tmp = self.path.with_name("." + self.path.name + ".tmp")
        self.parquet = self.path.suffix.lower() == ".parquet"
        self._writer = pq.ParquetWriter(self.tmp, SCORE_SCHEMA) if self.parquet else None
        self._fh = None if self.parquet else open(self.tmp, "w", encoding="utf-8")

    def write(self, rows: list[dict]) -> None:
        if self.parquet:
            self._writer.write_table(pa.Table.from_pylist(rows, schema=SCORE_SCHEMA))
        else:
            for row in rows:
                self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self.parquet:
            self._writer.close()
        else:
            self._fh.close()
        self.tmp.replace(self.path)
