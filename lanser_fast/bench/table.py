"""Tables of benchmark records: Markdown for the README blocks they replace, rich tables for the
terminal (``lanser-fast bench``), and the comparison with a previous record."""

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


def results_table(record: Record):
    """The run as a rich table: each of ours against each reference of its workload (same
    unit), the ratio and the hardware use; then the contenders that were not measured."""
    from rich.table import Table

    from lanser_fast.bench.peaks import hardware_use

    table = Table(title=f"{describe_machine(record.machine)} - commit {record.commit}"
                        f"{' - quick sizes' if record.notes.get('quick') else ''}")
    for name in ("stage", "ours", "reference (same run)", "ours", "reference", "ratio",
                 "hardware use"):
        table.add_column(name)
    groups: dict = {}
    for m in record.results:
        groups.setdefault((m.stage, m.workload), []).append(m)
    for (stage, _), members in groups.items():
        refs = [m for m in members if m.role != "ours"]
        for o in (m for m in members if m.role == "ours"):
            for r in [r for r in refs if r.unit == o.unit] or [None]:
                table.add_row(stage, o.impl, r.impl if r else "-", _value(o),
                              _value(r) if r else "-",
                              f"{o.median / r.median:.2f}x" if r else "-",
                              hardware_use(o.extra, o.device))
    for stage, info in record.notes.get("stages", {}).items():
        gaps = info.get("not_measured", [])
        left_out = [g for g in gaps if g["reason"].startswith("full run only")]
        if left_out:
            table.add_row(stage, f"not measured: {len(left_out)} contender(s) of the full run",
                          "-", "-", "-", "-", "--quick measures the core contenders")
        for gap in gaps:
            if gap not in left_out:
                table.add_row(stage, f"not measured: {gap['test']}", "-", "-", "-", "-",
                              gap["reason"][:80])
    return table


def wall_time_note(record: Record) -> str:
    stages = record.notes.get("stages", {})
    setup = sum(i.get("setup_s", 0.0) for i in stages.values())
    return (f"suite wall time {record.notes.get('wall_s', 0):.0f} s, of which {setup:.0f} s "
            "fixture set-up (building models, corpora and caches: the extra cost of a cold run)")


def changes_table(previous: Record, record: Record):
    """``(rich table, one-line verdict)`` of what changed since ``previous``, against the noise
    both runs measured."""
    from rich.table import Table

    from lanser_fast.bench.compare import compare

    changes, gone, added = compare(previous, record)
    table = Table(title=f"change since {previous.commit} ({previous.date})")
    for name in ("stage", "implementation", "before", "after", "change", "noise", "verdict"):
        table.add_column(name)
    for c in changes:
        verdict = f"[red]{c.verdict}[/red]" if c.verdict == "regression" else c.verdict
        table.add_row(c.stage, c.impl, f"{c.before:.4g}", f"{c.after:.4g}",
                      f"{100 * c.change:+.1f} %", f"±{100 * c.noise:.1f} %", verdict)
    regressions = sum(c.verdict == "regression" for c in changes)
    return table, (f"{regressions} regression(s) beyond the measured noise; {len(gone)} "
                   f"contender(s) no longer measured, {len(added)} new")


def _value(m) -> str:
    return f"{_num(m.median)} {m.unit}"
