"""Train/valid/test splits and label fractions, all seeded and reproducible.

- Folds are by group (IEMOCAP session, CREMA-D actor): no speaker of the test fold is trained on.
  With as many groups as folds (IEMOCAP's 5 sessions) fold k is group k: leave-one-session-out.
- The validation set is drawn by speaker from what is left, so it is speaker-independent too.
- Sets that arrive split (a ``split`` column) keep their split.
- Label fractions are stratified and nested: with one seed the 1 % subset lies inside the 5 %
  subset, which lies inside the 10 % one, so label-efficiency curves differ only by labels added.
  Every class present keeps at least one example.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

from lanser_fast.data.examples import Example, LabeledSet

N_FOLDS = 5  # speaker folds by default (IEMOCAP: its 5 sessions, leave-one-session-out)
GIVEN_SPLITS = {"train": "train", "valid": "valid", "val": "valid", "dev": "valid",
                "test": "test"}  # split names a source may use, normalised


@dataclass(frozen=True)
class Split:
    train: LabeledSet
    valid: LabeledSet
    test: LabeledSet
    description: str  # e.g. "fold 1 of 5: test = Session1"


def is_presplit(data: LabeledSet) -> bool:
    """Whether every example carries a known split name as its group."""
    return bool(data.examples) and all(ex.group in GIVEN_SPLITS for ex in data.examples)


def make_split(data: LabeledSet, *, fold: int | None = None, n_folds: int = N_FOLDS,
               seed: int = 0,
               valid_fraction: float = 0.1) -> Split:
    """Split ``data`` for training.

    ``fold`` (1-based) selects the test fold; ``None`` means no test set (pre-training).
    """
    if not 0 <= valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    if is_presplit(data):
        parts = defaultdict(list)
        for ex in data.examples:
            parts[GIVEN_SPLITS[ex.group]].append(ex)
        return Split(data.subset(parts["train"]), data.subset(parts["valid"]),
                     data.subset(parts["test"]), "the split given with the data")
    test_groups: list[str] = []
    rest = list(data.examples)
    if fold is not None:
        groups = sorted({ex.group for ex in data.examples if ex.group is not None})
        if len(groups) < 2:
            raise ValueError(f"{data.name}: folds need at least 2 groups (sessions or speakers), "
                             f"found {len(groups)}")
        n_folds = min(n_folds, len(groups))
        if not 1 <= fold <= n_folds:
            raise ValueError(f"fold must be between 1 and {n_folds}, got {fold}")
        if len(groups) > n_folds:  # many speakers: deal them into folds at random
            random.Random(seed).shuffle(groups)
        test_groups = sorted(groups[fold - 1::n_folds])
        rest = [ex for ex in data.examples if ex.group not in test_groups]
    test = [ex for ex in data.examples if ex.group in test_groups]
    valid_speakers = _valid_speakers(rest, valid_fraction, seed)
    valid = [ex for ex in rest if _speaker(ex) in valid_speakers]
    train = [ex for ex in rest if _speaker(ex) not in valid_speakers]
    where = f"fold {fold} of {n_folds}: test = {', '.join(test_groups)}" if fold else "no test"
    return Split(data.subset(train), data.subset(valid), data.subset(test),
                 f"{where}; valid = {len(valid_speakers)} speaker(s)")


def label_fraction(data: LabeledSet, fraction: float, seed: int = 0) -> LabeledSet:
    """A stratified, seeded subset with ``fraction`` of each class (at least one example each).

    Subsets are nested across fractions for one seed (see the module docstring).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    by_class: dict[int, list[Example]] = defaultdict(list)
    for ex in data.examples:
        by_class[ex.label].append(ex)
    keep = []
    for label in sorted(by_class):
        members = sorted(by_class[label], key=lambda ex: ex.id)
        random.Random(f"{seed}:{label}").shuffle(members)
        keep.extend(members[:max(1, round(fraction * len(members)))])
    order = {ex.id: i for i, ex in enumerate(data.examples)}
    return data.subset(sorted(keep, key=lambda ex: order[ex.id]))


def _speaker(ex: Example) -> str:
    return ex.speaker if ex.speaker is not None else ex.path


def _valid_speakers(examples: list[Example], fraction: float, seed: int) -> set[str]:
    speakers = sorted({_speaker(ex) for ex in examples})
    if fraction == 0 or len(speakers) < 2:
        return set()
    count = min(len(speakers) - 1, max(1, math.floor(fraction * len(speakers) + 0.5)))
    return set(random.Random(f"valid:{seed}").sample(speakers, count))


def split_part(data: LabeledSet, part: str, *, fold: int | None = None,
               n_folds: int = N_FOLDS) -> LabeledSet:
    """One part of ``data``'s split (``train``, ``valid``, ``test``) or ``all`` of it, for
    scoring a model; an empty part is an error that says how to get one."""
    if part == "all":
        return data
    if part not in ("train", "valid", "test"):
        raise ValueError(f"--split must be train, valid, test or all, got {part!r}")
    split = make_split(data, fold=fold, n_folds=n_folds, seed=0)
    chosen = getattr(split, part)
    if not len(chosen):
        raise ValueError(f"the {part} split is empty ({split.description}); pass --fold or "
                         "--split all")
    return chosen
