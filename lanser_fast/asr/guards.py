"""Guards against Whisper's known failure modes; a guard that fires adds a flag to ``asr_flags``.

Flagged rows keep their transcript: the labeling stage (or the user) decides what to drop.

- ``no_speech``: the input is silent (RMS below -60 dBFS: not decoded, empty transcript), or
  the model's no-speech probability is above ``no_speech_threshold`` and the
  average token log-probability below ``logprob_threshold`` (openai-whisper's and
  faster-whisper's rule for skipping a silent window; defaults 0.6 and -1.0).
- ``repetition``: the transcript's gzip-style compression ratio (UTF-8 bytes / zlib-compressed
  bytes) is above ``compression_ratio_threshold`` (2.4, as openai-whisper): looping output.
- ``too_many_tokens``: more than ``max_tokens_per_s`` text tokens per second of audio (default
  12; fast read speech is about 4): hallucinated text over silence or noise.
- ``max_tokens``: decoding stopped at its token limit (``max_new_tokens``, or the utterance's
  ``token_rate_cap``) without ending: the transcript is cut.
- ``vad_no_speech``: voice activity detection found no speech in a long file (one row, empty
  transcript, nothing decoded).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

FLAG_NO_SPEECH = "no_speech"
FLAG_REPETITION = "repetition"
FLAG_TOO_MANY_TOKENS = "too_many_tokens"
FLAG_MAX_TOKENS = "max_tokens"
FLAG_VAD_NO_SPEECH = "vad_no_speech"
SILENCE_DBFS = -60.0  # RMS below this (digital silence, a muted channel) is not decoded


@dataclass(frozen=True)
class GuardConfig:
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    max_tokens_per_s: float = 12.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.no_speech_threshold <= 1.0:
            raise ValueError(f"no_speech_threshold {self.no_speech_threshold} must lie in [0, 1]")
        if self.compression_ratio_threshold <= 0 or self.max_tokens_per_s <= 0:
            raise ValueError("compression_ratio_threshold and max_tokens_per_s must be positive")


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def asr_flags(decoded, duration_s: float, config: GuardConfig = GuardConfig()) -> list[str]:
    """The guards that fire for one decoded utterance (a ``whisper_decode.Decoded``)."""
    flags = []
    if (decoded.no_speech_prob > config.no_speech_threshold
            and decoded.avg_logprob < config.logprob_threshold):
        flags.append(FLAG_NO_SPEECH)
    if compression_ratio(decoded.text) > config.compression_ratio_threshold:
        flags.append(FLAG_REPETITION)
    if len(decoded.tokens) > config.max_tokens_per_s * max(duration_s, 1e-3):
        flags.append(FLAG_TOO_MANY_TOKENS)
    if not decoded.ended:
        flags.append(FLAG_MAX_TOKENS)
    return flags


def is_silent(samples: np.ndarray, floor_dbfs: float = SILENCE_DBFS) -> bool:
    """Whether ``samples`` (float, full scale 1.0) have an RMS level below ``floor_dbfs``: Whisper
    would only hallucinate there, so such input gets an empty transcript flagged ``no_speech``."""
    if len(samples) == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return rms < 10 ** (floor_dbfs / 20)
