"""Inputs (folders, manifests, embedded audio, tar shards, fsspec URLs) and atomic results."""

from lanser_fast.manifest.inputs import Inputs, Item, ManifestError, open_inputs
from lanser_fast.manifest.schema import (
    RESULT_SCHEMA,
    STAGE_COLUMNS,
    error_row,
    error_text,
    stage_schema,
)
from lanser_fast.manifest.writer import (
    ShardWriter,
    done_ids,
    read_results,
    write_json_atomic,
)

__all__ = [
    "RESULT_SCHEMA",
    "STAGE_COLUMNS",
    "Inputs",
    "Item",
    "ManifestError",
    "ShardWriter",
    "done_ids",
    "error_row",
    "error_text",
    "open_inputs",
    "read_results",
    "stage_schema",
    "write_json_atomic",
]
