"""The base of the ``lanser-fast`` command: the Typer app, input opening, progress display, and
the one place where the library's errors become clean command-line errors.

Command modules (``stages``, ``label``, ``train``, ``bench``) register on :data:`app`. A command
parses its options, builds the library's config, calls one library function and shows progress
and the summary; heavy imports live inside the commands so ``lanser-fast --help`` stays instant.
Exit codes: 0 success, 1 the run failed (a worker died, a stage failed), 2 a bad option, input
or model (nothing was done).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

app = typer.Typer(
    name="lanser-fast",
    help="LanSER at scale: decode speech corpora, and (stage by stage) transcribe, weak-label "
         "and train speech-emotion models. Every command reports throughput in audio-hours per "
         "device-hour.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

AUDIO_INPUTS = ("Audio files, folders, manifests, Parquet with embedded audio, .tar shards, "
                "globs or fsspec URLs (as for 'decode').")

ErrorKinds = type[BaseException] | tuple[type[BaseException], ...]
ErrorRule = ErrorKinds | tuple[ErrorKinds, str | None]


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Stop with a usage error (exit 2) naming the option or argument ``hint``."""
    raise typer.BadParameter(message, param_hint=hint)


@contextmanager
def usage_errors(*rules: ErrorRule, hint: str | None = None,
                 about: object = None) -> Iterator[None]:
    """Library errors raised inside become usage errors (exit 2, no traceback).

    Each rule is an exception type, or ``(types, hint)`` to name the option at fault (``types``
    one type or a tuple); the first rule that matches wins, so list subclasses before their
    bases. ``about`` (a file, say) starts the message when the error itself does not name it.
    """
    pairs = [rule if isinstance(rule, tuple) and len(rule) == 2 and isinstance(rule[1], str)
             else (rule, hint) for rule in rules]
    caught = tuple(k for kinds, _ in pairs for k in (kinds if isinstance(kinds, tuple) else
                                                      (kinds,)))
    try:
        yield
    except caught as exc:
        where = next(h for kind, h in pairs if isinstance(exc, kind))
        message = str(exc) if about is None else f"{about}: {exc}"
        raise typer.BadParameter(message, param_hint=where) from None


@contextmanager
def run_failures(*kinds: type[BaseException], prefix: str) -> Iterator[None]:
    """Errors that end a started run: the message on stderr and exit 1 (rows already written
    stay; re-running resumes)."""
    try:
        yield
    except kinds as exc:
        typer.echo(f"{prefix}: {exc}", err=True)
        raise typer.Exit(1) from None


@contextmanager
def systemic_failures(prefix: str) -> Iterator[None]:
    """A model failing as a whole (``lanser_fast.stop_guard``): the reason on stderr and exit
    code 3; the rows written before stay and re-running resumes."""
    from lanser_fast.stop_guard import EXIT_SYSTEMIC, SystemicFailure

    try:
        yield
    except SystemicFailure as exc:
        typer.echo(f"{prefix}: stopped, the model fails as a whole: {exc}. Rows written before "
                   "are kept; fix the cause and run the same command again to resume "
                   "(--stop-first/--stop-fraction set when this stops a run)", err=True)
        raise typer.Exit(EXIT_SYSTEMIC) from None


def open_inputs(inputs: list[str]):
    """The audio items of INPUTS; a manifest that cannot be read fails before any work."""
    from lanser_fast.manifest import ManifestError
    from lanser_fast.manifest import open_inputs as open_items

    with usage_errors(ManifestError, hint="INPUTS"):
        return open_items(inputs)


def comma_list(text: str | None, kind: type = str) -> tuple:
    """``"a, b,c"`` as a tuple of ``kind`` (empty entries dropped)."""
    return tuple(kind(part.strip()) for part in (text or "").split(",") if part.strip())


@contextmanager
def progress(label: str, counted: bool = True, line: str = "") -> Iterator[Callable[..., None]]:
    """A progress bar (``counted``: items done) or spinner for ``label`` with a text line;
    yields ``update(line=..., completed=..., advance=...)``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = ((TextColumn(label), BarColumn(), MofNCompleteColumn()) if counted else
               (SpinnerColumn(), TextColumn(label)))
    with Progress(*columns, TextColumn("{task.fields[line]}"), TimeElapsedColumn()) as bar:
        task = bar.add_task(label, total=None, line=line)

        def update(line: str | None = None, **counts) -> None:
            bar.update(task, **counts, **({} if line is None else {"line": line}))

        yield update


@contextmanager
def row_progress(label: str) -> Iterator[Callable[[dict], None]]:
    """A progress bar of rows written and the audio they hold; yields the per-row callback."""
    with progress(label) as update:
        audio_s = 0.0

        def on_row(row: dict) -> None:
            nonlocal audio_s
            if not row["error"]:
                audio_s += row["duration_s"]
            update(advance=1, line=f"{audio_s / 60:.1f} min of audio")

        yield on_row


def echo_rows(summary, out) -> None:
    """``N rows written to OUT (K already done); errors: ...`` of a corpus run, then its
    throughput line."""
    from lanser_fast.runs import counts_text

    typer.echo(f"{summary.rows} rows written to {out} ({summary.skipped} already done, "
               f"{summary.retried} error inputs redone); errors: {counts_text(summary.errors)}")
    typer.echo(summary.throughput_line())
