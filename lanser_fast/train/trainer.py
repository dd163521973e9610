"""The training loop shared by ``pretrain``, ``finetune`` and the experiments.

AdamW with linear warm-up and cosine decay, autocast in the resolved precision, gradient
accumulation, DDP under torchrun, checkpoints that resume bit-for-bit, CSV and TensorBoard logs,
and a progress bar in samples/s and audio-hours per device-hour. Validation (rank 0, at each
epoch's end) picks ``best.pt`` by unweighted accuracy, the usual SER model-selection metric.

Resuming: a folder with ``last.pt`` continues from its step when the settings that decide the
weights (model, input, training and data) are unchanged; otherwise the run is refused with the
differences named, unless ``force`` starts it over.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from lanser_fast.data.examples import LabeledSet
from lanser_fast.data.input_config import InputConfig
from lanser_fast.data.loader import EpochPlan, TrainItems, audio_seconds, train_loader
from lanser_fast.models import ModelConfig
from lanser_fast.models.resnet import SpectrogramResNet, build_model
from lanser_fast.train import checkpoint as ckpt
from lanser_fast.train.config import TrainConfig
from lanser_fast.train.distributed import Dist, setup
from lanser_fast.train.evaluate import evaluate_shared
from lanser_fast.train.runtime import Runtime, fp32_means_fp32, lr_factor, resolve_runtime

METRICS_CSV = "metrics.csv"
RUN_JSON = "run.json"
CSV_FIELDS = ("kind", "step", "epoch", "lr", "loss", "samples_per_s", "audio_h_per_device_h",
              "wa", "ua")
# Settings that do not change the weights: a resume may change them.
FREE_SETTINGS = ("workers", "eval_batch", "checkpoint_every", "max_steps")


class ResumeMismatch(ValueError):
    """A resume whose settings would not reproduce the interrupted run."""


@dataclass(frozen=True)
class TrainResult:
    out_dir: Path
    steps: int  # optimizer steps done (all runs of this folder)
    best: dict | None  # {"step", "wa", "ua"} of best.pt, None without a validation set
    samples_per_s: float  # training items per second (all ranks), this run
    audio_h_per_device_h: float  # training audio per device time, this run
    runtime: str


def fit(train_set: LabeledSet, valid_set: LabeledSet | None, out_dir: str | os.PathLike, *,
        model_config: ModelConfig, input_config: InputConfig, config: TrainConfig,
        init: str | os.PathLike | None = None, taxonomy: str | None = None,
        device: str = "auto", force: bool = False, progress: bool = True) -> TrainResult:
    """Train on ``train_set`` into ``out_dir`` (resuming it if it holds a run)."""
    if len(train_set) == 0:
        raise ValueError(f"{train_set.name}: the training set is empty")
    if model_config.n_classes != len(train_set.classes):
        raise ValueError(f"the model has {model_config.n_classes} classes, the data "
                         f"{len(train_set.classes)}")
    group = setup(device)
    out = Path(out_dir)
    if group.main:
        out.mkdir(parents=True, exist_ok=True)
    group.barrier()
    runtime = resolve_runtime(config, group.device)
    identity = _identity(train_set, model_config, input_config, config, init)

    torch.manual_seed(config.seed)  # same initial weights on every rank
    model = _initial_model(model_config, init, train_set.classes)
    memory = torch.channels_last if runtime.channels_last else torch.contiguous_format
    model = model.to(group.device, memory_format=memory)
    optimizer = _optimizer(model, config)
    plan = EpochPlan(len(train_set), config.batch_size, config.accumulate, group.world,
                     config.seed, tuple(ex.label for ex in train_set.examples)
                     if config.balance == "sampler" else None)
    total = config.epochs * plan.steps_per_epoch
    warm = round(config.warmup * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total, warm))
    scaler = torch.amp.GradScaler(group.device.type, enabled=runtime.grad_scaler)
    step, best = _resume(out, identity, model, optimizer, scheduler, scaler, force)

    weights = _class_weights(train_set) if config.balance == "loss" else None
    if weights is not None:
        weights = weights.to(group.device)
    trained = model
    if group.world > 1:
        trained = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[group.local_rank] if group.device.type == "cuda" else None)
    if runtime.compile:
        trained = torch.compile(trained)

    batches = _batch_source(train_set, input_config, plan, runtime, config, group)
    stop = min(total, config.max_steps) if config.max_steps else total
    log = _Log(out, group, step, progress, stop)
    state = dict(out=out, identity=identity, model=model, optimizer=optimizer,
                 scheduler=scheduler, scaler=scaler, input_config=input_config,
                 classes=train_set.classes, taxonomy=taxonomy)
    busy, items_done = 0.0, 0
    try:
        with fp32_means_fp32(runtime.device, runtime.dtype):  # fp32 is not TF32
            while step < stop:
                epoch, first = divmod(step, plan.steps_per_epoch)
                loader = iter(batches(epoch, first))
                for _ in range(first, plan.steps_per_epoch):
                    started = time.perf_counter()
                    loss = _step(trained, loader, optimizer, scaler, runtime, config, weights,
                                 group, memory)
                    scheduler.step()
                    busy += time.perf_counter() - started
                    step += 1
                    items_done += plan.global_batch
                    log.step(step, epoch, scheduler.get_last_lr()[0], loss, items_done, busy,
                             input_config)
                    if step >= stop:
                        break
                    if config.checkpoint_every and step % config.checkpoint_every == 0:
                        _save(group, state, step, best)
                if step % plan.steps_per_epoch == 0 and valid_set is not None and len(valid_set):
                    best = _validate(model, valid_set, input_config, runtime, config, group, state,
                                     step, epoch, best, log)
                _save(group, state, step, best)
            speed = items_done / busy if busy else 0.0
            audio_rate = (audio_seconds(items_done, input_config) / (busy * group.world)
                          if busy else 0)
            result = TrainResult(out, step, best, speed, audio_rate, runtime.describe())
            if group.main:
                _write_run(out, result, config, model_config, input_config, train_set, valid_set,
                           init)
            return result
    finally:
        log.close()


def _step(trained, loader, optimizer, scaler, runtime: Runtime, config: TrainConfig, weights,
          group: Dist, memory) -> float:
    """One optimizer step over ``config.accumulate`` micro-batches; the mean loss."""
    total = 0.0
    optimizer.zero_grad(set_to_none=True)
    for a in range(config.accumulate):
        features, labels = next(loader)
        features = features.to(group.device, memory_format=memory, non_blocking=True)
        labels = labels.to(group.device, non_blocking=True)
        last = a == config.accumulate - 1
        # DDP syncs gradients only on the last micro-batch of a step.
        sync = nullcontext() if (last or group.world == 1) else trained.no_sync()
        with sync:
            with torch.autocast(group.device.type, dtype=runtime.dtype,
                                enabled=runtime.dtype != torch.float32):
                logits = trained(features)
            loss = F.cross_entropy(logits.float(), labels, weight=weights) / config.accumulate
            scaler.scale(loss).backward()
        total += float(loss.detach())
    scaler.step(optimizer)
    scaler.update()
    return total


def _batch_source(train_set, input_config, plan, runtime: Runtime, config: TrainConfig,
                  group: Dist):
    """``(epoch, first_step) -> iterator of (features, labels)`` for this rank."""
    examples = list(train_set.examples)
    if runtime.loader == "dali":
        from lanser_fast.data.dali_loader import DaliCrops

        dali = DaliCrops(examples, input_config, plan,
                         device="gpu" if group.device.type == "cuda" else "cpu",
                         device_id=group.local_rank, num_threads=max(1, config.workers))
        return lambda epoch, first: dali.batches(epoch, first, group.rank)
    items = TrainItems(examples, input_config, augment=True)
    return lambda epoch, first: train_loader(items, plan, epoch, first, group.rank,
                                             config.workers)


def _initial_model(model_config: ModelConfig, init, classes) -> SpectrogramResNet:
    model = build_model(model_config)
    if init is None:
        return model
    state = ckpt.load(init)
    source = ckpt.model_from(state)
    if (source.config.arch, source.config.width, source.config.n_mels) != (
            model_config.arch, model_config.width, model_config.n_mels):
        raise ValueError(f"--init {state['path']} is a {source.config.arch} (width "
                         f"{source.config.width}, {source.config.n_mels} mels), not a "
                         f"{model_config.arch} (width {model_config.width}, "
                         f"{model_config.n_mels} mels)")
    backbone = {k: v for k, v in source.state_dict().items() if not k.startswith("head.")}
    model.load_state_dict(backbone, strict=False)
    if list(state["classes"]) == list(classes):  # same taxonomy: keep the trained head too
        model.head.load_state_dict(source.head.state_dict())
    return model


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    # No weight decay on BatchNorm parameters and biases (they set scale and offset, not
    # capacity).
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=config.lr)


def _class_weights(data: LabeledSet) -> torch.Tensor:
    """Inverse-frequency loss weights, mean 1 over the classes present (0 for absent ones)."""
    counts = torch.tensor(data.counts(), dtype=torch.float32)
    present = counts > 0
    weights = torch.zeros_like(counts)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


def _identity(train_set, model_config, input_config, config, init) -> dict:
    ids = hashlib.sha256("\n".join(f"{ex.id}\t{ex.label}" for ex in train_set.examples)
                         .encode()).hexdigest()[:16]
    train = {k: v for k, v in config.as_dict().items() if k not in FREE_SETTINGS}
    return {"model": asdict(model_config), "input": asdict(input_config), "train": train,
            "data": {"items": len(train_set), "ids_sha256": ids,
                     "classes": list(train_set.classes)},
            "init": None if init is None else str(init)}


def _resume(out: Path, identity: dict, model, optimizer, scheduler, scaler, force: bool):
    last = out / ckpt.LAST
    if not last.is_file() or force:
        return 0, None
    state = ckpt.load(last)
    if state["identity"] != identity:
        old, new = _flat(state["identity"]), _flat(identity)
        changes = [f"{key}: {_short(old.get(key))} -> {_short(new.get(key))}"
                   for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
        raise ResumeMismatch(f"{out} holds a run with other settings ({'; '.join(changes)}); "
                             "use another --out, or --force to start it over")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    ckpt.set_rng_state(state["rng"])
    return state["step"], state.get("best")


def _flat(tree: dict, prefix: str = "") -> dict:
    """``{"train": {"lr": 1}}`` -> ``{"train.lr": 1}``."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) < 120 else text[:117] + "..."


