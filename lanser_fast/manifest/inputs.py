"""Input readers: folders, JSONL/CSV/Parquet manifests, embedded-audio Parquet, tar shards,
Lhotse CutSets (``lhotse_io``).

Every input becomes a stream of :class:`Item` (one utterance: a file or a region of one, or
embedded audio bytes). :func:`open_inputs` validates every input before any work starts (a
missing input, an unknown kind or a manifest without a ``path`` column raises
:class:`ManifestError` naming the file); rows that are broken individually (bad JSON, a blank
path) become items with ``problem`` set, so the stage writes one error row for them and goes on.

Local paths are read with ``os``/``pathlib``; anything with a ``scheme://`` goes through fsspec.
Ids are stable across runs: the manifest's ``id`` column, else the path as written (folder
inputs: the path relative to the folder), plus ``#2``, ``#3`` ... for repeats.
"""

from __future__ import annotations

import csv
import json
import math
import os
import posixpath
import tarfile
from dataclasses import replace
from typing import Any, Iterator, Sequence

from lanser_fast.audio import AUDIO_EXTENSIONS
from lanser_fast.audio.decode import seconds
from lanser_fast.manifest.items import (
    Item,
    ManifestError,
    is_url,
    jsonl_lines,
    open_binary,
    open_text,
)
from lanser_fast.manifest.lhotse_io import CutsSource, is_cuts_manifest

MANIFEST_COLUMNS = ("path", "id", "offset_s", "duration_s", "transcript", "label")
PARQUET_BATCH_ROWS = 256  # rows per Parquet read: embedded audio makes rows large
_JSONL = (".jsonl", ".ndjson", ".json")
_CSV = (".csv", ".tsv")
_TAR = (".tar", ".tar.gz", ".tgz")
_LHOTSE_CUTS = ".jsonl.gz"  # a Lhotse CutSet (lhotse_io); a .jsonl is sniffed for cut shape
_TRANSCRIPT_ALIASES = ("transcript", "text", "sentence")  # HF datasets name it "text"





class Inputs:
    """The validated inputs of a run; iterating yields every :class:`Item` once, ids unique."""

    def __init__(self, sources: list["_Source"]):
        self.sources = sources

    def __iter__(self) -> Iterator[Item]:
        seen: dict[str, int] = {}
        for source in self.sources:
            for item in source.items():
                count = seen.get(item.id, 0)
                seen[item.id] = count + 1
                if count:
                    new_id = f"{item.id}#{count + 1}"
                    while new_id in seen:
                        count += 1
                        new_id = f"{item.id}#{count + 1}"
                    seen[new_id] = 1
                    item = replace(item, id=new_id)
                yield item


def open_inputs(inputs: Sequence[str | os.PathLike]) -> Inputs:
    """Validate ``inputs`` (folders, manifests, tar shards, audio files, fsspec URLs, globs)."""
    if not inputs:
        raise ManifestError("<inputs>", "no inputs given")
    sources: list[_Source] = []
    for raw in inputs:
        sources.extend(_sources_for(os.fspath(raw)))
    for source in sources:
        source.validate()
    return Inputs(sources)


# ----------------------------------------------------------------------------- dispatch


def _sources_for(spec: str) -> list["_Source"]:
    if any(ch in spec for ch in "*?["):
        fs, pattern = _fs(spec)
        matches = sorted(fs.glob(pattern))
        if not matches:
            raise ManifestError(spec, "the pattern matches nothing")
        proto = _protocol_prefix(spec)
        return [s for m in matches for s in _sources_for(proto + m if proto else m)]
    if is_url(spec):
        fs, path = _fs(spec)
        if not fs.exists(path):
            raise ManifestError(spec, "no such file or folder")
        is_dir = fs.isdir(path)
    else:
        if not os.path.lexists(spec):
            raise ManifestError(spec, "no such file or folder")
        is_dir = os.path.isdir(spec)
    if is_dir:
        return [_FolderSource(spec)]
    lower = spec.lower()
    if lower.endswith(_LHOTSE_CUTS) or lower.endswith(_JSONL):
        if is_cuts_manifest(spec):
            return [CutsSource(spec)]
    if lower.endswith(_JSONL):
        return [_JsonlSource(spec)]
    if lower.endswith(_CSV):
        return [_CsvSource(spec)]
    if lower.endswith(".parquet"):
        return [_ParquetSource(spec)]
    if lower.endswith(_TAR):
        return [_TarSource(spec)]
    if _ext(lower) in AUDIO_EXTENSIONS:
        return [_FileSource(spec)]
    raise ManifestError(spec, "unknown input kind: expected a folder, an audio file, a .jsonl/"
                              ".csv/.tsv/.parquet manifest, a Lhotse .jsonl.gz CutSet or a "
                              ".tar shard")


class _Source:
    def __init__(self, spec: str):
        self.spec = spec

    def validate(self) -> None:
        """Raise ManifestError if the input cannot be read at all."""

    def items(self) -> Iterator[Item]:
        raise NotImplementedError


