"""Training: ResNet-50 steps on log-mel crops, and the data path that feeds them.

Workload "step": ResNet-50 (1-channel stem, 43 classes), batch 8 of 1 x 64 x 300 features (3 s
crops at the 10 ms hop), AdamW, cross-entropy, forward + backward + update. Contenders:
- reference: a plain eager fp32 PyTorch loop (torch defaults, contiguous tensors; on CUDA with
  TF32 off, so that it is fp32: PyTorch's default lets cuDNN convolutions use TF32);
- ours: our trainer's step (``lanser_fast.train.trainer._step``) with the settings ``auto``
  resolves to on this machine, and the alternatives ``auto`` chooses between, forced (bf16
  autocast + channels-last, channels-last fp32, torch.compile), so the choice is visible.
Workload "data": batches of 8 random 3 s crops of 1-6 s 16 kHz WAV clips, decoded, ser-64
log-mel, SpecAugment: the CPU DataLoader with 2 worker processes (our CPU default), DALI's CPU
pipeline, and loading in the training process (reference).
Throughput in audio-hours per device-hour: seconds of crop audio per wall second.
"""

from __future__ import annotations

import functools
import os
import time

import pytest
import torch
import torch.nn.functional as F

from lanser_fast.data.crops import InputConfig
from lanser_fast.data.examples import Example
from lanser_fast.data.loader import EpochPlan, TrainItems, train_loader
from lanser_fast.models import ModelConfig
from lanser_fast.models.resnet import build_model
from lanser_fast.train import trainer
from lanser_fast.train.config import TrainConfig
from lanser_fast.train.distributed import Dist
from lanser_fast.train.runtime import fp32_means_fp32, resolve_runtime

QUICK = os.environ.get("LANSER_FAST_BENCH_QUICK") == "1"  # fewer rounds and contenders
BATCH, FRAMES, CLASSES = 8, 300, 43
CROP_S = FRAMES / 100  # 10 ms hop
STEPS = 2  # optimizer steps per timed round
STEP_WORKLOAD = f"ResNet-50, batch {BATCH} x 1x64x{FRAMES} log-mel, AdamW, fwd+bwd+update"
DATA_WORKLOAD = "batches of 8 random 3 s crops of 1-6 s WAV: decode + ser-64 log-mel + SpecAugment"
# An epoch of 768 crops (quick: 192): worker start-up is part of every epoch.
DATA_BATCHES = 24 if QUICK else 96


@functools.lru_cache(maxsize=1)
def _step_gflop() -> float:
    """Matmul/conv GFLOP of one training step (torch's FLOP counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(ModelConfig("resnet50", CLASSES))
    x, y = _inputs()
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / 1e9


def _device() -> torch.device:
    from conftest import gpu_allowed

    return torch.device("cuda") if gpu_allowed() else torch.device("cpu")


def _device_name(device: torch.device) -> str:
    """The GPU's name (how hardware-use peaks are looked up), else "cpu"."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":  # timers must see the GPU's work, not its queueing
        torch.cuda.synchronize()


def _inputs():
    torch.manual_seed(0)
    return torch.randn(BATCH, 1, 64, FRAMES), torch.randint(0, CLASSES, (BATCH,))


def _ours(config: TrainConfig):
    """A step function running our trainer's step with ``config`` resolved on the CPU."""
    device = _device()
    runtime = resolve_runtime(config, device)
    torch.manual_seed(0)
    model = build_model(ModelConfig("resnet50", CLASSES))
    memory = torch.channels_last if runtime.channels_last else torch.contiguous_format
    model = model.to(device, memory_format=memory)
    optimizer = trainer._optimizer(model, config)
    scaler = torch.amp.GradScaler(device.type, enabled=runtime.grad_scaler)
    net = torch.compile(model) if runtime.compile else model
    x, y = _inputs()
    group = Dist(0, 1, 0, device)

    def run():
        with fp32_means_fp32(device, runtime.dtype):  # as the trainer runs its steps
            for _ in range(STEPS):
                trainer._step(net, iter([(x, y)]), optimizer, scaler, runtime, config, None,
                              group, memory)
            _sync(device)

    return run, runtime


