"""``--retry-errors``: a resumed run redoes the inputs whose rows are errors of chosen stages.

An input's rows live in one shard (they are written together). ``Retry`` finds the inputs with
an error row of the chosen stages, and the run hands their new rows back here instead of to the
shard writer; once every retried input of a shard is redone (or the run ends, or is stopped),
the shard is rewritten with the new rows in place of the old ones and renamed over the old file
in one step. So at every moment an input has either its old rows or its new ones, never both
and never neither; a run killed in between redoes the inputs whose rows are still errors.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lanser_fast.manifest.names import storable, storable_row
from lanser_fast.manifest.writer import ShardWriter, shard_paths, write_shard
from lanser_fast.runs import input_of


def retry_stages(text: str | None, known: tuple[str, ...]) -> tuple[str, ...]:
    """``--retry-errors asr,decode`` (or ``all``) as stage names; unknown names fail."""
    stages = tuple(s.strip() for s in (text or "").split(",") if s.strip())
    if stages == ("all",):
        return known
    unknown = sorted(set(stages) - set(known))
    if unknown:
        raise ValueError(f"--retry-errors: unknown stage(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(known)} or all")
    return stages


class Retry:
    """The retried inputs of a run (none when ``stages`` is empty)."""

    def __init__(self, out_dir: str | os.PathLike, stages: tuple[str, ...], schema: pa.Schema):
        self.schema = schema
        self.shard_of: dict[str, Path] = {}  # retried input -> its shard
        self._todo: dict[Path, set[str]] = {}
        self._new: dict[Path, dict[str, list[dict]]] = {}
        self.retried = 0  # inputs redone and rewritten
        for shard in shard_paths(out_dir) if stages else ():
            table = pq.read_table(shard, columns=["id", "error_stage"])
            for row_id, stage in zip(table.column("id").to_pylist(),
                                     table.column("error_stage").to_pylist()):
                if stage in stages:
                    self.shard_of[input_of(row_id)] = shard
                    self._todo.setdefault(shard, set()).add(input_of(row_id))

    @property
    def ids(self) -> set[str]:
        return set(self.shard_of)

    def write(self, writer: ShardWriter, input_id: str, rows: list[dict]) -> None:
        """An input's rows: a retried input's replace its old ones, the others go to
        ``writer``."""
        key = storable(input_id)  # ids are stored storable (manifest/names.py)
        if key in self.shard_of:
            self._put(key, rows)
        else:
            writer.write_group(rows)

    def _put(self, input_id: str, rows: list[dict]) -> None:
        """The new rows of a retried input; its shard is rewritten once all of its are in."""
        shard = self.shard_of[input_id]
        self._new.setdefault(shard, {})[input_id] = rows
        if set(self._new[shard]) == self._todo[shard]:
            self._rewrite(shard)

    def close(self) -> None:
        """Rewrite every shard with redone inputs (the others keep their error rows)."""
        for shard in list(self._new):
            self._rewrite(shard)

    def _rewrite(self, shard: Path) -> None:
        new = self._new.pop(shard)
        old = pq.read_table(shard)
        keep = [row for row in old.to_pylist() if input_of(row["id"]) not in new]
        rows = keep + [storable_row(r, "path_bytes" in self.schema.names)
                       for group in new.values() for r in group]
        write_shard(pa.Table.from_pylist(rows, schema=old.schema), shard)
        self._todo[shard] -= set(new)
        self.retried += len(new)
