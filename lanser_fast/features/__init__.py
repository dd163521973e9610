"""Log-mel front end: Whisper-exact (``whisper-80``, ``whisper-128``) and SER (``ser-64``)."""

from lanser_fast.features.filters import hann_window, mel_filters, slaney_mel_filters
from lanser_fast.features.logmel import BACKENDS, log_mel, log_mel_ref
from lanser_fast.features.presets import (
    PRESETS,
    WHISPER_SAMPLES,
    Preset,
    get_preset,
    whisper_preset,
)

__all__ = [
    "BACKENDS",
    "PRESETS",
    "WHISPER_SAMPLES",
    "Preset",
    "get_preset",
    "hann_window",
    "log_mel",
    "log_mel_ref",
    "mel_filters",
    "slaney_mel_filters",
    "whisper_preset",
]