def test_step_reference_eager_fp32(measure):
    device = _device()
    torch.manual_seed(0)
    model = build_model(ModelConfig("resnet50", CLASSES)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = (t.to(device) for t in _inputs())

    def run():
        with fp32_means_fp32(device):
            for _ in range(STEPS):
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
            _sync(device)

    m = measure(run, work=STEPS * BATCH * CROP_S, rounds=2 if QUICK else 5, stage="train",
                workload=STEP_WORKLOAD, impl="PyTorch eager fp32 loop (torch defaults"
                + (", TF32 off)" if device.type == "cuda" else ")"),
                role="reference", unit="audio-h/device-h", threads=torch.get_num_threads(),
                device=_device_name(device))
    seconds = BATCH * CROP_S / m.median
    m.extra.update(s_per_step=seconds, gflop_per_s=_step_gflop() / seconds, precision="fp32")


ALTERNATIVES = [  # (name, config, rounds); quick runs only the default
    ("default (auto)", TrainConfig(), 2 if QUICK else 5),
    ("forced contiguous fp32", TrainConfig(precision="fp32", channels_last="off"), 3),
    ("forced torch.compile fp32", TrainConfig(precision="fp32", compile="on"), 3),
    ("forced bf16 autocast + channels-last", TrainConfig(precision="bf16"), 1),
]


@pytest.mark.parametrize("name,config,rounds", ALTERNATIVES[:1] if QUICK else ALTERNATIVES)
def test_step_ours(measure, name, config, rounds):
    run, runtime = _ours(config)
    started = time.perf_counter()
    run()  # the first round pays compilation and allocator warm-up
    first_s = time.perf_counter() - started
    m = measure(run, work=STEPS * BATCH * CROP_S, rounds=rounds, warmup_rounds=0,
                stage="train", workload=STEP_WORKLOAD,
                impl=f"lanser-fast trainer step, {name}: {runtime.describe()}", role="ours",
                unit="audio-h/device-h", threads=torch.get_num_threads(),
                device=_device_name(runtime.device))
    seconds = BATCH * CROP_S / m.median
    m.extra.update(first_round_s=first_s, s_per_step=seconds,
                   gflop_per_s=_step_gflop() / seconds, precision=runtime.precision)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from tools.synth_speech import synthesize_corpus, uniform_durations

    root = tmp_path_factory.mktemp("train-data")
    rows = synthesize_corpus(root, 48, seed=5, durations=uniform_durations(1.0, 6.0))
    return [Example(r.id, str(root / r.path), i % 3) for i, r in enumerate(rows)]


def _drain(batches) -> int:
    return sum(len(labels) for _, labels in batches)


@pytest.mark.parametrize("workers,role", [(2, "ours"), (0, "reference")])
def test_data_torch_loader(measure, clips, workers, role):
    config = InputConfig(crop_s=CROP_S, spec_augment=True)
    plan = EpochPlan(DATA_BATCHES * BATCH, BATCH, 1, 1, seed=0)
    items = TrainItems([clips[i % len(clips)] for i in range(plan.n_items)], config, True)
    epoch = iter(range(100))
    impl = ("torch DataLoader, 2 worker processes (our CPU default)" if workers
            else "loading in the training process (workers=0)")
    measure(lambda: _drain(train_loader(items, plan, next(epoch), 0, 0, workers)),
            work=plan.n_items * CROP_S, rounds=2 if QUICK else 3, stage="train-data",
            workload=DATA_WORKLOAD,
            impl=impl, role=role, unit="audio-h/device-h", threads=max(1, workers))


def test_data_dali_cpu_pipeline(measure, clips):
    pytest.importorskip("nvidia.dali")
    from lanser_fast.data.dali_loader import DaliCrops

    config = InputConfig(crop_s=CROP_S, spec_augment=True)
    plan = EpochPlan(DATA_BATCHES * BATCH, BATCH, 1, 1, seed=0)
    examples = [clips[i % len(clips)] for i in range(plan.n_items)]
    dali = DaliCrops(examples, config, plan, device="cpu", num_threads=2)
    epoch = iter(range(100))
    measure(lambda: _drain(dali.batches(next(epoch), 0, 0)), work=plan.n_items * CROP_S,
            rounds=2 if QUICK else 3, stage="train-data", workload=DATA_WORKLOAD,
            impl="DALI CPU pipeline (2 threads) + our CPU log-mel", role="ours",
            unit="audio-h/device-h", threads=2)
