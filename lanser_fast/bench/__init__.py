"""Benchmark records: one JSON format for every stage, machine description, README tables.

Example::

    from lanser_fast.bench import Record, markdown_table, update_readme
    record = Record.load("benchmarks/results/suite.json")
    print(markdown_table(record))                        # ours vs references, same run
    update_readme("benchmarks/README.md", record, block="suite")

Modules: ``record.py`` (``Record``, ``Measurement``, machine and library versions),
``suite.py`` (``lanser-fast bench``: runs the pytest-benchmark files of ``benchmarks/``
themselves, so the command and the files never measure different things), ``compare.py``
(``--compare``: a change is flagged as a regression only beyond the noise the two runs measured,
at least 3 %), ``peaks.py`` (the machine's estimated peak FLOP/s and bandwidth, for the hardware
use column), ``table.py`` (Markdown and terminal tables).

``update_readme`` replaces the text between ``<!-- bench-table:start -->`` and
``<!-- bench-table:end -->`` (or ``<!-- bench-table:NAME:start -->`` ... ``:end -->`` with
``block=NAME``) of a Markdown file; the tables live in ``benchmarks/README.md``, which also
explains each workload and the results so far.
"""

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
