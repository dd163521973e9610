"""Stop a run whose model fails as a whole, instead of writing a corpus of error rows.

Every utterance that reaches the model either gets a result or an error row of a model stage
(``asr``). One bad utterance is that utterance's problem; a model whose feature size does not
match its weights, or a CUDA library missing at the first encode, fails every utterance, and a
50,000-hour job would burn its allocation producing nothing. ``StopGuard`` watches the rows of
each input before they are written and raises :class:`SystemicFailure` (the command line exits
with :data:`EXIT_SYSTEMIC`, 3) when

- the first ``first`` utterances that reached the model all failed with the same error, or
- more than ``fraction`` of the last ``window`` utterances that reached the model failed.

Rows of per-file problems (``manifest``, ``decode``, ``vad``) and filtered rows (``language``)
never count. ``guarded`` holds the inputs back while the first utterances have all failed, so
the rows that tripped the guard are never written and a resume after the fix redoes them;
everything written before stays.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Iterator, TypeVar

Rows = TypeVar("Rows")  # an input's rows: anything with a ``rows`` list (FileRows)

EXIT_SYSTEMIC = 3  # the command line's exit code when the guard stops a run
MODEL_STAGES = ("asr",)
FIRST = 8  # the first utterances at the model: all failing with one error stops the run
FRACTION = 0.5  # share of failures in the recent window that stops the run
WINDOW = 256  # utterances at the model the fraction is taken over


class SystemicFailure(RuntimeError):
    """The model fails as a whole: the run stopped (exit code 3)."""


@dataclass(frozen=True)
class StopRule:
    first: int = FIRST  # 0: off
    fraction: float = FRACTION  # 1: off
    window: int = WINDOW

    def __post_init__(self):
        if self.first < 0 or not 0 < self.fraction <= 1 or self.window < 1:
            raise ValueError(f"need first >= 0, 0 < fraction <= 1, window >= 1: {self}")


class StopGuard:
    def __init__(self, rule: StopRule = StopRule()):
        self.rule = rule
        self.seen = 0  # utterances that reached the model
        self.first_errors: set[str] = set()
        self.first_failed = 0
        self.recent: deque[bool] = deque(maxlen=rule.window)

    @property
    def deciding(self) -> bool:
        """Every utterance at the model so far failed, and the first-utterances rule may still
        stop the run."""
        return bool(self.rule.first) and self.seen < self.rule.first and \
            self.first_failed == self.seen

    def check(self, rows: list[dict]) -> None:
        """Count ``rows`` (one input's, not yet written); raise if the model fails as a whole."""
        for row in rows:
            stage = row.get("error_stage")
            if stage is not None and stage not in MODEL_STAGES:
                continue  # a per-file problem or a filter, not the model
            failed = stage is not None
            self.seen += 1
            self.recent.append(failed)
            if self.seen <= self.rule.first and failed:
                self.first_failed += 1
                self.first_errors.add(row["error"])
            if self.rule.first and self.seen == self.rule.first and \
                    self.first_failed == self.rule.first and len(self.first_errors) == 1:
                raise SystemicFailure(f"the first {self.rule.first} utterances all failed at "
                                      f"{stage} with the same error: {row['error']}")
        if len(self.recent) == self.rule.window and self.rule.fraction < 1:
            share = sum(self.recent) / len(self.recent)
            if share > self.rule.fraction:
                last = next((r["error"] for r in reversed(rows) if r.get("error_stage") in
                             MODEL_STAGES), "")
                raise SystemicFailure(f"{share:.0%} of the last {self.rule.window} utterances "
                                      f"failed at the model (more than {self.rule.fraction:.0%})"
                                      f"; the latest: {last}")


def guarded(files: Iterable[Rows], rule: StopRule) -> Iterator[Rows]:
    """``files`` (each with its ``rows``) as they may be written: held back while the guard is
    deciding, released in order once an utterance succeeds (or the input ends); raises
    ``SystemicFailure`` when the model fails as a whole."""
    guard, held = StopGuard(rule), []
    for file in files:
        guard.check(file.rows)
        held.append(file)
        if not guard.deciding:
            yield from held
            held.clear()
    yield from held
