"""``log_mel``: log-mel features for a padded batch of variable-length audio, and its reference.

``log_mel_ref`` is plain fp32 torch, one utterance at a time: the source of truth every fast path
is tested against. ``log_mel`` dispatches on the tensor's device: CUDA tensors go to the fused
Triton kernel (``triton_logmel``), CPU tensors to the compiled op in ``csrc/`` (loaded by
``lanser_fast.compiled``); where neither is available it falls back to the reference and warns
once. Every path has the same contract:

- input ``waves`` (batch, samples) float32, ``lengths`` (batch,) true lengths in samples;
- output ``features`` (batch, n_mels, max_frames) float32 and ``n_frames`` (batch,) int64;
- statistics (Whisper's per-utterance max) use only the utterance's own frames; frames past an
  utterance's ``n_frames`` hold the value of a silent frame (for Whisper: its floor).
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import torch

from lanser_fast.features.filters import hann_window, mel_filters
from lanser_fast.features.presets import Preset, get_preset, output_frames

BACKENDS = ("auto", "ref", "csrc", "triton")
_warned: set[str] = set()


def log_mel(
    waves: torch.Tensor | np.ndarray | Sequence[np.ndarray],
    lengths: torch.Tensor | Sequence[int] | None = None,
    preset: str | Preset = "whisper-80",
    *,
    backend: str = "auto",
    threads: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-mel features of a batch: ``(features (B, n_mels, T), n_frames (B,))``.

    ``waves`` is a (B, S) or (S,) tensor/array, or a list of 1-D arrays (padded here). ``lengths``
    defaults to the full width. ``backend="auto"`` picks Triton on CUDA and the compiled op on
    CPU. ``threads`` is the CPU op's thread count (0 = torch's intra-op thread count).
    """
    preset = get_preset(preset)
    waves, lengths = as_batch(waves, lengths)
    if backend not in BACKENDS:
        raise ValueError(f"unknown log-mel backend {backend!r}; choose one of {BACKENDS}")
    if backend == "auto":
        backend = _auto_backend(waves.device)
    if backend == "ref":
        return log_mel_ref(waves, lengths, preset)
    if backend == "triton":
        from lanser_fast.features.triton_logmel import log_mel_triton

        return log_mel_triton(waves, lengths, preset)
    from lanser_fast.features.cpu_logmel import log_mel_cpu

    if waves.device.type != "cpu":
        raise ValueError("backend='csrc' takes CPU tensors")
    return log_mel_cpu(waves, lengths, preset, threads=threads)


def check_backend(backend: str) -> None:
    """Raise ValueError unless ``backend`` is one a corpus run can be asked for (``triton`` is
    what ``auto`` picks on CUDA) and can run here (``csrc`` needs the compiled op)."""
    if backend not in BACKENDS or backend == "triton":
        raise ValueError(f"unknown backend {backend!r}; choose auto, csrc or ref (auto picks "
                         "Triton for CUDA)")
    if backend == "csrc":
        from lanser_fast import compiled

        if not compiled.available():
            raise ValueError(f"the compiled op is not available ({compiled.load_error()}); "
                             "reinstall lanser-fast with a C++ compiler, or use --backend ref")


def _auto_backend(device: torch.device) -> str:
    if device.type == "cuda":
        from lanser_fast.features.triton_logmel import triton_available

        if triton_available():
            return "triton"
        _warn_once("triton", "Triton is not installed: CUDA log-mel uses the torch reference "
                   "(pip install 'lanser-fast[gpu]')")
        return "ref"
    if device.type == "cpu":
        from lanser_fast import compiled

        if compiled.available():
            return "csrc"
        _warn_once("csrc", f"compiled CPU op not loaded ({compiled.load_error()}): CPU log-mel "
                   "uses the slower torch reference; reinstall lanser-fast to build it")
        return "ref"
    return "ref"


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def as_batch(waves, lengths=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalize inputs to a contiguous (B, S) float32 tensor and (B,) int64 lengths."""
    if isinstance(waves, (list, tuple)):
        clips = [torch.as_tensor(np.asarray(w, dtype=np.float32)).reshape(-1) for w in waves]
        if lengths is None:
            lengths = [len(c) for c in clips]
        width = max((len(c) for c in clips), default=0)
        batch = torch.zeros(len(clips), width, dtype=torch.float32)
        for row, clip in zip(batch, clips):
            row[: len(clip)] = clip
        waves = batch
    waves = torch.as_tensor(waves)
    if waves.ndim == 1:
        waves = waves[None]
    if waves.ndim != 2:
        raise ValueError(f"waves must be (batch, samples), got shape {tuple(waves.shape)}")
    waves = waves.to(torch.float32).contiguous()
    if lengths is None:
        lengths = torch.full((waves.shape[0],), waves.shape[1], dtype=torch.int64)
    lengths = torch.as_tensor(lengths, dtype=torch.int64).reshape(-1).cpu()
    if lengths.numel() != waves.shape[0]:
        raise ValueError(f"{lengths.numel()} lengths for a batch of {waves.shape[0]}")
    if len(lengths) and (int(lengths.min()) < 0 or int(lengths.max()) > waves.shape[1]):
        raise ValueError(f"lengths must lie in [0, {waves.shape[1]}] (the padded width)")
    return waves, lengths



def log_mel_ref(waves: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None,
                preset: str | Preset = "whisper-80") -> tuple[torch.Tensor, torch.Tensor]:
    """Reference log-mel: torch.stft in fp32, one utterance at a time (same contract as log_mel)."""
    preset = get_preset(preset)
    waves, lengths = as_batch(waves, lengths)
    device = waves.device
    window = torch.from_numpy(hann_window(preset.n_fft).copy()).to(device)
    filters = torch.from_numpy(mel_filters(preset).copy()).to(device)
    n_frames = output_frames(lengths, preset)
    width = int(n_frames.max()) if len(n_frames) else 0
    out = torch.empty(waves.shape[0], preset.n_mels, width, dtype=torch.float32, device=device)
    for row, (wave, length, frames) in enumerate(zip(waves, lengths.tolist(), n_frames.tolist())):
        feats = _utterance_ref(wave[:length], frames, preset, window, filters)
        silent = feats.new_full((), preset.silent_value())
        if preset.dynamic_range is not None and frames:
            floor = feats.max() - preset.dynamic_range / preset.out_scale
            silent = torch.maximum(silent, floor)
        out[row, :, :frames] = feats
        out[row, :, frames:] = silent
    return out, n_frames


def _utterance_ref(audio: torch.Tensor, frames: int, preset: Preset, window: torch.Tensor,
                   filters: torch.Tensor) -> torch.Tensor:
    """(n_mels, frames) features of one utterance."""
    if frames == 0:
        return audio.new_empty(preset.n_mels, 0)
    if len(audio) < preset.min_samples:
        audio = torch.nn.functional.pad(audio, (0, preset.min_samples - len(audio)))
    stft = torch.stft(audio, preset.n_fft, preset.hop_length, window=window,
                      center=preset.center, pad_mode="reflect", return_complex=True)
    power = stft.abs() ** 2  # (n_freqs, frames [+ 1])
    power = power[:, :frames]
    mel = filters @ power  # (n_mels, frames)
    if preset.clamp_min > 0:
        mel = torch.clamp(mel, min=preset.clamp_min)
    if preset.add_eps:
        mel = mel + preset.add_eps
    log = torch.log10(mel) if preset.log10 else torch.log(mel)
    if preset.dynamic_range is not None:
        log = torch.maximum(log, log.max() - preset.dynamic_range)
    return (log + preset.out_shift) / preset.out_scale
