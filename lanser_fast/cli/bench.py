"""``lanser-fast bench`` (run the benchmark suite, print one table, keep the history, compare)
and ``bench-report`` (a record as the README's Markdown table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from lanser_fast.cli.base import app, usage_errors

PANEL = "Benchmarks"
RESULTS = Path("benchmarks") / "results"
README = typer.Option(None, "--readme", help="Write the table into the bench-table block of "
                                             "this Markdown file (benchmarks/README.md holds "
                                             "them) instead of only printing it.")
BLOCK = typer.Option(None, "--block", help="With --readme: the named block (<!-- "
                                           "bench-table:NAME:start -->) instead of the main "
                                           "one, for a stage benchmarked in a record of its "
                                           "own.")


STAGES_OPT = typer.Option(None, "--stages", help="Comma-separated stages: frontend, decode, "
                                                 "asr, asr-real, nli, similarity, label, "
                                                 "train, data (default: all).")
QUICK = typer.Option(False, "--quick", help="Small sizes: the whole suite in a few minutes "
                                            "(figures for a smoke check, not for decisions).")
DEVICE = typer.Option("auto", "--device", help="auto (GPU contenders where CUDA is available), "
                                               "cpu or cuda.")
MODELS = typer.Option("tiny", "--models", help="tiny (random tiny-sized models built locally), "
                                               "hub (large-v3-turbo and "
                                               "FacebookAI/roberta-large-mnli), or ASR,NLI hub "
                                               "ids or folders.")
OUT = typer.Option(None, "--out", "-o", help="Record of this run (default: "
                                             "benchmarks/results/latest.json, quick.json with "
                                             "--quick).")
HISTORY = typer.Option(RESULTS / "history.jsonl", "--history", help="Every run's record is "
                                                                    "appended here.")
COMPARE = typer.Option(None, "--compare", help="A previous record (or history .jsonl: its "
                                               "newest record) to compare with.")


@app.command(rich_help_panel=PANEL)
def bench(
    stages: Optional[str] = STAGES_OPT, quick: bool = QUICK, device: str = DEVICE,
    models: str = MODELS, out: Optional[Path] = OUT, history: Path = HISTORY,
    compare: Optional[Path] = COMPARE, readme: Optional[Path] = README,
    block: Optional[str] = BLOCK,
) -> None:
    """Profile every stage on this machine against its references, measured in the same run."""
    from lanser_fast.bench import Record
    from lanser_fast.bench.suite import (
        STAGES,
        SuiteConfig,
        SuiteError,
        append_history,
        models_option,
        run_suite,
    )

    with usage_errors(OSError, ValueError, KeyError, hint="--compare", about=compare):
        previous = Record.load(compare) if compare is not None else None
    chosen = tuple(s.strip() for s in stages.split(",") if s.strip()) if stages else tuple(STAGES)
    with usage_errors(SuiteError):
        asr_model, nli_model = models_option(models)
        config = SuiteConfig(chosen, quick, device, asr_model, nli_model)

    def on_stage(stage, info):
        status = "ok" if "error" not in info else "FAILED"
        typer.echo(f"  {stage:9s} {status:6s} {info['s']:7.1f} s "
                   f"(set-up {info['setup_s']:.1f} s)")

    typer.echo(f"benchmarking {', '.join(chosen)}{' (quick)' if quick else ''} ...")
    with usage_errors(SuiteError):
        record = run_suite(config, on_stage)
    target = out or RESULTS / ("quick.json" if quick else "latest.json")
    record.save(target)
    append_history(record, history)
    _show(record, previous, readme, block)
    typer.echo(f"record -> {target}; history -> {history}")
    failed = {s: i["error"] for s, i in record.notes["stages"].items() if "error" in i}
    for stage, error in failed.items():
        typer.echo(f"stage {stage} failed:\n{error}", err=True)
    if failed:
        raise typer.Exit(1)


def _show(record, previous, readme, block) -> None:
    """The run's table, the comparison with ``previous``, and the README block if asked."""
    from rich.console import Console

    from lanser_fast.bench import update_readme
    from lanser_fast.bench.table import changes_table, results_table, wall_time_note

    console = Console(width=220)
    console.print(results_table(record))
    typer.echo(wall_time_note(record))
    if previous is not None:
        table, verdict = changes_table(previous, record)
        console.print(table)
        typer.echo(verdict)
    if readme is not None:
        with usage_errors(ValueError, hint="--readme"):
            update_readme(readme, record, block)
        typer.echo(f"updated the benchmark table in {readme}")


@app.command("bench-report", rich_help_panel=PANEL)
def bench_report(
    record: Path = typer.Argument(..., exists=True, dir_okay=False, help="A benchmark record "
                                  "(JSON written by the benchmarks/ suites)."),
    readme: Optional[Path] = README, block: Optional[str] = BLOCK,
) -> None:
    """Render a benchmark record as the Markdown table of the README.

    Ours vs the references measured in the same run, with the machine named.
    """
    from lanser_fast.bench import Record, markdown_table, update_readme

    with usage_errors(ValueError, KeyError, json.JSONDecodeError, hint="RECORD", about=record):
        loaded = Record.load(record)
    if readme is None:
        typer.echo(markdown_table(loaded), nl=False)
        return
    with usage_errors(ValueError, hint="--readme"):
        update_readme(readme, loaded, block)
    typer.echo(f"updated the benchmark table in {readme}")