class _FileSource(_Source):
    def items(self) -> Iterator[Item]:
        yield Item(id=self.spec, path=self.spec)


class _FolderSource(_Source):
    """Every file below the folder whose extension is an audio extension, sorted.

    Broken symlinks and directories named like audio files are listed too: they become error
    rows instead of vanishing from the accounting.
    """

    def items(self) -> Iterator[Item]:
        if is_url(self.spec):
            fs, root = _fs(self.spec)
            proto = _protocol_prefix(self.spec)
            names = sorted(fs.find(root, withdirs=False))
            for name in names:
                if _ext(name.lower()) in AUDIO_EXTENSIONS:
                    rel = posixpath.relpath(name, root.rstrip("/"))
                    yield Item(id=rel, path=proto + name if proto else name)
            return
        found = []
        for dirpath, dirnames, filenames in os.walk(self.spec):
            dirnames.sort()
            for name in filenames + [d for d in dirnames if _ext(d.lower()) in AUDIO_EXTENSIONS]:
                if _ext(name.lower()) in AUDIO_EXTENSIONS:
                    found.append(os.path.join(dirpath, name))
        for path in sorted(found):
            rel = os.path.relpath(path, self.spec).replace(os.sep, "/")
            yield Item(id=rel, path=path)


class _TableSource(_Source):
    """Shared row → Item logic of the JSONL, CSV and Parquet manifests."""

    def _base(self) -> str:
        if is_url(self.spec):
            return self.spec.rsplit("/", 1)[0]
        return os.path.dirname(os.path.abspath(self.spec))

    def _item(self, row: dict[str, Any], where: str) -> Item:
        raw_path = row.get("path")
        raw_id = row.get("id")
        if raw_path is None or str(raw_path).strip() == "":
            return Item(id=str(raw_id or where), path=where, problem=f"{where}: empty 'path'")
        raw_path = str(raw_path)
        try:
            offset = _opt_float(row.get("offset_s"), "offset_s")
            duration = _opt_float(row.get("duration_s"), "duration_s")
        except ValueError as exc:
            return Item(id=str(raw_id or raw_path), path=raw_path, problem=f"{where}: {exc}")
        if raw_id is None or str(raw_id) == "":
            raw_id = raw_path if offset is None and duration is None else (
                f"{raw_path}@{seconds(offset or 0)}+"
                f"{duration if duration is not None else 'end'}")  # ids of earlier runs kept
        return Item(
            id=str(raw_id),
            path=self._resolve(raw_path),
            offset_s=offset,
            duration_s=duration,
            transcript=_first_text(row, _TRANSCRIPT_ALIASES),
            label=_opt_str(row.get("label")),
        )

    def _resolve(self, path: str) -> str:
        if is_url(path) or os.path.isabs(path):
            return path
        if is_url(self.spec):
            return f"{self._base()}/{path}"
        return os.path.join(self._base(), path)


class _JsonlSource(_TableSource):
    def validate(self) -> None:
        with open_text(self.spec) as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        first = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ManifestError(self.spec,
                                            f"line {number} is not JSON: {exc}") from None
                    if not isinstance(first, dict) or "path" not in first:
                        raise ManifestError(self.spec, f"line {number} has no 'path' field "
                                                       f"(required; optional: {_optional()})")
                    return
        raise ManifestError(self.spec, "the manifest is empty")

    def items(self) -> Iterator[Item]:
        for where, line in jsonl_lines(self.spec):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Item(id=where, path=where, problem=f"{where}: not JSON ({exc})")
                continue
            if not isinstance(row, dict):
                yield Item(id=where, path=where, problem=f"{where}: not a JSON object")
                continue
            yield self._item(row, where)


class _CsvSource(_TableSource):
    def _reader(self, fh) -> csv.DictReader:
        return csv.DictReader(fh, delimiter="\t" if self.spec.lower().endswith(".tsv") else ",")

    def validate(self) -> None:
        with open_text(self.spec) as fh:
            header = self._reader(fh).fieldnames
        if not header:
            raise ManifestError(self.spec, "the manifest is empty (no header line)")
        if "path" not in header:
            raise ManifestError(self.spec, f"no 'path' column (columns: {', '.join(header)}; "
                                           f"optional: {_optional()})")

    def items(self) -> Iterator[Item]:
        with open_text(self.spec) as fh:
            reader = self._reader(fh)
            for row in reader:  # line_num: the file line the row ends on (blank lines count)
                clean = {k: (v if v != "" else None) for k, v in row.items() if k is not None}
                yield self._item(clean, f"{self.spec}:{reader.line_num}")


