"""Typed decode errors: each names the file and a machine-readable reason.

Every error carries ``kind`` (a stable short code written to the ``error`` column of result
rows, e.g. ``"not_audio"``) and a human sentence. Pipelines catch :class:`AudioError`, write one
error row and go on; nothing here is fatal to a run.
"""

from __future__ import annotations


class AudioError(Exception):
    """A file (or in-memory blob) that cannot be decoded to audio."""

    kind = "audio_error"

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")

    @property
    def row_text(self) -> str:
        """``"<kind>: <reason>"``, the text stored in an error row's ``error`` column."""
        return f"{self.kind}: {self.reason}"


class MissingFileError(AudioError):
    """The path does not exist (or is a symlink whose target does not)."""

    kind = "missing"


class NotAFileError(AudioError):
    """The path exists but is a directory or another non-regular file."""

    kind = "not_a_file"


class UnreadableFileError(AudioError):
    """The file exists but cannot be opened (permissions, I/O error)."""

    kind = "unreadable"


class EmptyFileError(AudioError):
    """The file has zero bytes."""

    kind = "empty_file"


class NotAudioError(AudioError):
    """No decoder recognises the content as audio (text, random bytes, video without audio)."""

    kind = "not_audio"


class UnsupportedCodecError(AudioError):
    """The container is recognised but its audio codec cannot be decoded here."""

    kind = "unsupported_codec"


class ZeroChannelsError(AudioError):
    """The header declares zero audio channels."""

    kind = "zero_channels"


class NoAudioDataError(AudioError):
    """A valid header with no samples behind it (zero-length audio, header only, or a
    truncated file with nothing readable)."""

    kind = "no_audio_data"


class NonFiniteSamplesError(AudioError):
    """Floating-point samples that are NaN or infinite."""

    kind = "non_finite"


class BadRegionError(AudioError):
    """``offset``/``duration`` ask for a region outside the audio or are negative."""

    kind = "bad_region"
