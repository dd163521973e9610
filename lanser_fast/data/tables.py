"""Any labeled corpus given as a table: CSV/TSV with a header row, or JSON Lines.

Columns: ``path`` and ``label`` (required); ``split``, ``speaker``, ``id``, ``offset_s``,
``duration_s``, ``transcript`` (optional); other columns are ignored. Relative paths are taken
from the table's folder, so a table travels with its audio. A given ``split``
(train/valid/val/dev/test) becomes the example's group, which ``make_split`` keeps as given;
without one the speaker is the group, so folds are speaker-independent.

A bad row is a :class:`Problem` at ``file:line`` and the rest is read; only a table that cannot be
read at all (missing, unknown format, not UTF-8, no ``path``/``label`` column) raises.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from lanser_fast.data.examples import Example, LabeledSet, Problem
from lanser_fast.data.splits import GIVEN_SPLITS
from lanser_fast.taxonomy.builtin import BUILTIN

REQUIRED = ("path", "label")
OPTIONAL = ("split", "speaker", "id", "offset_s", "duration_s", "transcript")
# file name ending -> format (.json is read as JSON Lines too: one object per line)
FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


class _BadRow(Exception):
    """Why one row is skipped."""


def read_table(path: str | os.PathLike, *,
               classes: Sequence[str] | str | None = None) -> LabeledSet:
    """The labeled rows of a CSV/TSV or JSON Lines table (optionally gzipped).

    ``classes``: the class names in index order (rows with other labels are skipped), a built-in
    taxonomy name, or None for the sorted labels found in the table.
    """
    path = Path(path)
    wanted = _classes(classes)
    fmt = _format(path)
    text = _read_text(path, fmt)
    problems: list[Problem] = []
    if fmt == "jsonl":
        rows, columns = _json_rows(text, str(path), problems)
    else:
        rows, columns = _csv_rows(text, "\t" if fmt == "tsv" else ",", str(path), problems)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        hint = " (one JSON object per line is expected, not a JSON array)" if (
            fmt == "jsonl" and text.lstrip().startswith("[")) else ""
        raise ValueError(f"table {path}: no {' or '.join(missing)} column{hint}; columns found: "
                         f"{', '.join(columns) or '(none)'}; expected {', '.join(REQUIRED)} and "
                         f"optionally {', '.join(OPTIONAL)}")
    folder = os.path.dirname(os.path.abspath(path))
    kept: list[tuple[str, dict[str, Any]]] = []  # (label, Example fields)
    first_line: dict[str, int] = {}  # id -> line it was first seen on
    for line, row in rows:
        where = f"{path}:{line}"
        try:
            label, fields = _fields(row, folder, has_split="split" in columns)
            if wanted is not None and label not in wanted:
                raise _BadRow(f"label {label!r} is not one of the classes "
                              f"({', '.join(wanted)})")
            if fields["id"] in first_line:
                raise _BadRow(f"duplicate id {fields['id']!r} (first on line "
                              f"{first_line[fields['id']]})")
        except _BadRow as bad:
            problems.append(Problem(where, f"{bad}; row skipped"))
            continue
        first_line[fields["id"]] = line
        kept.append((label, fields))
    problems.sort(key=lambda p: int(p.where.rpartition(":")[2]))  # in line order, as a user fixes
    names = tuple(wanted) if wanted is not None else tuple(sorted({label for label, _ in kept}))
    index = {name: i for i, name in enumerate(names)}
    examples = tuple(Example(label=index[label], **fields) for label, fields in kept)
    return LabeledSet(path.name, names, examples, tuple(problems))


def _classes(classes: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if classes is None:
        return None
    if isinstance(classes, str):  # a name, not a sequence of one-letter classes
        if classes not in BUILTIN:
            raise ValueError(f"classes {classes!r} is not a built-in taxonomy "
                             f"({', '.join(BUILTIN)}); pass a list of class names")
        return BUILTIN[classes][0]
    names = tuple(str(c).strip() for c in classes)
    if not names or "" in names or len(set(names)) != len(names):
        raise ValueError(f"classes must be distinct, non-empty names, got {list(classes)!r}")
    return names


def table_format(path: str | os.PathLike) -> str | None:
    """The table format of ``path`` by its name (``.gz`` allowed), or None."""
    name = Path(path).name.lower()
    name = name[: -len(".gz")] if name.endswith(".gz") else name
    return next((fmt for ending, fmt in FORMATS.items() if name.endswith(ending)), None)


def _format(path: Path) -> str:
    fmt = table_format(path)
    if fmt is not None:
        return fmt
    raise ValueError(f"table {path}: unknown format; expected a name ending in "
                     f"{', '.join(FORMATS)} (optionally .gz)")


def _read_text(path: Path, fmt: str) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"table {path} does not exist (expected a {fmt} file)")
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError) as err:
        raise ValueError(f"table {path} cannot be read: {err}") from err
    try:
        return data.decode("utf-8-sig")  # -sig: spreadsheets put a BOM in front
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(f"table {path}:{line}: not UTF-8 text (byte {err.start}); save the "
                         "table as UTF-8") from err


def _csv_rows(text: str, delimiter: str, where: str,
              problems: list[Problem]) -> tuple[list[tuple[int, dict]], list[str]]:
    """(line, row) of every data row, and the header's column names."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, dict]] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as err:  # e.g. a NUL byte: the reader goes on with the next line
            problems.append(Problem(f"{where}:{reader.line_num}", f"not CSV: {err}; row skipped"))
            continue
        if not any(c.strip() for c in cells):
            continue  # blank line
        if header is None:
            header = [c.strip().lower() for c in cells]
            doubled = sorted({c for c in header if header.count(c) > 1})
            if doubled:
                raise ValueError(f"table {where}:{reader.line_num}: column(s) "
                                 f"{', '.join(doubled)} appear more than once in the header")
            continue
        if len(cells) != len(header):
            problems.append(Problem(f"{where}:{reader.line_num}", f"{len(cells)} fields, the "
                                    f"header has {len(header)}; row skipped"))
            continue
        rows.append((reader.line_num, dict(zip(header, cells))))
    return rows, header or []


