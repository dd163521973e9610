"""The end-of-run summary of ``label`` as rich tables: rows, errors by reason, the label
histogram and the throughput of each stage."""

from __future__ import annotations

from lanser_fast.label.summary import STAGES, LabelSummary

TOP_LABELS = 12


def summary_tables(summary: LabelSummary, out: str) -> list:
    from rich.table import Table

    overview = Table(title=f"label: {out}", show_header=False)
    overview.add_column("what")
    overview.add_column("value", justify="right")
    for name, value in (
            ("inputs this run", f"{summary.files:,}"),
            ("inputs already done (resumed)", f"{summary.skipped:,}"),
            ("error inputs redone (--retry-errors)", f"{summary.retried:,}"),
            ("rows written", f"{summary.rows:,}"),
            ("rows with a weak label", f"{summary.labeled:,}"),
            ("error rows", f"{sum(summary.errors.values()):,}"),
            ("audio", f"{summary.audio_s / 3600:.4f} h ({summary.speech_s / 3600:.4f} h in rows)"),
            ("wall time", f"{summary.wall_s:.1f} s on {summary.devices} device(s)"),
            ("throughput", f"{summary.audio_hours_per_device_hour:,.1f} audio-h per device-h")):
        overview.add_row(name, value)
    tables = [overview]
    if summary.errors:
        errors = Table(title="errors by reason")
        errors.add_column("stage: reason")
        errors.add_column("rows", justify="right")
        for reason, count in summary.errors.most_common():
            errors.add_row(reason, f"{count:,}")
        tables.append(errors)
    if summary.labels:
        labels = Table(title=f"weak labels (top {TOP_LABELS})")
        labels.add_column("label")
        labels.add_column("rows", justify="right")
        labels.add_column("share", justify="right")
        for label, count in summary.labels.most_common(TOP_LABELS):
            labels.add_row(label, f"{count:,}", f"{count / summary.labeled:.1%}")
        tables.append(labels)
    stages = Table(title="time per stage (busy seconds; decode and ASR summed over their "
                         "threads)")
    for column in ("stage", "busy s", "audio-h per busy-h"):
        stages.add_column(column, justify="right" if column != "stage" else "left")
    for stage in STAGES:
        busy = summary.stage_s.get(stage, 0.0)
        rate = f"{summary.audio_s / busy:,.1f}" if busy > 0 else "-"
        stages.add_row(stage, f"{busy:.2f}", rate)
    tables.append(stages)
    return tables