class _ParquetSource(_TableSource):
    """Parquet manifest with a ``path`` column, or the Hugging Face datasets audio layout: an
    ``audio`` struct column with ``bytes`` (and ``path``) fields, as People's Speech ships."""

    def _file(self):
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(open_binary(self.spec))
        except Exception as exc:  # noqa: BLE001 - any reader failure means "not readable"
            raise ManifestError(self.spec, f"not a readable Parquet file ({exc})") from None

    def _embedded(self, schema) -> bool:
        import pyarrow as pa

        if "audio" not in schema.names:
            return False
        kind = schema.field("audio").type
        return pa.types.is_struct(kind) and kind.get_field_index("bytes") >= 0

    def validate(self) -> None:
        schema = self._file().schema_arrow
        if "path" not in schema.names and not self._embedded(schema):
            raise ManifestError(self.spec, f"no 'path' column and no embedded 'audio' struct "
                                           f"(columns: {', '.join(schema.names)})")

    def items(self) -> Iterator[Item]:
        pfile = self._file()
        embedded = self._embedded(pfile.schema_arrow)
        stem = posixpath.basename(self.spec)
        index = 0
        for batch in pfile.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            for row in batch.to_pylist():
                where = f"{self.spec}:row {index}"
                if embedded:
                    yield self._embedded_item(row, stem, index, where)
                else:
                    yield self._item(row, where)
                index += 1

    def _embedded_item(self, row: dict[str, Any], stem: str, index: int, where: str) -> Item:
        audio = row.get("audio") or {}
        name = audio.get("path") or row.get("path") or f"row{index}"
        raw_id = row.get("id")
        item_id = str(raw_id) if raw_id not in (None, "") else f"{stem}/{name}"
        data = audio.get("bytes")
        if not data:
            return Item(id=item_id, path=f"{self.spec}/{name}",
                        problem=f"{where}: the audio struct holds no bytes")
        return Item(id=item_id, path=f"{self.spec}/{name}", data=bytes(data),
                    transcript=_first_text(row, _TRANSCRIPT_ALIASES),
                    label=_opt_str(row.get("label")))


class _TarSource(_Source):
    """A WebDataset shard: members grouped by key (the name up to the basename's first dot);
    the audio member is the one with an audio extension, ``.txt`` holds the transcript and
    ``.json`` may hold ``text``/``transcript``/``label``. Read as a stream, member by member."""

    def validate(self) -> None:
        try:
            with open_binary(self.spec) as fh, tarfile.open(fileobj=fh, mode="r|*") as tar:
                next(iter(tar), None)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ManifestError(self.spec, f"not a readable tar shard ({exc})") from None

    def items(self) -> Iterator[Item]:
        stem = posixpath.basename(self.spec)
        for stem_ in _TAR:
            if stem.lower().endswith(stem_):
                stem = stem[: -len(stem_)]
                break
        with open_binary(self.spec) as fh, tarfile.open(fileobj=fh, mode="r|*") as tar:
            key, group = None, {}
            try:
                for member in tar:
                    if not member.isfile():
                        continue
                    dirname, base = posixpath.split(member.name)
                    head, _, ext = base.partition(".")
                    member_key = posixpath.join(dirname, head)
                    if member_key != key and group:
                        yield self._item(stem, key, group)
                        group = {}
                    key = member_key
                    group[ext.lower()] = tar.extractfile(member).read()
            except (tarfile.TarError, OSError, EOFError) as exc:
                if group:
                    yield self._item(stem, key, group)
                    group = {}
                yield Item(id=f"{stem}/<truncated>", path=self.spec,
                           problem=f"{self.spec}: the shard is truncated or corrupt ({exc})")
            if group:
                yield self._item(stem, key, group)

    def _item(self, stem: str, key: str, group: dict[str, bytes]) -> Item:
        item_id = f"{stem}/{key}"
        meta: dict[str, Any] = {}
        if "json" in group:
            try:
                loaded = json.loads(group["json"])
                meta = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                meta = {}
        transcript = _first_text(meta, _TRANSCRIPT_ALIASES)
        if "txt" in group:
            transcript = group["txt"].decode("utf-8", errors="replace").strip()
        audio_ext = next((e for e in group if "." + e.rsplit(".", 1)[-1] in AUDIO_EXTENSIONS),
                         None)
        if audio_ext is None:
            return Item(id=item_id, path=f"{self.spec}/{key}", transcript=transcript,
                        problem=f"{self.spec}: sample {key!r} has no audio member "
                                f"(members: {', '.join(sorted(group))})")
        return Item(id=item_id, path=f"{self.spec}/{key}.{audio_ext}", data=group[audio_ext],
                    transcript=transcript, label=_opt_str(meta.get("label")))


# ----------------------------------------------------------------------------- helpers




def _fs(spec: str):
    import fsspec

    return fsspec.core.url_to_fs(spec)


def _protocol_prefix(spec: str) -> str:
    return spec.split("://", 1)[0] + "://" if is_url(spec) else ""





def _ext(name: str) -> str:
    return os.path.splitext(name)[1]


def _opt_float(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a number") from None
    if math.isnan(out):
        return None
    if math.isinf(out):
        raise ValueError(f"{name}={value!r} is not a finite number")
    return out


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _first_text(row: dict[str, Any], names: Sequence[str]) -> str | None:
    for name in names:
        if row.get(name) is not None:
            return str(row[name])
    return None


def _optional() -> str:
    return ", ".join(MANIFEST_COLUMNS[1:])
