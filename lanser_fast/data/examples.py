"""What every SER dataset reader returns: labeled utterances, their classes, and what was skipped.

A reader never stops at one bad line or stray file: it records a :class:`Problem` and goes on,
so a user sees every issue of a corpus in one pass (``LabeledSet.problems``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    """One labeled utterance: a file, or a region of a file."""

    id: str  # unique within the set (IEMOCAP turn name, CREMA-D file stem, ...)
    path: str  # audio file, absolute or as the source gave it
    label: int  # class index into ``LabeledSet.classes``
    offset_s: float = 0.0  # start of the utterance in the file (seconds)
    duration_s: float | None = None  # length of the region (None = to the end of the file)
    speaker: str | None = None  # speaker id (speaker-independent splits)
    group: str | None = None  # fold key: IEMOCAP session, CREMA-D actor, a given split name
    transcript: str | None = None  # what was said, where the dataset ships it


@dataclass(frozen=True)
class Problem:
    """A line or file a reader skipped, and why."""

    where: str  # file (and line: ``path:12``)
    reason: str


@dataclass(frozen=True)
class LabeledSet:
    """A dataset: its examples, class names in index order, and what was skipped."""

    name: str  # "iemocap", "crema-d", "weak:<taxonomy>", a file name
    classes: tuple[str, ...]
    examples: tuple[Example, ...]
    problems: tuple[Problem, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.examples)

    def counts(self) -> list[int]:
        """Examples per class, in class order."""
        seen = Counter(ex.label for ex in self.examples)
        return [seen.get(i, 0) for i in range(len(self.classes))]

    def subset(self, examples) -> "LabeledSet":
        """The same classes over ``examples`` (problems are kept)."""
        return LabeledSet(self.name, self.classes, tuple(examples), self.problems)
