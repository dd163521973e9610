"""faster-whisper's feature semantics, for token parity with ``WhisperModel.transcribe``.

faster-whisper (1.2) computes the log-mel of the whole clip with only 160 zero samples appended
(reflect-padded STFT, last frame dropped), floors and scales it with the maximum over those
frames, keeps ``len // 160`` frames and then pads the 30 s window with **zeros after
normalization**. openai-whisper and Hugging Face (our default, ``log_mel``) pad the audio with
zeros to 30 s first, so padded frames hold the floored log of silence instead of 0, and the
frames at the clip's end differ. Use this mode only to reproduce faster-whisper's transcripts.
"""

from __future__ import annotations

import numpy as np
import torch

from lanser_fast.features.filters import hann_window, mel_filters
from lanser_fast.features.presets import Preset, get_preset

TAIL_PADDING = 160  # samples faster-whisper appends before its STFT


def log_mel_faster_whisper(wave: np.ndarray, preset: str | Preset = "whisper-80") -> np.ndarray:
    """(n_mels, window frames) float32 features of one 16 kHz clip of at most 30 s."""
    preset = get_preset(preset)
    if not preset.min_samples:
        raise ValueError(f"{preset.name} is not a Whisper preset (no 30 s window)")
    window_frames = preset.min_samples // preset.hop_length  # 3000
    audio = torch.from_numpy(np.concatenate([np.asarray(wave, np.float32),
                                             np.zeros(TAIL_PADDING, np.float32)]))
    window = torch.from_numpy(hann_window(preset.n_fft).copy())
    stft = torch.stft(audio, preset.n_fft, preset.hop_length, window=window, center=True,
                      pad_mode="reflect", return_complex=True)
    power = stft[:, :-1].abs() ** 2
    mel = torch.from_numpy(mel_filters(preset).copy()) @ power
    log = torch.log10(torch.clamp(mel, min=1e-10))
    log = (torch.maximum(log, log.max() - 8.0) + 4.0) / 4.0
    content = log[:, : len(wave) // preset.hop_length][:, :window_frames]
    out = np.zeros((preset.n_mels, window_frames), np.float32)
    out[:, : content.shape[1]] = content.numpy()
    return out
