"""Decode any audio file or in-memory blob to 16 kHz mono float32.

Trade-off: libsndfile (through soundfile) is tried first because it decodes WAV/FLAC/OGG/Opus/MP3
without an FFmpeg process or container demuxing and seeks sample-accurately; PyAV (which bundles
FFmpeg) takes everything libsndfile does not know (M4A/AAC, WebM/MKV, ...). Two ways to reach the
target rate (``resampler``), both block by block (a 6-channel file never holds six float copies):

- ``soxr`` (the default, the SER front end): channels averaged, then soxr's HQ resampler on
  float32; the best-measured quality;
- ``ffmpeg`` (the ASR path): FFmpeg's libswresample through PyAV with its default filter,
  FFmpeg's downmix matrix and 16-bit output, exactly what openai-whisper's ``load_audio`` (the
  ffmpeg CLI) and faster-whisper's ``decode_audio`` feed Whisper: bit-identical to
  ``decode_audio`` on 16-bit files (tested), so Whisper sees the input its references see.

Every failure is an :class:`~lanser_fast.audio.errors.AudioError` naming the source and the
reason; a file whose tail is unreadable returns what could be read with the ``"truncated"`` flag.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
from dataclasses import dataclass
from typing import BinaryIO, Union

import numpy as np

from lanser_fast.audio.errors import (
    AudioError,
    BadRegionError,
    EmptyFileError,
    MissingFileError,
    NoAudioDataError,
    NonFiniteSamplesError,
    NotAFileError,
    NotAudioError,
    UnreadableFileError,
    UnsupportedCodecError,
    ZeroChannelsError,
)

SAMPLE_RATE = 16_000  # Hz: what Whisper and the SER front end consume
# PyAV paths decode short offsets from the start (sample-exact); past this they seek, exact to
# the container's timestamp resolution (1 ms for Matroska/WebM).
SEEK_MIN_OFFSET_S = 30.0
# Lossy decoders (AAC, Vorbis, Opus) need packets before the region to settle after a seek.
SEEK_PREROLL_S = 0.5
RESAMPLE_QUALITY = "HQ"  # soxr quality preset (the library's default)
RESAMPLERS = ("soxr", "ffmpeg")
# FFmpeg's default channel layout per channel count (av_channel_layout_default): what its WAV
# demuxer assumes without a channel mask, so libsndfile's blocks get FFmpeg's downmix matrix
FFMPEG_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1",
                  8: "7.1"}
READ_BLOCK_FRAMES = 1 << 16  # frames per libsndfile read: bounds the multi-channel float copy
SALVAGE_BLOCK_FRAMES = 1024  # after a read error, re-read in small blocks to keep what is readable

# Flags a successful decode can carry (stored in result rows' flag lists).
# the file ends early or has an unreadable tail: decoded what was there
FLAG_TRUNCATED = "truncated"
FLAG_REGION_PAST_END = "region_past_end"  # offset + duration asked for more than the file holds

AudioSource = Union[str, os.PathLike, bytes, bytearray, memoryview]


@dataclass(frozen=True)
class Audio:
    """Decoded audio, mono float32 at ``sample_rate``."""

    samples: np.ndarray  # (n_samples,) float32
    sample_rate: int  # rate of ``samples`` (16 kHz unless asked otherwise)
    source_rate: int  # rate stored in the file
    source_channels: int  # channel count stored in the file (before the downmix)
    flags: tuple[str, ...] = ()  # FLAG_* values

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def load_audio(
    source: AudioSource,
    *,
    offset_s: float = 0.0,
    duration_s: float | None = None,
    sample_rate: int = SAMPLE_RATE,
    name: str | None = None,
    resampler: str = "soxr",
) -> Audio:
    """Decode ``source`` (a path or the bytes of a file) to mono float32 at ``sample_rate``.

    ``offset_s``/``duration_s`` select a region; the decoder seeks to it instead of decoding
    from the start where the format allows. ``name`` labels in-memory sources in errors.
    ``resampler``: ``soxr`` (float, HQ) or ``ffmpeg`` (libswresample, 16-bit, as Whisper's
    reference implementations read audio). Raises an :class:`AudioError` subclass naming the
    source and the reason.
    """
    label = name or (os.fsdecode(source) if isinstance(source, (str, os.PathLike)) else "<bytes>")
    if not (math.isfinite(offset_s) and offset_s >= 0) or (
            duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0)):
        raise BadRegionError(label, f"offset_s={seconds(offset_s)}, duration_s="
                                    f"{None if duration_s is None else seconds(duration_s)}: "
                                    "offset must be finite and >= 0, duration finite and > 0")
    if resampler not in RESAMPLERS:
        raise ValueError(f"unknown resampler {resampler!r}; choose {' or '.join(RESAMPLERS)}")
    mixer = _Mixer(label, sample_rate if resampler == "ffmpeg" else None)
    with _open_source(source, label) as fileobj:
        try:
            rate, channels, flags = _decode_soundfile(fileobj, label, offset_s, duration_s, mixer)
        except _NotForLibsndfile:
            fileobj.seek(0)
            mixer = _Mixer(label, mixer.target_rate)
            rate, channels, flags = _decode_pyav(fileobj, label, offset_s, duration_s, mixer)
    mono = mixer.result()
    if resampler == "soxr" and rate != sample_rate:
        mono = resample(mono, rate, sample_rate)
    return Audio(mono, sample_rate, rate, channels, tuple(flags))


def seconds(value: float) -> str:
    """A time for messages and ids: millisecond digits, without hundreds of digits for a huge
    value (``1e300`` is written ``1e+300``)."""
    return f"{value:.3f}" if abs(value) < 1e9 else f"{value:.6g}"


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """soxr resampling of a mono float32 signal (quality ``RESAMPLE_QUALITY``)."""
    import soxr

    if from_rate == to_rate or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    out = soxr.resample(samples, from_rate, to_rate, quality=RESAMPLE_QUALITY)
    return np.ascontiguousarray(out, dtype=np.float32)


def downmix(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,): the mean of the channels (any channel count)."""
    if block.shape[1] == 1:
        return block[:, 0]
    return block.mean(axis=1, dtype=np.float32)