def _json_rows(text: str, where: str,
               problems: list[Problem]) -> tuple[list[tuple[int, dict]], list[str]]:
    """(line, object) of every JSON object line, and every key seen (in first-seen order)."""
    rows: list[tuple[int, dict]] = []
    columns: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append(Problem(f"{where}:{number}", f"not JSON ({err.msg}, column "
                                                         f"{err.colno}); row skipped"))
            continue
        if not isinstance(row, dict):
            problems.append(Problem(f"{where}:{number}", f"a JSON {type(row).__name__}, not an "
                                                         "object; row skipped"))
            continue
        columns.update(dict.fromkeys(row))
        rows.append((number, row))
    return rows, list(columns)


def _fields(row: dict, folder: str, *, has_split: bool) -> tuple[str, dict[str, Any]]:
    """The label and the other Example fields of one row; raises _BadRow."""
    source = _text(row.get("path"), "path")
    if source is None:
        raise _BadRow("empty path")
    label = _text(row.get("label"), "label")
    if label is None:
        raise _BadRow("empty label")
    offset = _number(row.get("offset_s"), "offset_s", allow_zero=True)
    duration = _number(row.get("duration_s"), "duration_s", allow_zero=False)
    speaker = _text(row.get("speaker"), "speaker")
    group = speaker
    if has_split:
        split = _text(row.get("split"), "split")
        if split is None:  # a half-split table would be neither split as given nor folded
            raise _BadRow("no split, though the table has a split column")
        if split.lower() not in GIVEN_SPLITS:
            raise _BadRow(f"split {split!r} is not one of {', '.join(GIVEN_SPLITS)}")
        group = GIVEN_SPLITS[split.lower()]
    ex_id = _text(row.get("id"), "id") or _default_id(source, offset)
    return label, {"id": ex_id, "path": _resolve(source, folder), "offset_s": offset or 0.0,
                   "duration_s": duration, "speaker": speaker, "group": group,
                   "transcript": _text(row.get("transcript"), "transcript")}


def _text(value: Any, column: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _BadRow(f"{column} {value!r} is not text")
    text = str(value).strip()
    return text or None


def _number(value: Any, column: str, *, allow_zero: bool) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise _BadRow(f"{column} {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise _BadRow(f"{column} {value!r} must be a finite number "
                      f"{'>= 0' if allow_zero else '> 0'} (seconds)")
    return number


def _resolve(source: str, folder: str) -> str:
    if "://" in source:  # a URL (s3://, https://) is opened as given
        return source
    source = os.path.expanduser(source)
    return source if os.path.isabs(source) else os.path.normpath(os.path.join(folder, source))


def _default_id(source: str, offset: float | None) -> str:
    stem = PurePosixPath(source.replace("\\", "/")).stem
    if not offset:
        return stem
    seconds = repr(offset)  # shortest exact form: regions 0.1 s apart get different ids
    return f"{stem}@{seconds[:-2] if seconds.endswith('.0') else seconds}"
