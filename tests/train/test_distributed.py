"""DDP under torchrun and kill/resume, through the real command line in subprocesses.

- 2 CPU processes (gloo), one micro-batch each, against 1 process accumulating the same 2
  micro-batches: the item plan gives both the same items and crops, BatchNorm statistics are per
  micro-batch in both, so the weights agree up to float summation order (all-reduce vs sum).
- A run killed with SIGKILL after a checkpoint and started again ends with exactly the weights,
  optimizer state and logs of a run that was never interrupted.
- Validation is shared by the ranks (each scores its share, the confusions are summed), so no
  rank waits in a collective while rank 0 validates alone.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lanser_fast.data.input_config import InputConfig
from lanser_fast.data.tables import read_table
from lanser_fast.models import ModelConfig
from lanser_fast.models.resnet import build_model
from lanser_fast.train import checkpoint as ckpt
from lanser_fast.train import evaluate
from lanser_fast.train.config import TrainConfig
from lanser_fast.train.distributed import Dist
from lanser_fast.train.runtime import resolve_runtime

BIN = Path(sys.executable).parent
SMALL = ["--arch", "resnet18", "--width", "8", "--crop-s", "1.0", "--valid-fraction", "0",
         "--device", "cpu"]  # two processes on CPU, also on a GPU box


@pytest.fixture(scope="module")
def table(prosody_corpus):
    rows = list(csv.DictReader(open(prosody_corpus / "labels.csv")))[:64]
    path = prosody_corpus / "ddp.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["path", "label", "speaker"])
        writer.writeheader()
        writer.writerows({k: r[k] for k in ("path", "label", "speaker")} for r in rows)
    return path


def _env():
    return {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}


def _pretrain(table, out, *extra, launcher=()):
    cmd = [*launcher, str(BIN / "lanser-fast"), "pretrain", str(table), "--out", str(out),
           *SMALL, *map(str, extra)]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return ckpt.load(Path(out) / ckpt.LAST)


def _parameters(state) -> dict[str, torch.Tensor]:
    # Parameters only: BatchNorm running statistics are rank 0's in DDP (broadcast from it) but
    # follow both micro-batches in the accumulating run.
    model = ckpt.model_from(state)
    return {name: p.detach() for name, p in model.named_parameters()}


def test_ddp_on_two_cpu_processes_matches_accumulation(table, tmp_path):
    common = ["--epochs", 2, "--batch-size", 4, "--max-steps", 5, "--workers", 0, "--lr", 3e-3]
    single = _pretrain(table, tmp_path / "single", *common, "--accumulate", 2)
    ddp = _pretrain(table, tmp_path / "ddp", *common, "--accumulate", 1,
                    launcher=[str(BIN / "torchrun"), "--standalone", "--nproc-per-node", "2"])
    assert single["step"] == ddp["step"] == 5
    a, b = _parameters(single), _parameters(ddp)
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst < 2e-4, worst
    # ... while training moved the weights from the shared initialisation by far more
    torch.manual_seed(0)
    init = dict(build_model(ModelConfig(**single["model_config"])).named_parameters())
    moved = max((a[k] - init[k]).abs().max().item() for k in a)
    assert moved > 100 * worst, (moved, worst)


def test_killed_run_resumes_to_the_uninterrupted_weights(table, tmp_path):
    common = ["--epochs", 3, "--batch-size", 8, "--checkpoint-every", 2, "--workers", 1,
              "--spec-augment", "--balance", "sampler"]
    whole = _pretrain(table, tmp_path / "whole", *common)
    out = tmp_path / "killed"
    cmd = [str(BIN / "lanser-fast"), "pretrain", str(table), "--out", str(out), *SMALL,
           *map(str, common)]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    killed_at = None
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if (out / ckpt.LAST).is_file():
            step = ckpt.load(out / ckpt.LAST)["step"]
            if step >= 2:
                os.killpg(proc.pid, signal.SIGKILL)
                killed_at = step
                break
        time.sleep(0.02)
    proc.wait()
    assert killed_at is not None and killed_at < whole["step"], "the run ended before the kill"
    resumed = _pretrain(table, out, *common)
    assert resumed["step"] == whole["step"]
    for key, value in whole["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    for a, b in zip(whole["optimizer"]["state"].values(),
                    resumed["optimizer"]["state"].values()):
        assert all(torch.equal(a[k], b[k]) for k in a)
    steps = [int(r["step"]) for r in csv.DictReader(open(out / "metrics.csv"))
             if r["kind"] == "train"]
    assert steps == list(range(1, whole["step"] + 1))  # each step logged once


def _validation_setup(table):
    data = read_table(table)
    data = data.subset(data.examples[:15])  # odd: the ranks' shares differ in size
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="resnet18", n_classes=len(data.classes), width=8)).eval()
    runtime = resolve_runtime(TrainConfig(precision="fp32", compile="off"), torch.device("cpu"))
    return data, model, runtime, InputConfig(crop_s=1.0)


def _shared_validation_rank(rank, table, store, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    data, model, runtime, input_config = _validation_setup(table)
    scored = []
    whole = evaluate.utterance_logits

    def recording(model, items, *args):
        scored.extend(ex.id for ex in items.examples)
        return whole(model, items, *args)

    evaluate.utterance_logits = recording
    scores = evaluate.evaluate_shared(model, data, input_config, runtime,
                                      Dist(rank, 2, rank, torch.device("cpu")))
    np.save(Path(out) / f"confusion{rank}.npy", scores.confusion)
    Path(out, f"scored{rank}.txt").write_text("\n".join(scored))
    dist.destroy_process_group()


def test_validation_is_shared_by_the_ranks_with_the_whole_set_scores(table, tmp_path):
    """Rank 0 validating alone left the other ranks waiting in a collective for the whole
    validation (NCCL's watchdog kills such a job): each rank scores half now, and both hold the
    scores of the whole set."""
    mp.spawn(_shared_validation_rank, args=(str(table), str(tmp_path / "store"), str(tmp_path)),
             nprocs=2)
    data, model, runtime, input_config = _validation_setup(table)
    whole, _ = evaluate.evaluate_set(model, data, input_config, runtime)
    shares = [(tmp_path / f"scored{rank}.txt").read_text().split("\n") for rank in (0, 1)]
    assert sorted(shares[0] + shares[1]) == sorted(ex.id for ex in data.examples)
    assert (len(shares[0]), len(shares[1])) == (8, 7)
    for rank in (0, 1):
        assert np.array_equal(np.load(tmp_path / f"confusion{rank}.npy"), whole.confusion)
