"""Named log-mel front-end presets.

``whisper-80`` / ``whisper-128`` reproduce openai-whisper's ``log_mel_spectrogram`` exactly (the
features Whisper was trained on); ``ser-64`` is the SER front end of LanSER's ResNet-50. Every
backend (torch reference, compiled CPU op, Triton) reads only these fields, so a preset fully
defines the features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WHISPER_SAMPLES = 480_000  # 30 s at 16 kHz: Whisper pads every clip to this many samples
DEFAULT_PRESET = "whisper-80"  # what `features` computes unless told: the features Whisper reads


@dataclass(frozen=True)
class Preset:
    name: str  # registry name, e.g. "whisper-80"
    sample_rate: int  # input rate the mel filters are built for (Hz)
    n_fft: int  # window and FFT length in samples (400 = 25 ms)
    hop_length: int  # frame shift in samples (160 = 10 ms)
    n_mels: int  # mel bands (output rows)
    f_min: float  # lowest mel filter edge (Hz)
    f_max: float  # highest mel filter edge (Hz)
    center: bool  # reflect-pad n_fft // 2 on both sides (torch.stft center=True)
    drop_last_frame: bool  # drop the final STFT frame (Whisper's stft[..., :-1])
    min_samples: int  # zero-pad shorter clips to this length before framing (0 = no padding)
    log10: bool  # log10 instead of the natural log
    clamp_min: float  # power is clamped from below before the log (Whisper: 1e-10)
    add_eps: float  # added to the power before the log (SER: 1e-6)
    dynamic_range: float | None  # floor every value at utterance max minus this (None = off)
    out_shift: float  # output = (log + out_shift) / out_scale
    out_scale: float

    @property
    def n_freqs(self) -> int:
        """Non-negative FFT bins (one-sided spectrum)."""
        return self.n_fft // 2 + 1

    def n_frames(self, n_samples: int) -> int:
        """Output frames for a clip of ``n_samples`` samples."""
        padded = max(n_samples, self.min_samples)
        if self.center:
            frames = 1 + padded // self.hop_length
        else:
            frames = 1 + (padded - self.n_fft) // self.hop_length if padded >= self.n_fft else 0
        return max(frames - 1, 0) if self.drop_last_frame else frames

    def silent_log(self) -> float:
        """The log of a frame of digital silence (before the floor and the output scaling)."""
        power = max(0.0, self.clamp_min) + self.add_eps
        return math.log10(power) if self.log10 else math.log(power)

    def silent_value(self) -> float:
        """The value of a frame of digital silence before the per-utterance floor."""
        return (self.silent_log() + self.out_shift) / self.out_scale


def _whisper(n_mels: int) -> Preset:
    return Preset(
        name=f"whisper-{n_mels}", sample_rate=16_000, n_fft=400, hop_length=160, n_mels=n_mels,
        f_min=0.0, f_max=8_000.0, center=True, drop_last_frame=True,
        min_samples=WHISPER_SAMPLES, log10=True, clamp_min=1e-10, add_eps=0.0,
        dynamic_range=8.0, out_shift=4.0, out_scale=4.0,
    )


PRESETS: dict[str, Preset] = {
    "whisper-80": _whisper(80),
    "whisper-128": _whisper(128),
    "ser-64": Preset(
        name="ser-64", sample_rate=16_000, n_fft=400, hop_length=160, n_mels=64,
        f_min=60.0, f_max=7_800.0, center=False, drop_last_frame=False, min_samples=0,
        log10=False, clamp_min=0.0, add_eps=1e-6, dynamic_range=None, out_shift=0.0,
        out_scale=1.0,
    ),
}


def get_preset(preset: str | Preset) -> Preset:
    """A preset by name (or the preset itself); unknown names list the known ones."""
    if isinstance(preset, Preset):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown front-end preset {preset!r}; choose one of "
                         f"{', '.join(PRESETS)}") from None


def whisper_preset(n_mels: int) -> Preset:
    """The Whisper preset for a model with ``n_mels`` mel bins (80, or 128 for large-v3)."""
    return get_preset(f"whisper-{n_mels}")


def output_frames(lengths, preset: Preset):
    """(B,) int64 torch tensor: the frame counts of clips of ``lengths`` samples (every
    backend's output width)."""
    import torch  # the backends have it loaded; presets alone need no torch

    return torch.tensor([preset.n_frames(int(n)) for n in lengths], dtype=torch.int64)
