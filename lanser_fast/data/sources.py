"""One way to name a dataset on the command line.

- ``iemocap:PATH`` or a folder holding ``Session1..5`` (IEMOCAP's released layout);
- ``crema-d:PATH`` or a folder holding ``AudioWAV/`` (CREMA-D's released layout);
- a ``.csv`` / ``.tsv`` / ``.jsonl`` / ``.json`` table (also gzipped) of (path, label[, split,
  speaker, ...]);
- a ``lanser-fast label`` output folder or one of its Parquet files (weak labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lanser_fast.data.examples import LabeledSet
from lanser_fast.data.tables import table_format
from lanser_fast.manifest.writer import shard_paths
from lanser_fast.taxonomy import BUILTIN

KINDS = ("iemocap", "crema-d", "table", "weak")
DATASET_TAXONOMIES = {"iemocap": "iemocap4", "crema-d": "cremad6"}  # readers' names -> built-ins


@dataclass(frozen=True)
class DataOptions:
    taxonomy: str | None = None  # weak labels: taxonomy (default: the labeling run's)
    min_score: float = 0.0  # weak labels: drop labels scored below this
    iemocap_kind: str = "all"  # IEMOCAP: all, improvised or scripted dialogs
    classes: tuple[str, ...] | None = None  # tables: class names in order (default: sorted)


def dataset_kind(spec: str) -> tuple[str, Path]:
    """``(kind, path)`` of a dataset spec; raises ValueError naming what was expected."""
    prefix, sep, rest = spec.partition(":")
    if sep and prefix.lower() in ("iemocap", "crema-d", "cremad"):
        return ("iemocap" if prefix.lower() == "iemocap" else "crema-d"), Path(rest)
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"dataset {spec} does not exist")
    name = path.name.lower()
    if path.is_file():
        if name.endswith(".parquet"):
            return "weak", path
        if table_format(path) is not None:
            return "table", path
    elif any((path / f"Session{i}").is_dir() for i in range(1, 6)) or \
            (path / "IEMOCAP_full_release").is_dir():
        return "iemocap", path
    elif (path / "AudioWAV").is_dir():
        return "crema-d", path
    elif shard_paths(path):
        return "weak", path
    raise ValueError(f"cannot tell what dataset {spec} is: use iemocap:PATH, crema-d:PATH, a "
                     ".csv/.tsv/.jsonl table of path,label[,split], or a `lanser-fast label` "
                     "output")


def open_dataset(spec: str, options: DataOptions = DataOptions()) -> LabeledSet:
    kind, path = dataset_kind(spec)
    if kind == "iemocap":
        from lanser_fast.data.iemocap import read_iemocap

        return read_iemocap(path, kind=options.iemocap_kind)
    if kind == "crema-d":
        from lanser_fast.data.cremad import read_cremad

        return read_cremad(path)
    if kind == "table":
        from lanser_fast.data.tables import read_table

        return read_table(path, classes=options.classes)
    from lanser_fast.data.weak import read_weak

    return read_weak(path, taxonomy=options.taxonomy, min_score=options.min_score)


def data_taxonomy(data: LabeledSet) -> str:
    """The built-in taxonomy whose labels are ``data``'s classes: IEMOCAP's and CREMA-D's own,
    or a built-in with exactly these classes; ValueError when there is none."""
    if data.name in DATASET_TAXONOMIES:
        return DATASET_TAXONOMIES[data.name]
    matching = [name for name, (labels, _) in BUILTIN.items()
                if tuple(labels) == tuple(data.classes)]
    if not matching:
        raise ValueError(f"{data.name}'s classes are no built-in taxonomy: pass --taxonomy")
    return matching[0]
