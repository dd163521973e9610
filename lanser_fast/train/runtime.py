"""How ``auto`` training settings resolve on the machine at hand, and the learning-rate schedule.

``auto`` resolves from what was measured, not from hope (figures in benchmarks/bench_train.py):

- precision: bf16 autocast on GPUs with bf16 and on CPUs with native bf16 (AVX512-BF16 or AMX,
  where it halves a ResNet-50 step); fp16 with a gradient scaler on older GPUs; fp32 on other
  CPUs, where oneDNN emulates bf16 and a step is ~12x slower (AVX2 machine, measured);
- channels-last: on (reduced precision needs it for oneDNN/cuDNN's fast kernels; fp32 ResNet-50
  steps on this AVX2 CPU were 7 % faster with it, interleaved A/B);
- torch.compile: on CUDA; off on CPU, where ResNet-50 compiled cold in ~90 s for a 3 % gain;
- loader: DALI (decode, resample, crop) feeding the Triton log-mel on CUDA; the torch DataLoader
  with worker processes on CPU.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

from lanser_fast.train.config import TrainConfig


@dataclass(frozen=True)
class Runtime:
    """What ``auto`` resolved to on this process's device."""

    device: torch.device
    dtype: torch.dtype  # autocast dtype (float32 = autocast off)
    grad_scaler: bool  # fp16 needs loss scaling
    channels_last: bool
    compile: bool
    loader: str  # "torch" or "dali"

    @property
    def precision(self) -> str:
        return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def describe(self) -> str:
        name = self.precision + (" (TF32 off)" if self.device.type == "cuda" and
                                 self.dtype == torch.float32 else "")
        return (f"{self.device.type} {name}, channels-last {'on' if self.channels_last else 'off'}"
                f", compile {'on' if self.compile else 'off'}, {self.loader} loader")


@contextmanager
def fp32_means_fp32(device: torch.device, dtype: torch.dtype = torch.float32) -> Iterator[None]:
    """An fp32 run on CUDA without TF32: PyTorch lets cuDNN convolutions use TF32 tensor cores
    by default (``torch.backends.cudnn.allow_tf32``), which would make an "fp32" run a TF32 one.
    Both switches are restored afterwards; nothing changes off CUDA or under autocast."""
    if device.type != "cuda" or dtype != torch.float32:
        yield
        return
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX-BF16 in the CPU flags (Linux); oneDNN emulates bf16 elsewhere."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_runtime(config: TrainConfig, device: torch.device) -> Runtime:
    cuda = device.type == "cuda"
    precision = config.precision
    if precision == "auto":
        if cuda:
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            precision = "bf16" if cpu_has_native_bf16() else "fp32"
    if precision == "fp16" and not cuda:
        raise ValueError("fp16 training needs a CUDA device; use --precision bf16 or fp32 on CPU")
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    channels_last = {"on": True, "off": False, "auto": True}[config.channels_last]
    compile_on = {"on": True, "off": False, "auto": cuda}[config.compile]
    loader = config.loader
    if loader == "auto":
        from lanser_fast.features.dali_audio import dali_available

        loader = "dali" if cuda and dali_available() else "torch"
    return Runtime(device, dtype, dtype == torch.float16, channels_last, compile_on, loader)


def lr_factor(step: int, total: int, warmup_steps: int) -> float:
    """Linear warm-up to 1 over ``warmup_steps``, then cosine decay to 0 at ``total``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup_steps) / span)))