def _save(group: Dist, state: dict, step: int, best) -> None:
    if group.main:
        ckpt.save(state["out"] / ckpt.LAST, step=step, best=best, identity=state["identity"],
                  optimizer=state["optimizer"].state_dict(),
                  scheduler=state["scheduler"].state_dict(), scaler=state["scaler"].state_dict(),
                  rng=ckpt.rng_state(),
                  **ckpt.model_content(state["model"], state["input_config"], state["classes"],
                                       state["taxonomy"]))
    group.barrier()


def _validate(model, valid_set, input_config, runtime, config, group, state, step, epoch, best,
              log) -> dict | None:
    # Every rank scores its share and holds the summed scores, so every rank keeps the same
    # `best` (it is saved in last.pt) and no rank waits in a collective while rank 0 validates.
    scores = evaluate_shared(model, valid_set, input_config, runtime, group, config.eval_batch,
                             config.workers)
    log.valid(step, epoch, scores.wa, scores.ua)
    if best is None or scores.ua > best["ua"]:
        best = {"step": step, "wa": scores.wa, "ua": scores.ua}
        if group.main:
            ckpt.save(state["out"] / ckpt.BEST, step=step, best=best,
                      **ckpt.model_content(model, input_config, state["classes"],
                                           state["taxonomy"]))
    return best