class _Mixer:
    """Collects decoded (frames, channels) float32 blocks as one mono signal: averaged at the
    source rate, or (``target_rate`` set) downmixed and resampled by libswresample to 16-bit at
    ``target_rate``, block by block. Non-finite samples are an error either way."""

    def __init__(self, label: str, target_rate: int | None):
        self.label, self.target_rate = label, target_rate
        self.blocks: list[np.ndarray] = []
        self.frames = 0  # source frames taken
        self.samples = self.bad = 0  # decoded samples (all channels), non-finite ones
        self._resampler = None

    def add(self, block: np.ndarray, rate: int, layout: str | None = None) -> None:
        """``block`` (frames, channels) at ``rate``; ``layout`` FFmpeg's channel layout name
        (default: FFmpeg's default layout for the channel count)."""
        self.frames += len(block)
        self.samples += block.size
        if not np.isfinite(block).all():
            self.bad += int(np.count_nonzero(~np.isfinite(block)))
        if self.bad:  # an error once decoding ends (counted over the whole signal)
            return
        if self.target_rate is None:
            self.blocks.append(downmix(block))
            return
        import av

        if self._resampler is None:
            self._resampler = av.audio.resampler.AudioResampler(
                format="s16", layout="mono", rate=self.target_rate)
        layout = layout or FFMPEG_LAYOUTS.get(block.shape[1])
        if layout is None:  # more channels than FFmpeg has a default layout for: averaged
            block, layout = downmix(block)[:, None], "mono"
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block, np.float32).reshape(1, -1), format="flt", layout=layout)
        frame.sample_rate = rate
        self._take(self._resampler.resample(frame))

    def result(self) -> np.ndarray:
        if self.bad:
            raise NonFiniteSamplesError(self.label, f"{self.bad} of {self.samples} samples are "
                                                    "NaN or infinite")
        if self._resampler is not None:
            self._take(self._resampler.resample(None))  # the filter's tail
            self._resampler = None
            if not self.blocks:
                return np.zeros(0, np.float32)
            return (np.concatenate(self.blocks).astype(np.float32) / 32768.0)
        return _concat(self.blocks)

    def _take(self, frames) -> None:
        self.blocks.extend(f.to_ndarray()[0] for f in frames)


class _NotForLibsndfile(Exception):
    """libsndfile does not recognise the content: let PyAV try."""


