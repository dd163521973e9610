"""faster-whisper's feature semantics, for token parity with ``WhisperModel.transcribe``.

faster-whisper (1.2) computes the log-mel of the whole clip with only 160 zero samples appended
(reflect-padded STFT, last frame dropped), floors and scales it with the maximum over those
frames, keeps ``len // 160`` frames and then pads the 30 s window with **zeros after
normalization**. openai-whisper and Hugging Face (our default, ``log_mel``) pad the audio with
zeros to 30 s first, so padded frames hold the floored log of silence instead of 0, and the
frames at the clip's end differ.

On CPU, ``faster_whisper_features`` computes each clip in float32 with NumPy's FFT and matrix
product in faster-whisper's order of operations (with ``filters.mel_filters``, which equals its
filter bank bit for bit), so the features are bit-identical to ``WhisperModel.transcribe``'s.
This matters more than its size suggests: real Whisper base in int8 turns a 1e-7 difference in
the features into other words (measured: 200 clips of 1-15 s at 14.6 % WER from the compiled
op's features, which differ by at most 5e-5, against 11.8 % from faster-whisper's own). The
front end costs under 1 % of transcription time either way. On CUDA the batch goes through
``log_mel`` (Triton): a preset without the 30 s padding on each clip plus its 160 zeros, whose
per-utterance statistics cover exactly faster-whisper's frames, cut to ``len // 160`` frames and
zero-padded. ``log_mel_faster_whisper`` is the torch.stft reference of one clip.
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
    """(B, n_mels, window frames) float32 features of 16 kHz clips of at most 30 s each, as
    faster-whisper computes them: bit-identical on CPU (NumPy), within 1e-4 on CUDA (one
    ``log_mel`` batch). ``threads`` applies to the CUDA path's ``log_mel`` only."""
    preset = get_preset(preset)
    window_frames = preset.min_samples // preset.hop_length
    if torch.device(device).type == "cpu":
        out = np.zeros((len(clips), preset.n_mels, window_frames), np.float32)
        for row, clip in enumerate(clips):
            content = _numpy_log_mel(np.asarray(clip, np.float32), preset)
            out[row, :, : content.shape[1]] = content[:, :window_frames]
        return torch.from_numpy(out)
    return batched_features(clips, preset, device=device, threads=threads)


def batched_features(clips: Sequence[np.ndarray], preset: Preset, *,
                     device: str | torch.device, threads: int = 0) -> torch.Tensor:
    """The CUDA path of ``faster_whisper_features``: one ``log_mel`` batch where the waves are
    (Triton on CUDA; on CPU the compiled op, which is how the tests check it)."""
    from lanser_fast.features.logmel import as_batch, log_mel

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


def _numpy_log_mel(clip: np.ndarray, preset: Preset) -> np.ndarray:
    """(n_mels, len // hop) float32 log-mel of one clip, in faster-whisper's float32 arithmetic:
    frames of the reflect-padded wave (plus 160 zeros) times the window, a float32 real FFT per
    frame, power without the last frame, filter bank x power, log10, floor at max - 8, scale."""
    n_fft, hop = preset.n_fft, preset.hop_length
    wave = np.concatenate([clip, np.zeros(TAIL_PADDING, np.float32)])[None]
    wave = np.pad(wave, ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
    count = 1 + (wave.shape[1] - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(
        wave, (1, count, n_fft), (wave.strides[0], hop * wave.strides[1], wave.strides[1]))
    spectrum = np.fft.rfft(frames * hann_window(n_fft), n=n_fft, axis=-1)
    spectrum = spectrum.transpose((0, 2, 1))[0].astype(np.complex64)  # (freqs, frames) view
    power = np.abs(spectrum[..., :-1]) ** 2
    log = np.log10(np.clip(mel_filters(preset) @ power, 1e-10, None))
    log = (np.maximum(log, log.max() - 8.0) + 4.0) / 4.0
    return log[:, : len(clip) // hop]
