"""The weak-labeled training set: what ``lanser-fast label`` wrote, as labeled utterances.

An utterance is a file region (path, offset, duration); its class is the weak label in the
labeling run's taxonomy. Error rows and rows without a label are left out (they are counted in
``label``'s own summary, not problems of the training set); a weak label outside the taxonomy is
a problem. ``min_score`` drops low-confidence labels, the simplest label-noise filter.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq

from lanser_fast.data.examples import Example, LabeledSet, Problem
from lanser_fast.manifest.writer import shard_paths
from lanser_fast.runs import RUN_SIDECAR
from lanser_fast.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

WEAK_PREFIX = "weak:"  # a weak-label set is named "weak:<taxonomy>"
COLUMNS = ("id", "path", "offset_s", "duration_s", "transcript", "weak_label", "weak_score",
           "taxonomy", "error_stage")


def read_weak(source: str | os.PathLike, *, taxonomy: str | Taxonomy | None = None,
              min_score: float = 0.0) -> LabeledSet:
    """Weak-labeled utterances from a ``label`` output folder or one of its Parquet files.

    ``taxonomy`` defaults to the one the labeling run used (its ``_run.json``, else the rows'
    ``taxonomy`` column, which names built-ins).
    """
    source = Path(source)
    files = shard_paths(source) if source.is_dir() else [source]
    if not source.exists():
        raise FileNotFoundError(f"weak labels {source} do not exist: pass the --out folder of "
                                "`lanser-fast label` or one of its Parquet files")
    if not files:
        raise ValueError(f"{source} holds no Parquet shards of `lanser-fast label`")
    tables = [pq.read_table(f, columns=_present(f)) for f in files]
    tax = _taxonomy(taxonomy, source, tables)
    index = {label: i for i, label in enumerate(tax.labels)}
    examples, problems = [], []
    for file, table in zip(files, tables):
        for row in table.to_pylist():
            if row.get("error_stage") or row.get("weak_label") is None:
                continue
            label = row["weak_label"]
            if label not in index:
                problems.append(Problem(f"{file}:{row['id']}", f"weak label {label!r} is not in "
                                        f"taxonomy {tax.name}"))
                continue
            score = row.get("weak_score")
            if score is not None and score < min_score:
                continue
            examples.append(Example(
                id=row["id"], path=row["path"], label=index[label],
                offset_s=float(row.get("offset_s") or 0.0), duration_s=row.get("duration_s"),
                speaker=row["path"], transcript=row.get("transcript")))
    return LabeledSet(f"{WEAK_PREFIX}{tax.name}", tax.labels, tuple(examples), tuple(problems))


def weak_taxonomy(data: LabeledSet) -> str | None:
    """The taxonomy of a weak-label set (the one its labeling run used); None for other sets."""
    return data.name[len(WEAK_PREFIX):] if data.name.startswith(WEAK_PREFIX) else None


def weak_taxonomy_name(source: str | os.PathLike) -> str | None:
    """The taxonomy recorded in a label run's ``_run.json`` (None if there is none)."""
    run = Path(source) / RUN_SIDECAR
    if not run.is_file():
        return None
    try:
        return json.loads(run.read_text())["config"]["nli"]["taxonomy"]
    except (KeyError, ValueError, TypeError):
        return None


def _present(file: Path) -> list[str]:
    names = set(pq.read_schema(file).names)
    missing = {"id", "path", "weak_label"} - names
    if missing:
        raise ValueError(f"{file} lacks column(s) {', '.join(sorted(missing))}: it is not "
                         "output of `lanser-fast label`")
    return [c for c in COLUMNS if c in names]


def _taxonomy(spec, source: Path, tables) -> Taxonomy:
    if isinstance(spec, Taxonomy):
        return spec
    spec = spec or (weak_taxonomy_name(source) if source.is_dir() else None)
    if spec is None:
        names = {n for t in tables if "taxonomy" in t.column_names
                 for n in t.column("taxonomy").unique().to_pylist() if n}
        if len(names) != 1:
            raise ValueError(f"{source}: cannot tell the taxonomy (found {sorted(names)}); "
                             "pass --taxonomy")
        spec = names.pop()
    try:
        return load_taxonomy(spec)
    except (TaxonomyError, FileNotFoundError, OSError) as exc:
        raise ValueError(f"{source}: taxonomy {spec!r} of the weak labels cannot be loaded "
                         f"({exc}); pass --taxonomy FILE") from None
