"""Cut long audio into Whisper-sized utterances with the Silero VAD model of faster-whisper.

faster-whisper ships Silero VAD v6 as ONNX (``faster_whisper/assets``) and runs it offline with
onnxruntime: ``get_speech_timestamps`` gives speech chunks (start/end samples, ``speech_pad_ms``
added on both sides, chunks longer than ``max_speech_s`` split at the last silence or hard).
``speech_segments`` then merges neighbouring chunks into segments of at most ``max_segment_s``
seconds (Whisper's 30 s window). A segment is one contiguous span of the file, silences between
its chunks included, so its offset and duration name exactly the samples given to the model.

Silero runs only where there is sound: stretches whose level stays below ``SILENCE_DBFS`` for at
least ``QUIET_GAP_S`` (digital silence, a muted line) are skipped, so a long recording that is
mostly silent costs the VAD its sounding parts only. Each sounding region keeps a margin of
``REGION_MARGIN_S`` of its quiet surroundings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lanser_fast.audio import SAMPLE_RATE

WINDOW_SAMPLES = 512  # one Silero VAD decision per 32 ms at 16 kHz
SILENCE_DBFS = -60.0  # quieter than this is not sent to Silero
QUIET_GAP_S = 4.0  # quiet stretches shorter than this stay inside a region
REGION_MARGIN_S = 1.0  # quiet audio kept on each side of a sounding region
FRAME_S = 0.1  # level measured per 100 ms


@dataclass(frozen=True)
class VadConfig:
    threshold: float = 0.5  # speech probability that starts a chunk
    min_speech_ms: int = 250  # shorter chunks are dropped
    min_silence_ms: int = 500  # a chunk ends after this much silence
    speech_pad_ms: int = 200  # added to both sides of every chunk
    max_segment_s: float = 30.0  # a merged segment never exceeds this (Whisper's window)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"VAD threshold {self.threshold} must lie strictly between 0 and 1")
        if not 1.0 <= self.max_segment_s <= 30.0:
            raise ValueError(f"max_segment_s {self.max_segment_s} must lie in [1, 30] seconds")
        if min(self.min_speech_ms, self.min_silence_ms, self.speech_pad_ms) < 0:
            raise ValueError("VAD durations must not be negative")


def speech_chunks(audio: np.ndarray, config: VadConfig = VadConfig()) -> list[tuple[int, int]]:
    """Silero VAD speech chunks of 16 kHz ``audio`` as (start, end) samples, padding included,
    each at most ``config.max_segment_s`` long."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=config.threshold, min_speech_duration_ms=config.min_speech_ms,
                         min_silence_duration_ms=config.min_silence_ms,
                         speech_pad_ms=config.speech_pad_ms,
                         max_speech_duration_s=config.max_segment_s)
    audio = np.asarray(audio, np.float32)
    chunks = []
    for first, last in sounding_regions(audio):
        for chunk in get_speech_timestamps(audio[first:last], options, SAMPLE_RATE):
            chunks.append({"start": first + chunk["start"], "end": first + chunk["end"]})
    limit = int(config.max_segment_s * SAMPLE_RATE)
    out = []
    for chunk in chunks:  # faster-whisper already splits at the limit; guarantee it anyway
        start, end = int(chunk["start"]), int(chunk["end"])
        for piece in range(start, end, limit):
            out.append((piece, min(end, piece + limit)))
    return out


def sounding_regions(audio: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) samples of the stretches of ``audio`` that are not silent, each with
    ``REGION_MARGIN_S`` of margin; quiet gaps under ``QUIET_GAP_S`` do not split a region."""
    frame = int(FRAME_S * SAMPLE_RATE)
    frames = len(audio) // frame
    if frames == 0:
        return [(0, len(audio))] if len(audio) else []
    power = np.square(audio[: frames * frame].reshape(frames, frame), dtype=np.float64).mean(1)
    loud = np.flatnonzero(power >= 10 ** (SILENCE_DBFS / 10))
    if len(audio) > frames * frame and np.square(audio[frames * frame:]).mean() >= \
            10 ** (SILENCE_DBFS / 10):
        loud = np.append(loud, frames)  # the partial last frame
    regions: list[list[int]] = []
    gap = int(QUIET_GAP_S / FRAME_S)
    for index in loud:
        if regions and index - regions[-1][1] <= gap:
            regions[-1][1] = index
        else:
            regions.append([index, index])
    margin = int(REGION_MARGIN_S * SAMPLE_RATE)
    return [(max(0, first * frame - margin), min(len(audio), (last + 1) * frame + margin))
            for first, last in regions]


def merge_chunks(chunks: list[tuple[int, int]], max_samples: int) -> list[tuple[int, int]]:
    """Neighbouring chunks joined into contiguous spans of at most ``max_samples``."""
    segments: list[tuple[int, int]] = []
    for start, end in chunks:
        if segments and end - segments[-1][0] <= max_samples:
            segments[-1] = (segments[-1][0], max(end, segments[-1][1]))
        else:
            segments.append((start, end))
    return segments


def speech_segments(audio: np.ndarray, config: VadConfig = VadConfig()) -> list[tuple[int, int]]:
    """(start, end) samples of the ≤ ``max_segment_s`` segments that cover the speech."""
    return merge_chunks(speech_chunks(audio, config), int(config.max_segment_s * SAMPLE_RATE))