def _open_source(source: AudioSource, label: str) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise EmptyFileError(label, "0 bytes of data")
        return io.BytesIO(bytes(source))
    path = os.fspath(source)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise MissingFileError(label, f"broken symlink to {os.readlink(path)!r}") from None
        raise MissingFileError(label, "no such file") from None
    except OSError as exc:
        raise UnreadableFileError(label, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise NotAFileError(label, "is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise NotAFileError(label, "not a regular file")
    if st.st_size == 0:
        raise EmptyFileError(label, "0 bytes on disk")
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by load_audio's with-block
    except PermissionError:
        raise UnreadableFileError(label, "permission denied") from None
    except OSError as exc:
        raise UnreadableFileError(label, exc.strerror or str(exc)) from None


def _decode_soundfile(fileobj: BinaryIO, label: str, offset_s: float, duration_s: float | None,
                      mixer: _Mixer):
    import soundfile as sf

    try:
        snd = sf.SoundFile(fileobj)
    except sf.LibsndfileError as exc:
        if _mentions_zero_channels(str(exc)):
            raise ZeroChannelsError(label, "the header declares 0 channels") from None
        raise _NotForLibsndfile() from None
    with snd:
        rate, channels, frames = snd.samplerate, snd.channels, snd.frames
        if channels <= 0:
            raise ZeroChannelsError(label, "the header declares 0 channels")
        if rate <= 0:
            raise NotAudioError(label, f"invalid sample rate {rate}")
        # libsndfile shrinks `frames` to the bytes present and notes it in its log.
        flags = [FLAG_TRUNCATED] if _log_says_truncated(snd.extra_info) else []
        start = round(offset_s * rate)
        want = frames - start if duration_s is None else round(duration_s * rate)
        if frames == 0:
            raise NoAudioDataError(label, "truncated: no readable audio data" if flags
                                   else "zero-length audio (no sample frames)")
        if start >= frames:
            raise BadRegionError(label, f"offset {seconds(offset_s)} s is past the end "
                                        f"({frames / rate:.3f} s)")
        if start + want > frames:
            flags.append(FLAG_REGION_PAST_END)
            want = frames - start
        if start:
            snd.seek(start)
        got = _read_frames(snd, start, want, mixer)
        if got < want and FLAG_TRUNCATED not in flags:
            flags.append(FLAG_TRUNCATED)
        if not got:
            raise NoAudioDataError(label, "truncated: no readable audio data")
    return rate, channels, flags


def _read_frames(snd, start: int, want: int, mixer: _Mixer) -> int:
    """Read up to ``want`` frames into ``mixer`` block by block; stop quietly at the first
    unreadable block (a failed large read is retried in small blocks so only the damaged part
    is lost). Returns the frames read."""
    import soundfile as sf

    got, block = 0, READ_BLOCK_FRAMES
    while got < want:
        try:
            data = snd.read(min(block, want - got), dtype="float32", always_2d=True)
        except sf.LibsndfileError:
            if block == SALVAGE_BLOCK_FRAMES:
                break
            block = SALVAGE_BLOCK_FRAMES
            try:
                snd.seek(start + got)
            except sf.LibsndfileError:
                break
            continue
        if len(data) == 0:
            break
        mixer.add(data, snd.samplerate)
        got += len(data)
    return got


def _decode_pyav(fileobj: BinaryIO, label: str, offset_s: float, duration_s: float | None,
                 mixer: _Mixer):
    import av

    try:
        container = av.open(fileobj, mode="r")
    except av.error.FFmpegError as exc:
        raise NotAudioError(label, f"not a recognised audio format ({_av_reason(exc)})") from None
    with container:
        streams = container.streams.audio
        if not streams:
            raise NotAudioError(label, "the container has no audio stream")
        stream = streams[0]
        ctx = stream.codec_context
        if ctx is None or ctx.codec is None:
            raise UnsupportedCodecError(label, "no decoder for the audio stream's codec")
        if ctx.channels == 0:
            # FFmpeg falls back to the file extension when probing fails and then reports an
            # empty 0-channel stream: that is content it does not recognise, not a header
            # declaring zero channels (libsndfile reports those for WAV/AIFF above).
            raise NotAudioError(label, "no decodable audio stream (probing found no channels)")
        return _pyav_read(container, stream, label, offset_s, duration_s, mixer)


def _pyav_read(container, stream, label, offset_s, duration_s, mixer: _Mixer):
    import av

    # Region times count from the first decoded sample (what a full decode returns first), not
    # from the container's zero: codec delay makes these differ (Vorbis in Matroska: 3 ms).
    start_s, end_s = offset_s, None if duration_s is None else offset_s + duration_s
    if offset_s > SEEK_MIN_OFFSET_S:
        origin = _first_frame_time(container, stream)
        start_s += origin
        end_s = None if end_s is None else end_s + origin
        try:
            target = max(0.0, start_s - SEEK_PREROLL_S)
            container.seek(int(target / stream.time_base), stream=stream, backward=True)
        except av.error.FFmpegError:
            # Not seekable (some raw streams): decode from the start and trim instead.
            container.seek(0, stream=stream)
    rate, channels, flags = 0, 0, []
    # Only the first frame's timestamp anchors the timeline: containers such as Matroska keep
    # millisecond timestamps, so sample counting from there is exact where pts are not.
    cursor = None  # time (s) just after the last decoded sample
    try:
        for frame in container.decode(stream):
            data = _frame_to_float(frame)  # (channels, samples)
            if not rate:
                rate, channels = frame.sample_rate, data.shape[0]
            t0 = cursor if cursor is not None else (frame.time or 0.0)
            cursor = t0 + data.shape[1] / rate
            lo = max(0, round((start_s - t0) * rate))
            hi = data.shape[1] if end_s is None else min(data.shape[1], round((end_s - t0) * rate))
            if hi > lo:
                mixer.add(data[:, lo:hi].T, rate, frame.layout.name)
            if end_s is not None and cursor >= end_s:
                break
    except av.error.FFmpegError as exc:
        if not mixer.frames:
            raise NoAudioDataError(label, f"no readable audio data ({_av_reason(exc)})") from None
        flags.append(FLAG_TRUNCATED)
    if not rate:
        raise NoAudioDataError(label, "zero-length audio (no decodable frames)")
    if not mixer.frames:
        if offset_s > 0 and cursor is not None and cursor <= start_s:
            raise BadRegionError(label, f"offset {seconds(offset_s)} s is past the end "
                                        f"({cursor:.3f} s)")
        raise NoAudioDataError(label, "zero-length audio")
    if duration_s is not None and mixer.frames < round(duration_s * rate) - 1:
        flags.append(FLAG_REGION_PAST_END)
    return rate, channels, flags


def _first_frame_time(container, stream) -> float:
    """Time of the first decodable frame (the full decode's first sample); rewinds after."""
    import av

    time = 0.0
    try:
        for frame in container.decode(stream):
            time = frame.time or 0.0
            break
    except av.error.FFmpegError:
        pass
    container.seek(0, stream=stream)
    return time


_INT_SCALE = {"s16": 2.0**15, "s32": 2.0**31, "s64": 2.0**63}


def _frame_to_float(frame) -> np.ndarray:
    """A PyAV audio frame as (channels, samples) float32 in [-1, 1]."""
    data = frame.to_ndarray()
    name = frame.format.name.rstrip("p")
    if not frame.format.is_planar:  # packed: (1, samples * channels), interleaved
        data = data.reshape(-1, frame.layout.nb_channels).T
    if name in ("flt", "dbl"):
        return data.astype(np.float32, copy=False)
    if name == "u8":
        return (data.astype(np.float32) - 128.0) / 128.0
    return (data / _INT_SCALE[name]).astype(np.float32)


def _concat(blocks: list[np.ndarray]) -> np.ndarray:
    if len(blocks) == 1:
        return np.ascontiguousarray(blocks[0], dtype=np.float32)
    return np.concatenate(blocks).astype(np.float32, copy=False)


def _mentions_zero_channels(message: str) -> bool:
    text = message.lower()
    return "channel" in text and ("0" in text or "zero" in text)


# Writers that stream (ffmpeg and espeak-ng to a pipe) put 0 or a huge placeholder in the header.
_STREAMING_SIZE_MIN = 0x7FFF0000


def _log_says_truncated(log: str) -> bool:
    """libsndfile's log notes ``data : <declared> (should be <present>)`` when the data chunk
    is shorter than its header says; streaming writers' placeholder sizes do not count."""
    match = re.search(r"^data\s*:\s*(\S+)\s*\(should be (\d+)\)", log, re.MULTILINE)
    if not match:
        return False
    declared = int(match[1], 16) if match[1].lower().startswith("0x") else int(match[1])
    return 0 < declared < _STREAMING_SIZE_MIN and declared > int(match[2])


def _av_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


__all__ = [
    "SAMPLE_RATE",
    "FLAG_TRUNCATED",
    "FLAG_REGION_PAST_END",
    "Audio",
    "AudioError",
    "AudioSource",
    "downmix",
    "load_audio",
    "resample",
]