def _write_run(out: Path, result: TrainResult, config, model_config, input_config, train_set,
               valid_set, init) -> None:
    run = {"steps": result.steps, "best": result.best, "runtime": result.runtime,
           "samples_per_s": result.samples_per_s,
           "audio_h_per_device_h": result.audio_h_per_device_h,
           "train": config.as_dict(), "model": asdict(model_config), "input": asdict(input_config),
           "data": {"train": len(train_set), "valid": len(valid_set) if valid_set else 0,
                    "classes": list(train_set.classes), "counts": train_set.counts(),
                    "problems": [asdict(p) for p in train_set.problems]},
           "init": None if init is None else str(init), "torch": torch.__version__}
    tmp = out / f".{RUN_JSON}.tmp"
    tmp.write_text(json.dumps(run, indent=2))
    os.replace(tmp, out / RUN_JSON)


class _Log:
    """metrics.csv, TensorBoard and the progress bar (rank 0 only)."""

    def __init__(self, out: Path, group: Dist, step: int, progress: bool, stop: int):
        self.on = group.main
        self.world = group.world
        self.bar = self.task = self.tb = None
        if not self.on:
            return
        path = out / METRICS_CSV
        kept = _rows_until(path, step)  # a resumed run rewrites what followed its checkpoint
        self.fh = open(path, "w", newline="", encoding="utf-8")
        self.csv = csv.DictWriter(self.fh, CSV_FIELDS)
        self.csv.writeheader()
        self.csv.writerows(kept)
        from torch.utils.tensorboard import SummaryWriter

        self.tb = SummaryWriter(str(out / "tb"), purge_step=step or None)
        if progress:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[info]}"))
            self.task = self.bar.add_task("train", total=stop, completed=step, info="")
            self.bar.start()

    def step(self, step, epoch, lr, loss, items, busy, input_config) -> None:
        if not self.on:
            return
        speed = items / busy
        audio = audio_seconds(items, input_config) / (busy * self.world)
        row = {"kind": "train", "step": step, "epoch": epoch, "lr": f"{lr:.6g}",
               "loss": f"{loss:.6f}", "samples_per_s": f"{speed:.2f}",
               "audio_h_per_device_h": f"{audio:.2f}", "wa": "", "ua": ""}
        self.csv.writerow(row)
        self.fh.flush()  # a killed run keeps its log up to its last checkpoint
        self.tb.add_scalar("train/loss", loss, step)
        self.tb.add_scalar("train/lr", lr, step)
        self.tb.add_scalar("train/samples_per_s", speed, step)
        if self.bar is not None:
            self.bar.update(self.task, completed=step,
                            info=f"loss {loss:.3f}  {speed:.1f} samples/s  "
                                 f"{audio:.1f} audio-h/device-h")

    def valid(self, step, epoch, wa, ua) -> None:
        if not self.on:
            return
        self.csv.writerow({"kind": "valid", "step": step, "epoch": epoch, "lr": "", "loss": "",
                           "samples_per_s": "", "audio_h_per_device_h": "",
                           "wa": f"{wa:.6f}", "ua": f"{ua:.6f}"})
        self.fh.flush()
        self.tb.add_scalar("valid/wa", wa, step)
        self.tb.add_scalar("valid/ua", ua, step)

    def close(self) -> None:
        if not self.on:
            return
        if self.bar is not None:
            self.bar.stop()
        self.fh.close()
        self.tb.close()


def _rows_until(path: Path, step: int) -> list[dict]:
    if not path.is_file() or step == 0:
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if int(row["step"]) <= step]


__all__ = ["ResumeMismatch", "TrainResult", "fit"]
