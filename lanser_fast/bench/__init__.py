"""Benchmark records: one JSON format for every stage, machine description, README tables."""

from lanser_fast.bench.record import (
    RECORD_FORMAT,
    Measurement,
    Record,
    library_versions,
    machine_info,
)
from lanser_fast.bench.table import markdown_table, update_readme

__all__ = [
    "RECORD_FORMAT",
    "Measurement",
    "Record",
    "library_versions",
    "machine_info",
    "markdown_table",
    "update_readme",
]
