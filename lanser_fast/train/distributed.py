"""Process-group setup for DDP launched by ``torchrun`` (NCCL on GPUs, gloo on CPU).

``torchrun --nproc-per-node N $(which lanser-fast) pretrain ...`` sets RANK, WORLD_SIZE and
LOCAL_RANK; without them training runs as a single process. No scheduler of our own.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def pick_device(device: str = "auto", index: int = 0) -> torch.device:
    """``auto`` (CUDA when torch sees a GPU), ``cuda`` (GPU ``index``; an error without one) or
    ``cpu``."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for but torch sees no CUDA device")
        return torch.device("cuda", index)
    if device == "cpu":
        return torch.device("cpu")
    raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")


def probe(device: torch.device) -> None:
    """A convolution forward and backward on ``device`` (cuDNN, cuBLAS), so a broken CUDA stack
    stops training before any data is read, with the reason."""
    try:
        x = torch.randn(2, 1, 16, 16, device=device, requires_grad=True)
        conv = torch.nn.Conv2d(1, 2, 3).to(device)
        conv(x).square().sum().backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    except Exception as exc:  # noqa: BLE001 - any failure here is the device's
        raise RuntimeError(f"training cannot run on {device}: {exc}; `lanser-fast doctor` shows "
                           "the CUDA stack, --device cpu trains without it") from exc


def setup(device: str = "auto") -> Dist:
    """Join the torchrun process group if there is one; pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(local_rank)
        probe(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        atexit.register(teardown)  # the group lives for the process (several runs may share it)
    return Dist(rank, world, local_rank, dev)


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
