"""``lanser-fast bench``: run the benchmark suite, print one table, keep the history, compare.

Registered on the main Typer app by :mod:`lanser_fast.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lanser_fast.cli import app

RESULTS = Path("benchmarks") / "results"


@app.command()
def bench(
    stages: Optional[str] = typer.Option(None, "--stages", help="Comma-separated stages: "
                                                                "frontend, decode, asr, nli, "
                                                                "label, train, data (default: "
                                                                "all)."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes: the whole suite in a few "
                                                      "minutes (figures for a smoke check, not "
                                                      "for decisions)."),
    device: str = typer.Option("auto", "--device", help="auto (GPU contenders where CUDA is "
                                                        "available), cpu or cuda."),
    models: str = typer.Option("tiny", "--models", help="tiny (random tiny-sized models built "
                                                        "locally), hub (large-v3-turbo and "
                                                        "FacebookAI/roberta-large-mnli), or "
                                                        "ASR,NLI hub ids or folders."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Record of this run (default: "
                                                                 "benchmarks/results/latest.json"
                                                                 ", quick.json with --quick)."),
    history: Path = typer.Option(RESULTS / "history.jsonl", "--history", help="Every run's "
                                                                               "record is "
                                                                               "appended here."),
    compare: Optional[Path] = typer.Option(None, "--compare", help="A previous record (or "
                                                                   "history .jsonl: its newest "
                                                                   "record) to compare with."),
    readme: Optional[Path] = typer.Option(None, "--readme", help="Write this run's table into "
                                                                 "the README's bench-table "
                                                                 "block."),
    block: Optional[str] = typer.Option(None, "--block", help="With --readme: the named block."),
) -> None:
    """Profile every stage on this machine against its references, measured in the same run."""
    from lanser_fast.bench import Record, update_readme
    from lanser_fast.bench.suite import (
        HUB_MODELS,
        STAGES,
        SuiteConfig,
        SuiteError,
        append_history,
        run_suite,
    )

    asr_model = nli_model = None
    if models == "hub":
        asr_model, nli_model = HUB_MODELS
    elif models != "tiny":
        parts = [p.strip() for p in models.split(",")]
        if len(parts) != 2 or not all(parts):
            raise typer.BadParameter("give tiny, hub, or ASR_MODEL,NLI_MODEL",
                                     param_hint="--models")
        asr_model, nli_model = parts
    previous = None
    if compare is not None:
        try:
            previous = Record.load(compare)
        except (OSError, ValueError, KeyError) as exc:
            raise typer.BadParameter(f"{compare}: {exc}", param_hint="--compare") from None
    chosen = tuple(s.strip() for s in stages.split(",") if s.strip()) if stages else tuple(STAGES)
    try:
        config = SuiteConfig(chosen, quick, device, asr_model, nli_model)
        if asr_model or nli_model:
            _check_models(asr_model, nli_model)
    except SuiteError as exc:
        raise typer.BadParameter(str(exc)) from None

    def on_stage(stage, info):
        status = "ok" if "error" not in info else "FAILED"
        typer.echo(f"  {stage:9s} {status:6s} {info['s']:7.1f} s "
                   f"(set-up {info['setup_s']:.1f} s)")

    typer.echo(f"benchmarking {', '.join(chosen)}{' (quick)' if quick else ''} ...")
    try:
        record = run_suite(config, on_stage)
    except SuiteError as exc:
        raise typer.BadParameter(str(exc)) from None
    target = out or RESULTS / ("quick.json" if quick else "latest.json")
    record.save(target)
    append_history(record, history)
    _print_table(record)
    if previous is not None:
        _print_changes(previous, record)
    if readme is not None:
        try:
            update_readme(readme, record, block)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--readme") from None
        typer.echo(f"updated the benchmark table in {readme}")
    typer.echo(f"record -> {target}; history -> {history}")
    failed = [s for s, i in record.notes["stages"].items() if "error" in i]
    for stage in failed:
        typer.echo(f"stage {stage} failed:\n{record.notes['stages'][stage]['error']}", err=True)
    if failed:
        raise typer.Exit(1)


def _check_models(asr_model, nli_model) -> None:
    """Real models must be at hand before any work: resolved as `transcribe` and `score` resolve
    them (offline machines: pre-download them)."""
    from lanser_fast.asr import WhisperModelError, resolve_whisper
    from lanser_fast.bench.suite import SuiteError
    from lanser_fast.nli.models import ModelNotFound, resolve_model

    try:
        if asr_model:
            resolve_whisper(asr_model)
        if nli_model:
            resolve_model(nli_model)
    except (WhisperModelError, ModelNotFound) as exc:
        raise SuiteError(f"--models: {exc}") from None


def _print_table(record) -> None:
    from rich.console import Console
    from rich.table import Table

    from lanser_fast.bench.peaks import hardware_use
    from lanser_fast.bench.record import describe_machine

    table = Table(title=f"{describe_machine(record.machine)} - commit {record.commit}"
                        f"{' - quick sizes' if record.notes.get('quick') else ''}")
    for name in ("stage", "ours", "reference (same run)", "ours", "reference", "ratio",
                 "hardware use"):
        table.add_column(name)
    groups: dict = {}
    for m in record.results:
        groups.setdefault((m.stage, m.workload), []).append(m)
    for (stage, _), members in groups.items():
        ours = [m for m in members if m.role == "ours"]
        refs = [m for m in members if m.role != "ours"]
        for o in ours:
            matching = [r for r in refs if r.unit == o.unit] or [None]
            for r in matching:
                table.add_row(stage, o.impl, r.impl if r else "-", _fmt(o),
                              _fmt(r) if r else "-", f"{o.median / r.median:.2f}x" if r else "-",
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
    Console(width=220).print(table)
    stages = record.notes.get("stages", {})
    setup = sum(i.get("setup_s", 0.0) for i in stages.values())
    typer.echo(f"suite wall time {record.notes.get('wall_s', 0):.0f} s, of which {setup:.0f} s "
               "fixture set-up (building models, corpora and caches: the extra cost of a cold "
               "run)")


def _fmt(m) -> str:
    value = m.median
    text = f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return f"{text} {m.unit}"


def _print_changes(previous, record) -> None:
    from rich.console import Console
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
    Console(width=220).print(table)
    regressions = [c for c in changes if c.verdict == "regression"]
    typer.echo(f"{len(regressions)} regression(s) beyond the measured noise; "
               f"{len(gone)} contender(s) no longer measured, {len(added)} new")
