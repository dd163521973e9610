"""Two benchmark records side by side: the change per contender, judged against the noise.

A contender is matched by stage, workload and implementation. Its noise is the spread each run
measured itself (max - min over the timed repeats, relative to the median), the larger of the
two runs, and never below ``MIN_NOISE``: a change is a regression or an improvement only when
it is larger than that. Single-repeat measurements have no spread of their own and get the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

from lanser_fast.bench.record import Measurement, Record

MIN_NOISE = 0.03  # a 3 % change is never called a regression (timer and scheduler jitter)


@dataclass(frozen=True)
class Change:
    stage: str
    workload: str
    impl: str
    role: str
    unit: str
    before: float  # median throughput of the previous record
    after: float  # median throughput of the new one
    noise: float  # relative noise band (e.g. 0.05 = 5 %)

    @property
    def change(self) -> float:
        """Relative change of throughput (positive = faster)."""
        return self.after / self.before - 1.0

    @property
    def verdict(self) -> str:
        if self.change < -self.noise:
            return "regression"
        if self.change > self.noise:
            return "improvement"
        return "within noise"


def spread(m: Measurement) -> float:
    return (m.max - m.min) / m.median if m.median and m.repeats > 1 else 0.0


def compare(before: Record, after: Record) -> tuple[list[Change], list[str], list[str]]:
    """Changes of the contenders in both records; the keys only in ``before`` and only in
    ``after`` (``stage | impl``)."""
    old = {(m.stage, m.workload, m.impl): m for m in before.results}
    new = {(m.stage, m.workload, m.impl): m for m in after.results}
    changes = []
    for key, m in new.items():
        if key in old and old[key].unit == m.unit and old[key].median > 0:
            noise = max(spread(old[key]), spread(m), MIN_NOISE)
            changes.append(Change(m.stage, m.workload, m.impl, m.role, m.unit,
                                  old[key].median, m.median, noise))
    gone = [f"{k[0]} | {k[2]}" for k in old if k not in new]
    added = [f"{k[0]} | {k[2]}" for k in new if k not in old]
    return changes, gone, added
