"""Markdown tables from benchmark records, and the README block they replace."""

from __future__ import annotations

import os
import re
from pathlib import Path

from lanser_fast.bench.record import Record, describe_machine

README_START = "<!-- bench-table:start -->"
README_END = "<!-- bench-table:end -->"


def markdown_table(record: Record) -> str:
    """One row per contender; ours first within each stage/workload, then the references
    with ours' median divided by theirs."""
    lines = [
        f"Measured {record.date} at commit `{record.commit}` on: "
        f"{describe_machine(record.machine)}. Medians over timed repeats (min–max). Where a "
        "workload has several of our paths, a reference row lists ours ÷ it for each of them, "
        "in their row order.",
        "",
        "| stage | workload | implementation | role | threads | throughput | ours ÷ this |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    groups: dict[tuple[str, str], list] = {}
    for m in record.results:
        groups.setdefault((m.stage, m.workload), []).append(m)
    for (stage, workload), members in groups.items():
        members.sort(key=lambda m: (m.role != "ours", -m.median))
        ours = [m for m in members if m.role == "ours"]
        for m in members:
            ratio = ""
            if m.role != "ours":
                ratio = " / ".join(f"{o.median / m.median:.2f}×" for o in ours
                                   if o.unit == m.unit)
            lines.append(
                f"| {stage} | {workload} | {m.impl} | {m.role} | {m.threads} | "
                f"{_num(m.median)} {m.unit} ({_num(m.min)}–{_num(m.max)}) | {ratio} |")
    return "\n".join(lines) + "\n"


def update_readme(readme: str | os.PathLike, record: Record, block: str | None = None) -> None:
    """Replace the block between the bench-table markers of ``readme`` with the record's table
    (``block="asr"``: the ``<!-- bench-table:asr:start -->`` … block, for a record of its own)."""
    start, end = README_START, README_END
    if block is not None:
        if not re.fullmatch(r"[a-z0-9_-]+", block):
            raise ValueError(f"block name {block!r}: use lowercase letters, digits, '-' and '_'")
        start, end = (marker.replace("bench-table:", f"bench-table:{block}:")
                      for marker in (README_START, README_END))
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{path}: no '{start}' … '{end}' block to replace")
    table = f"{start}\n{markdown_table(record)}{end}"
    path.write_text(pattern.sub(lambda _: table, text), encoding="utf-8")


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
