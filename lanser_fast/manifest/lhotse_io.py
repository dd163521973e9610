"""Lhotse cuts manifests (``CutSet.to_file`` JSONL, plain or gzipped) as an input.

A cut becomes one :class:`Item`: the cut's region of its recording's audio source, decoded by our
own decoder (mono, resampled), so a CutSet labels exactly like a JSONL manifest of the same
regions. lhotse is optional and imported only when such a manifest is given.

The lines are read by us and each one is deserialized by lhotse's own ``deserialize_item`` (what
``CutSet.from_jsonl_lazy`` does line by line): lazily, in lhotse's format, but a corrupt line
becomes one error row instead of ending the run. What our decoder cannot reproduce faithfully
becomes an item with ``problem`` set, never a silently different signal: mixed and padding cuts,
shell-command and Shar sources, and audio transforms other than resampling (speed and tempo
perturbation move the cut's start and duration into a different timeline).
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any, Iterator

from lanser_fast.manifest.items import Item, ManifestError, jsonl_lines

LHOTSE_INSTALL_HINT = "pip install 'lanser-fast[lhotse]'"
CUTS_GZ_SUFFIX = ".jsonl.gz"  # always read as a Lhotse manifest
CUT_TYPES = ("MonoCut", "MultiCut", "MixedCut", "PaddingCut", "Cut")  # "Cut": lhotse < 0.8
# Transforms whose output our decoder reproduces: it resamples to its own rate anyway.
HARMLESS_TRANSFORMS = ("Resample",)
LABEL_FIELD = "emotion"  # supervision custom field read as the item's label


def lhotse_available() -> bool:
    return importlib.util.find_spec("lhotse") is not None


def require_lhotse(purpose: str):
    """Import lhotse, or raise ImportError saying how to install it."""
    if not lhotse_available():
        raise ImportError(f"{purpose} needs lhotse, which is not installed: "
                          f"{LHOTSE_INSTALL_HINT}")
    import lhotse

    return lhotse


def looks_like_cut(row: Any) -> bool:
    """Whether a decoded JSON line has the shape of a serialized Lhotse cut."""
    if not isinstance(row, dict):
        return False
    return row.get("type") in CUT_TYPES or ("recording" in row and "path" not in row)


def is_cuts_manifest(spec: str) -> bool:
    """Whether ``spec`` is a Lhotse cuts manifest: any ``.jsonl.gz``, or a JSONL file whose first
    JSON line is shaped like a cut. Needs no lhotse; unreadable files answer False."""
    if spec.lower().endswith(CUTS_GZ_SUFFIX):
        return True
    try:
        first = _first_row(spec)
    except (OSError, ValueError):
        return False
    return looks_like_cut(first)


class CutsSource:
    """The cuts of one Lhotse JSONL manifest, read line by line."""

    def __init__(self, spec: str):
        self.spec = spec

    def validate(self) -> None:
        try:
            first = _first_row(self.spec)
        except (OSError, ValueError) as exc:
            raise ManifestError(self.spec, f"not a readable Lhotse cuts manifest ({exc})") from None
        if first is None:
            raise ManifestError(self.spec, "the manifest is empty")
        if not looks_like_cut(first):
            raise ManifestError(self.spec, f"not a Lhotse cuts manifest: the first line is "
                                           f"{_describe(first)}")
        try:
            require_lhotse("a Lhotse cuts manifest")
        except ImportError as exc:
            raise ManifestError(self.spec, str(exc)) from None

    def items(self) -> Iterator[Item]:
        from lhotse.cut import Cut
        from lhotse.serialization import deserialize_item

        for where, line in jsonl_lines(self.spec):
            try:
                cut = deserialize_item(json.loads(line))
            except Exception as exc:  # noqa: BLE001 - any decoding failure is a bad line
                yield Item(id=where, path=where,
                           problem=f"{where}: not a Lhotse cut ({type(exc).__name__}: {exc})")
                continue
            if not isinstance(cut, Cut):
                yield Item(id=where, path=where,
                           problem=f"{where}: a {type(cut).__name__}, not a cut")
                continue
            yield cut_to_item(cut, container=self.spec)


def cut_to_item(cut: Any, container: str = "<cuts>") -> Item:
    """One :class:`Item` for a Lhotse cut; what we cannot decode faithfully sets ``problem``.

    ``container`` names the manifest, for the path of in-memory audio and for messages.
    """
    from lhotse.cut import MonoCut, MultiCut

    transcript, label = _supervision_text_and_label(cut)
    base = dict(id=str(cut.id), offset_s=float(cut.start), duration_s=float(cut.duration),
                transcript=transcript, label=label)
    where = f"{container}: cut {cut.id!r}"
    if not isinstance(cut, (MonoCut, MultiCut)):
        return Item(path=f"{container}/{cut.id}", **base,
                    problem=f"{where}: a {type(cut).__name__} (several recordings mixed, or "
                            "padding) is not supported; pass the underlying MonoCuts")
    if cut.recording is None or not cut.recording.sources:
        return Item(path=f"{container}/{cut.id}", **base,
                    problem=f"{where}: has no recording with an audio source")
    source = _pick_source(cut)
    kind = source.type
    path = source.source if isinstance(source.source, str) else f"{container}/{cut.id}"
    transforms = [type(t).__name__ for t in (cut.recording.transforms or [])]
    unsupported = [name for name in transforms if name not in HARMLESS_TRANSFORMS]
    if unsupported:
        return Item(path=path, **base,
                    problem=f"{where}: the recording carries audio transforms "
                            f"({', '.join(unsupported)}) that lanser-fast does not apply; "
                            "save the transformed audio to files first")
    if kind in ("file", "url"):
        return Item(path=path, **base)
    if kind == "memory":
        if isinstance(source.source, (bytes, bytearray)):
            return Item(path=path, data=bytes(source.source), **base)
        return Item(path=path, **base,
                    problem=f"{where}: a 'memory' audio source that holds no bytes")
    if kind == "command":
        return Item(path=path, **base,
                    problem=f"{where}: audio from a shell command ({source.source!r}) is not "
                            "supported; run the command to a file and point the cut at it")
    return Item(path=path, **base,
                problem=f"{where}: audio source type {kind!r} is not supported (file, url and "
                        "memory are); for Lhotse Shar, export the cuts with file sources")


def _pick_source(cut: Any):
    """The source holding a MonoCut's channel, else the recording's first source."""
    sources = cut.recording.sources
    channel = getattr(cut, "channel", None)
    if isinstance(channel, int):
        for source in sources:
            if channel in source.channels:
                return source
    return sources[0]


def _supervision_text_and_label(cut: Any) -> tuple[str | None, str | None]:
    supervisions = sorted(cut.supervisions or [], key=lambda s: s.start)
    texts = [s.text.strip() for s in supervisions if s.text and s.text.strip()]
    label = None
    for sup in supervisions:
        value = (sup.custom or {}).get(LABEL_FIELD)
        if value is not None:
            label = str(value)
            break
    return (" ".join(texts) if texts else None), label


def _first_row(spec: str) -> Any:
    """The first non-blank line of ``spec`` decoded as JSON (None for an empty file)."""
    for _, line in jsonl_lines(spec):
        return json.loads(line)
    return None


def _describe(row: Any) -> str:
    if not isinstance(row, dict):
        return f"a JSON {type(row).__name__}"
    if "sources" in row:
        return ("a Recording (a recordings manifest); build cuts with "
                "CutSet.from_manifests(recordings=..., supervisions=...) and pass those")
    if "recording_id" in row:
        return "a SupervisionSegment (a supervisions manifest); pass a cuts manifest"
    return f"an object with keys {', '.join(sorted(row)[:8])}"
