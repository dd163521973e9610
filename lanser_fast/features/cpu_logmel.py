"""CPU log-mel through the compiled op (``csrc/logmel_kernel.cpp``).

The op fuses framing, window, FFT, power, the sparse mel product, log and Whisper's floor, and
vectorizes across frames; threads split the batch into blocks of 32 frames, so one long clip
uses every core as well as many short ones.
"""

from __future__ import annotations

import torch

from lanser_fast import compiled
from lanser_fast.features.filters import hann_window, mel_filters
from lanser_fast.features.presets import Preset, output_frames


def log_mel_cpu(waves: torch.Tensor, lengths: torch.Tensor, preset: Preset, *,
                threads: int = 0, isa: str = "") -> tuple[torch.Tensor, torch.Tensor]:
    """Same contract as ``log_mel`` for CPU (B, S) float32 waves and (B,) int64 lengths.

    ``isa`` forces one compiled kernel ("avx512", "avx2", "baseline"; default: the best this CPU
    runs, see ``lanser_fast.compiled.isa()``): tests pin every kernel the CPU can run.
    """
    op = compiled.ops()
    n_frames = output_frames(lengths, preset)
    width = int(n_frames.max()) if len(n_frames) else 0
    out = torch.empty(waves.shape[0], preset.n_mels, width, dtype=torch.float32)
    if waves.shape[0] == 0:
        return out, n_frames
    op.log_mel(
        waves.contiguous(), lengths.contiguous(), n_frames, out,
        hann_window(preset.n_fft), mel_filters(preset),
        n_fft=preset.n_fft, hop=preset.hop_length, center=preset.center,
        min_samples=preset.min_samples, log10=preset.log10, clamp_min=preset.clamp_min,
        add_eps=preset.add_eps, has_range=preset.dynamic_range is not None,
        dynamic_range=preset.dynamic_range or 0.0, out_shift=preset.out_shift,
        out_scale=preset.out_scale, threads=threads or torch.get_num_threads(), isa=isa,
    )
    return out, n_frames
