"""Names that are not valid UTF-8, kept losslessly.

A POSIX file name is bytes; Python carries the bytes that are not UTF-8 as lone surrogates
(``os.fsdecode``'s ``surrogateescape``), which no UTF-8 column can store. Rows therefore hold
such a name in two forms: the text columns (``id``, ``path``, any other string) with each byte
that is not UTF-8 written as ``\\xNN`` (readable, and stable, so a resumed run recognises the
input), and ``path_bytes``, the path's exact bytes (null for every name that is valid UTF-8).
``os.fsdecode(row["path_bytes"])`` gives back the name Python opens the file with.
"""

from __future__ import annotations

from typing import Any


def storable(text: str) -> str:
    """``text`` itself when it is valid UTF-8, else with every byte that is not as ``\\xNN``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return name_bytes(text).decode("utf-8", "backslashreplace")


def name_bytes(text: str) -> bytes:
    """The bytes a name stands for (surrogate-escaped bytes restored, other lone surrogates
    as their UTF-8-style encoding)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def storable_row(row: dict[str, Any], keep_bytes: bool) -> dict[str, Any]:
    """``row`` with every string storable; with ``keep_bytes`` a path that is not UTF-8 also
    goes to ``path_bytes`` whole."""
    fixed = None
    for key, value in row.items():
        text = storable(value) if isinstance(value, str) else value
        if text is not value:
            fixed = fixed if fixed is not None else dict(row)
            fixed[key] = text
    if fixed is None:
        return row
    if keep_bytes and isinstance(row.get("path"), str) and fixed["path"] is not row["path"]:
        fixed["path_bytes"] = name_bytes(row["path"])
    return fixed
