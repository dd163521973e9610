"""Fused Triton log-mel for CUDA tensors: same contract as ``log_mel_ref``.

Two launches per batch, the minimum for a per-utterance statistic:

1. ``_frames_kernel``, one program per (utterance, tile of BLOCK_T frames that can hold audio):
   gathers its frames straight from the padded batch (Whisper's zero padding and torch.stft's
   reflect padding are index arithmetic, no padded copy), takes the DFT as ``tl.dot`` of the
   frame tile with cos/sin matrices, squares to power, applies the mel bank with a second
   ``tl.dot``, takes the log, stores it and ``tl.atomic_max``-es the tile's max into the
   utterance's slot.
2. ``_finish_kernel``: floor at max - dynamic_range, the affine output scaling, and the silent
   value for frames no window of audio reaches (most of Whisper's 30 s) and for batch padding.

Trade-offs:
- A dense DFT costs ~10x the multiply-adds of an FFT (~1 GFLOP per 30 s of audio) but is plain
  matrix products with no data shuffles. The window is folded into the matrices (one multiply
  per sample less; rounding differs from window-then-DFT by ~1 ulp).
- ``input_precision="ieee"``: fp32 FMA instead of TF32 tensor cores. Emulated TF32 rounding
  puts espeak-ng speech 0.03 (whisper-80) and 0.13 (ser-64) off the reference, fp32 5e-5; the
  GPU then also computes what the interpreter does.
- The matrices are zero-padded to whole blocks (on the GPU the 200 bins the mel bank reads ->
  224 columns; mels -> a power of two): a little wasted work, no masks on the matrix loads.
- Frames that see only zero padding are never computed: their value is known in advance.

Kernels are jitted lazily: ``triton.jit`` picks the interpreter or the compiler from
``TRITON_INTERPRET`` when it runs, and importing this module must not need triton at all.
Triton's own library functions (``tl.max``) take their mode when ``triton.language`` is first
imported, so a process uses one mode: interpreted runs need ``TRITON_INTERPRET=1`` from the start.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache
from typing import NamedTuple

import numpy as np
import torch

from lanser_fast.features.filters import hann_window, mel_filters
from lanser_fast.features.presets import Preset, output_frames

MIN_DOT = 16  # tl.dot needs every dimension >= 16


class Blocks(NamedTuple):
    frames: int  # pass 1: frames per program (rows of every tl.dot)
    samples: int  # pass 1: frame samples per DFT reduction step
    bins: int  # pass 1: frequency bins per DFT output chunk
    finish: int  # pass 2: frames per program (times M_PAD mel rows)
    warps: int  # pass 1: warps per program (the interpreter ignores it)


# Compiled: fp32 "ieee" dots run on FMA units with each thread holding its operand rows and
# columns in registers, so the reduction steps stay short. For sm_90 ptxas reports 128-168
# registers and no spills for pass 1 with these sizes (64-sample steps spill), 56-124 for pass 2.
GPU_BLOCKS = Blocks(frames=64, samples=16, bins=32, finish=32, warps=8)
# Interpreted, the cost is per operation rather than per element: large tiles, yet still two
# steps of each loop (512 / 256 samples, 256 / 128 bins) so the tests exercise the chunking.
INTERPRET_BLOCKS = Blocks(frames=512, samples=256, bins=128, finish=1024, warps=4)


def triton_available() -> bool:
    """True where the Triton kernel can run compiled: a triton with ``triton.knobs`` (3.4 and
    later) imports and CUDA is usable."""
    try:
        import triton
    except ImportError:
        return False
    return hasattr(triton, "knobs") and torch.cuda.is_available()


def log_mel_triton(waves: torch.Tensor, lengths: torch.Tensor,
                   preset: Preset) -> tuple[torch.Tensor, torch.Tensor]:
    """Same contract as ``log_mel`` for (B, S) float32 CUDA waves and (B,) int64 CPU lengths.

    CPU tensors run under the Triton interpreter (``TRITON_INTERPRET=1``), for tests.
    """
    import triton

    interpret = bool(triton.knobs.runtime.interpret)
    if waves.device.type != "cuda" and not interpret:
        raise ValueError("backend='triton' takes CUDA tensors (or set TRITON_INTERPRET=1)")
    device = waves.device
    waves = waves.to(torch.float32).contiguous()
    lengths = lengths.to(torch.int64).cpu()
    n_frames = output_frames(lengths, preset)  # (B,) int64, CPU
    batch = waves.shape[0]
    width = int(n_frames.max()) if batch else 0
    out = torch.empty(batch, preset.n_mels, width, dtype=torch.float32, device=device)
    if batch == 0 or width == 0:
        return out, n_frames

    active = [_active_frames(preset, int(n), int(f)) for n, f in zip(lengths, n_frames)]
    silent_raw = preset.silent_log()  # a zero-power frame's log, pass 1's scale
    # Per-utterance max of pass 1. The zero-padding frames it skips are utterance frames too,
    # but a silent frame holds the smallest possible log, so they never raise the max.
    maxima = torch.full((batch,), -math.inf, dtype=torch.float32, device=device)  # (B,)
    active_dev = torch.tensor(active, dtype=torch.int64).to(device)  # (B,)
    blocks = INTERPRET_BLOCKS if interpret else GPU_BLOCKS
    cos_w, sin_w, bank = _matrices(preset, device, blocks)
    frames_kernel, finish_kernel = _kernels(interpret)

    with launch_device(device):  # Triton launches on the current device, not the tensors'
        max_active = max(active)
        if max_active:
            frames_kernel[(batch, triton.cdiv(max_active, blocks.frames))](
                waves, waves.stride(0), lengths.to(device), active_dev, cos_w, sin_w, bank, out,
                maxima, width,
                N_FFT=preset.n_fft, HOP=preset.hop_length, OFFSET=_offset(preset),
                CENTER=preset.center, MIN_SAMPLES=preset.min_samples,
                K_PAD=cos_w.shape[0], F_PAD=cos_w.shape[1], N_MELS=preset.n_mels,
                M_PAD=bank.shape[1], CLAMP_MIN=preset.clamp_min, ADD_EPS=preset.add_eps,
                LOG_SCALE=1 / math.log(10) if preset.log10 else 1.0,
                BLOCK_T=blocks.frames, BLOCK_K=blocks.samples, BLOCK_F=blocks.bins,
                num_warps=blocks.warps,
            )
        finish_kernel[(batch, triton.cdiv(width, blocks.finish))](
            out, active_dev, maxima, width, silent_raw,
            N_MELS=preset.n_mels, M_PAD=bank.shape[1],
            HAS_RANGE=preset.dynamic_range is not None, DYNAMIC_RANGE=preset.dynamic_range or 0.0,
            OUT_SHIFT=preset.out_shift, OUT_SCALE=preset.out_scale, BLOCK_T=blocks.finish,
        )
    return out, n_frames


def kernel_flops(preset: Preset, frames: int, blocks: Blocks = GPU_BLOCKS) -> int:
    """Floating-point operations the kernels execute for ``frames`` frames: the dense DFT as two
    (K_PAD x F_PAD) products per frame (cosine and sine) and the (F_PAD x M_PAD) mel product,
    at the padded shapes they run, 2 per multiply-add. The front end is compute-bound: these,
    against the fp32 peak (``input_precision="ieee"``), say how busy the GPU is."""
    _, k_pad, f_pad, m_pad = _padded_shapes(preset, blocks)
    return frames * 2 * (2 * k_pad * f_pad + f_pad * m_pad)


def _padded_shapes(preset: Preset, blocks: Blocks) -> tuple[int, int, int, int]:
    """``(used, K_PAD, F_PAD, M_PAD)``: the frequency bins the filter bank reads (bins past its
    last non-zero one never are), and the kernels' padded sample, bin and mel counts."""
    used = int(np.flatnonzero(mel_filters(preset).any(axis=0)).max()) + 1
    k_pad, f_pad = _round_up(preset.n_fft, blocks.samples), _round_up(used, blocks.bins)
    m_pad = max(MIN_DOT, 1 << (preset.n_mels - 1).bit_length())  # tl.arange needs a power of two
    return used, k_pad, f_pad, m_pad


