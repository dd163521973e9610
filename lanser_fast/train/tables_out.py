"""Row files for ``predict``: CSV, JSON Lines or Parquet by suffix, written atomically."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Iterable

FORMATS = (".csv", ".jsonl", ".parquet")


def write_rows(rows: Iterable[dict], out: str | os.PathLike) -> tuple[int, int]:
    """Write ``rows`` to ``out``; return (rows, rows with an error)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{out}: choose an output ending in {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    rows = list(rows)
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), tmp)
    elif suffix == ".jsonl":
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
    else:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, list(rows[0]) if rows else ["id"])
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(v) if isinstance(v, list) else v
                                 for k, v in row.items()})
    os.replace(tmp, out)
    return len(rows), sum(1 for r in rows if r.get("error"))
