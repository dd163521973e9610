"""faster-whisper's feature semantics, for token parity with ``WhisperModel.transcribe``.

faster-whisper (1.2) computes the log-mel of the whole clip with only 160 zero samples appended
(reflect-padded STFT, last frame dropped), floors and scales it with the maximum over those
frames, keeps ``len // 160`` frames and then pads the 30 s window with **zeros after
normalization**. openai-whisper and Hugging Face (our default, ``log_mel``) pad the audio with
zeros to 30 s first, so padded frames hold the floored log of silence instead of 0, and the
frames at the clip's end differ.

``log_mel_faster_whisper`` is the reference (torch.stft, one clip); ``faster_whisper_features``
computes the same for a batch through ``log_mel`` (the compiled op on CPU, Triton on CUDA): a
preset without the 30 s padding on each clip plus its 160 zeros, whose per-utterance statistics
then cover exactly faster-whisper's frames, cut to ``len // 160`` frames and zero-padded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

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


def faster_whisper_features(clips: Sequence[np.ndarray], preset: str | Preset = "whisper-80", *,
                            device: str | torch.device = "cpu", threads: int = 0) -> torch.Tensor:
    """(B, n_mels, window frames) float32 features of 16 kHz clips of at most 30 s each, equal
    to ``log_mel_faster_whisper`` of each clip, computed as one batch on ``device``."""
    from lanser_fast.features.logmel import as_batch, log_mel

    preset = get_preset(preset)
    window_frames = preset.min_samples // preset.hop_length
    unpadded = replace(preset, name=f"{preset.name}-faster-whisper", min_samples=0)
    tail = np.zeros(TAIL_PADDING, np.float32)
    waves, lengths = as_batch([np.concatenate([np.asarray(c, np.float32), tail]) for c in clips])
    features, _ = log_mel(waves.to(device), lengths, unpadded, threads=threads)
    out = torch.zeros(len(clips), preset.n_mels, window_frames, dtype=torch.float32,
                      device=features.device)
    for row, clip in enumerate(clips):
        keep = min(len(clip) // preset.hop_length, window_frames, features.shape[-1])
        out[row, :, :keep] = features[row, :, :keep]
    return out