def launch_device(device: torch.device):
    """The context that makes ``device`` current for Triton's launches (``cuda:1`` must run on
    GPU 1 whatever the current device is); nothing for the interpreter's CPU tensors."""
    import contextlib

    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


def _offset(preset: Preset) -> int:
    """Samples of left padding: frame f starts at f * hop - offset."""
    return preset.n_fft // 2 if preset.center else 0


def _active_frames(preset: Preset, length: int, frames: int) -> int:
    """Frames whose window can reach audio; later ones see only zero padding (as csrc does)."""
    padded = max(length, preset.min_samples)
    if padded - length < preset.n_fft:  # the end reflection may fold audio back in
        return frames
    return min(frames, -(-(length + _offset(preset)) // preset.hop_length))


def _round_up(n: int, block: int) -> int:
    return -(-n // block) * block


@cache
def _matrices(preset: Preset, device: torch.device,
              blocks: Blocks) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Window-folded DFT matrices (K_PAD, F_PAD) and the transposed mel bank (F_PAD, M_PAD)."""
    filters = mel_filters(preset)  # (n_mels, n_freqs)
    used, k_pad, f_pad, m_pad = _padded_shapes(preset, blocks)
    n = np.arange(preset.n_fft)
    # Exact integer phase reduction before the float64 trig keeps every entry correctly rounded.
    angle = 2 * np.pi * ((n[:, None] * np.arange(used)[None, :]) % preset.n_fft) / preset.n_fft
    window = hann_window(preset.n_fft).astype(np.float64)[:, None]
    cos_w = np.zeros((k_pad, f_pad), np.float32)
    sin_w = np.zeros((k_pad, f_pad), np.float32)
    bank = np.zeros((f_pad, m_pad), np.float32)
    cos_w[: preset.n_fft, :used] = window * np.cos(angle)
    sin_w[: preset.n_fft, :used] = window * np.sin(angle)  # sign is irrelevant to the power
    bank[:used, : preset.n_mels] = filters[:, :used].T
    return tuple(torch.from_numpy(m).to(device) for m in (cos_w, sin_w, bank))


@lru_cache(maxsize=2)
def _kernels(interpret: bool):
    """(pass 1, pass 2) jitted now, so TRITON_INTERPRET is read at call time (key: its value)."""
    global tl  # the kernel bodies resolve `tl` in this module's globals when they are compiled
    import triton
    import triton.language as tl

    return triton.jit(_frames_kernel), triton.jit(_finish_kernel)


# The two kernels are plain functions here and become Triton kernels in _kernels(), which also
# binds the `tl` they name.

def _frames_kernel(
    waves_ptr, wave_stride, lengths_ptr, active_ptr, cos_ptr, sin_ptr, bank_ptr, out_ptr,
    max_ptr, width,
    N_FFT: tl.constexpr, HOP: tl.constexpr, OFFSET: tl.constexpr, CENTER: tl.constexpr,
    MIN_SAMPLES: tl.constexpr, K_PAD: tl.constexpr, F_PAD: tl.constexpr, N_MELS: tl.constexpr,
    M_PAD: tl.constexpr, CLAMP_MIN: tl.constexpr, ADD_EPS: tl.constexpr, LOG_SCALE: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_F: tl.constexpr,
):
    b = tl.program_id(0)
    t0 = tl.program_id(1) * BLOCK_T
    active = tl.load(active_ptr + b)
    if t0 >= active:  # the grid covers the longest utterance; shorter ones end early
        return
    length = tl.load(lengths_ptr + b)
    padded = tl.maximum(length, MIN_SAMPLES)  # Whisper's zero-padded length
    wave = waves_ptr + b.to(tl.int64) * wave_stride
    t = t0 + tl.arange(0, BLOCK_T)  # (BLOCK_T,) frame indices
    start = t * HOP - OFFSET  # (BLOCK_T,) first sample of each frame
    k = tl.arange(0, BLOCK_K)  # (BLOCK_K,)
    f = tl.arange(0, BLOCK_F)  # (BLOCK_F,)
    m = tl.arange(0, M_PAD)  # (M_PAD,)
    mel = tl.zeros((BLOCK_T, M_PAD), dtype=tl.float32)
    for f0 in range(0, F_PAD, BLOCK_F):
        re = tl.zeros((BLOCK_T, BLOCK_F), dtype=tl.float32)
        im = tl.zeros((BLOCK_T, BLOCK_F), dtype=tl.float32)
        for k0 in range(0, K_PAD, BLOCK_K):
            n = k0 + k  # (BLOCK_K,) sample within the frame
            i = start[:, None] + n[None, :]  # (BLOCK_T, BLOCK_K) sample index in the utterance
            if CENTER:  # torch.stft reflect padding of the zero-padded signal
                i = tl.where(i < 0, -i, i)
                i = tl.where(i >= padded, 2 * (padded - 1) - i, i)
            audio = (t[:, None] < active) & (n[None, :] < N_FFT) & (i >= 0) & (i < length)
            x = tl.load(wave + i, mask=audio, other=0.0)  # (BLOCK_T, BLOCK_K), zero padding
            basis = n[:, None] * F_PAD + (f0 + f)[None, :]  # (BLOCK_K, BLOCK_F)
            re = tl.dot(x, tl.load(cos_ptr + basis), re, input_precision="ieee")
            im = tl.dot(x, tl.load(sin_ptr + basis), im, input_precision="ieee")
        power = re * re + im * im  # (BLOCK_T, BLOCK_F)
        weights = tl.load(bank_ptr + (f0 + f)[:, None] * M_PAD + m[None, :])  # (BLOCK_F, M_PAD)
        mel = tl.dot(power, weights, mel, input_precision="ieee")
    log = tl.log(tl.maximum(mel, CLAMP_MIN) + ADD_EPS) * LOG_SCALE  # (BLOCK_T, M_PAD)
    valid = (t[:, None] < active) & (m[None, :] < N_MELS)
    rows = out_ptr + b.to(tl.int64) * N_MELS * width
    tl.store(rows + m[None, :] * width + t[:, None], log, mask=valid)
    tl.atomic_max(max_ptr + b, tl.max(tl.where(valid, log, float("-inf"))))


def _finish_kernel(
    out_ptr, active_ptr, max_ptr, width, silent_raw,
    N_MELS: tl.constexpr, M_PAD: tl.constexpr, HAS_RANGE: tl.constexpr,
    DYNAMIC_RANGE: tl.constexpr, OUT_SHIFT: tl.constexpr, OUT_SCALE: tl.constexpr,
    BLOCK_T: tl.constexpr,
):
    b = tl.program_id(0)
    t = tl.program_id(1) * BLOCK_T + tl.arange(0, BLOCK_T)  # (BLOCK_T,)
    m = tl.arange(0, M_PAD)  # (M_PAD,)
    active = tl.load(active_ptr + b)
    ptrs = out_ptr + b.to(tl.int64) * N_MELS * width + m[:, None] * width + t[None, :]
    inside = (m[:, None] < N_MELS) & (t[None, :] < width)  # (M_PAD, BLOCK_T)
    # Frames pass 1 skipped (zero padding, batch padding) hold a silent frame's log.
    raw = tl.load(ptrs, mask=inside & (t[None, :] < active), other=silent_raw)
    if HAS_RANGE:  # max is -inf for an utterance without frames: no floor, as in the reference
        raw = tl.maximum(raw, tl.load(max_ptr + b) - DYNAMIC_RANGE)
    tl.store(ptrs, (raw + OUT_SHIFT) / OUT_SCALE, mask=inside)
