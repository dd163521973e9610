"""Every GPU path of lanser-fast in one command, with figures: ``python -m tools.gpu_smoke``.

Needs what a stock CUDA PyTorch image has (torch, triton, transformers, numpy) and this source
tree; no install of the package. Sized for 8 minutes on one H100/H200 (not yet run on one).
Parts:

- front end: the Triton log-mel kernel against ``log_mel_ref`` (max |diff|) for every preset at
  awkward lengths, and its speed on 64 x 30 s clips (audio-h per GPU-h, fp32 TFLOP/s vs peak);
- NLI: the torch engine at roberta-large size (random weights, real config) in fp32 / bf16 /
  fp16 against the CPU fp32 engine (max |diff| of the scores, top-1 agreement), its pairs/s and
  the Hugging Face zero-shot pipeline's on the same GPU (tokenizer: GPT-2's BPE where
  openai-whisper's assets are installed, else a byte-level BPE trained on the sentence bank);
- training: the ResNet-50 step as the trainer runs it by default (bf16, channels-last,
  torch.compile; compile time apart) against eager fp32 (TF32 off): s/step, TFLOP/s vs peak;
- ASR, where CTranslate2 imports: the CUDA probe of a Transcriber, then ``label --gpus 1`` on
  a few synthetic clips (Whisper base and all-MiniLM-L6-v2 from the Hugging Face cache).

Prints one table (a part that cannot run says why) and writes a ``lanser-fast-bench/1`` record
(``--out``). Without a CUDA device every row says "not run: no CUDA device". Exit status 1 when a
check failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
NLI_TOLERANCE = 1e-5  # fp32 scores against the CPU engine
FEATURE_TOLERANCE = 1e-4


@dataclass
class Row:
    part: str
    check: str
    result: str
    ok: bool | None  # None: not run


@dataclass(frozen=True)
class Sizes:
    """Workload sizes; ``TINY`` lets the test suite run every part on a CPU."""

    clips: int = 64  # 30 s clips in the front end's timed batch
    nli_size: str = "large"  # tools.tiny_models.NLI_SIZES
    nli_ref_texts: int = 16  # transcripts scored by the CPU reference too
    nli_texts: int = 512  # transcripts in each engine's timed run
    pipeline_texts: int = 64  # ... in the zero-shot pipeline's
    train_arch: str = "resnet50"
    train_batch: int = 32
    train_frames: int = 300  # 3 s crops of ser-64
    train_steps: int = 10  # timed optimizer steps per contender
    label_clips: int = 6


TINY = Sizes(clips=2, nli_size="tiny", nli_ref_texts=3, nli_texts=6, pipeline_texts=3,
             train_arch="resnet18", train_batch=2, train_frames=100, train_steps=1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device) -> float:
    _sync(device)
    started = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - started


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def _of_peak(gflops: float, device: torch.device, precision: str) -> str:
    """``gflops`` against the device's peak at ``precision``, as the benchmark tables say it."""
    from lanser_fast.bench.peaks import hardware_use

    return hardware_use({"gflop_per_s": gflops, "precision": precision}, _device_name(device))


def _measurement(record, **fields) -> None:
    from lanser_fast.bench.record import Measurement

    record.add(Measurement(repeats=1, threads=1, **fields))


# --------------------------------------------------------------------------- front end

def front_end(device: torch.device, sizes: Sizes, record, work: Path) -> list[Row]:
    from lanser_fast.features.logmel import log_mel, log_mel_ref
    from lanser_fast.features.presets import PRESETS, WHISPER_SAMPLES, get_preset
    from lanser_fast.features.triton_logmel import kernel_flops

    rows = []
    rng = np.random.default_rng(0)
    lengths = [1, 399, 400, 401, 16_000, 16_000 * 7 + 3, WHISPER_SAMPLES, WHISPER_SAMPLES + 1]
    if device.type == "cpu":  # the interpreter: short clips only
        lengths = [1, 399, 400, 401, 4_321]
    width = max(lengths)
    waves = torch.from_numpy(rng.uniform(-1, 1, (len(lengths), width)).astype(np.float32))
    counts = torch.tensor(lengths)
    for name in PRESETS:
        ours, frames = log_mel(waves.to(device), counts, name, backend="triton")
        ref, ref_frames = log_mel_ref(waves, counts, name)
        worst = float((ours.cpu() - ref).abs().max()) if ref.numel() else 0.0
        ok = torch.equal(frames.cpu(), ref_frames) and worst <= FEATURE_TOLERANCE
        rows.append(Row("front end", f"Triton log-mel {name} vs log_mel_ref, lengths "
                        f"{min(lengths)}-{max(lengths)}", f"max |diff| {worst:.2e}", ok))
    clip = WHISPER_SAMPLES if device.type == "cuda" else 16_000
    batch = torch.from_numpy(rng.uniform(-0.5, 0.5, (sizes.clips, clip)).astype(np.float32))
    batch = batch.to(device)
    run = lambda: log_mel(batch, None, "whisper-80", backend="triton")  # noqa: E731
    feats, _ = run()  # compiles the kernels
    seconds = min(_timed(run, device) for _ in range(5))
    audio_s = sizes.clips * clip / 16_000
    rate = audio_s / seconds  # audio-s per device-s = audio-h per device-h
    gflops = kernel_flops(get_preset("whisper-80"), feats.shape[0] * feats.shape[-1]) / seconds
    gflops /= 1e9
    _measurement(record, stage="features", workload=f"{sizes.clips} x {clip / 16_000:.0f} s "
                 "whisper-80", impl="lanser_fast log_mel (Triton)", role="ours",
                 unit="audio-h/device-h", median=rate, min=rate, max=rate,
                 device=_device_name(device),
                 extra={"gflop_per_s": gflops, "precision": "fp32"})
    rows.append(Row("front end", f"Triton log-mel whisper-80, {sizes.clips} x "
                    f"{clip / 16_000:.0f} s", f"{rate:,.0f} audio-h per device-h, "
                    + _of_peak(gflops, device, "fp32"), True))
    return rows


# --------------------------------------------------------------------------- NLI

def _texts(count: int, seed: int) -> list[str]:
    """``count`` distinct transcripts: the synthetic sample's sentences, shuffled, numbered
    once they run out."""
    pool = _sentences()
    pool = [pool[i] for i in np.random.default_rng(seed).permutation(len(pool))]
    return [pool[i % len(pool)] + (f" ({i // len(pool)})" if i >= len(pool) else "")
            for i in range(count)]


def _sentences() -> list[str]:
    from lanser_fast.synth.sentences import sentences

    return [text for _, text in sentences()]


def nli(device: torch.device, sizes: Sizes, record, work: Path) -> list[Row]:
    from lanser_fast.nli.scorer import EntailmentScorer, ScoreConfig
    from lanser_fast.nli.torch_engine import TorchEngine
    from lanser_fast.taxonomy import DEFAULT_TEMPLATE, load_taxonomy
    from tools.tiny_models import build_nli

    # GPT-2's merges come from openai-whisper's assets; a stock image has none: a byte-level
    # BPE trained on the sentence bank stands in (other token counts than RoBERTa's)
    trained = importlib.util.find_spec("whisper") is None
    bank = _sentences() if trained else None
    model = build_nli(work / f"roberta-{sizes.nli_size}-mnli", "roberta", sizes.nli_size,
                      bpe_texts=bank)
    bpe = ", BPE trained here" if trained else ""
    taxonomy = load_taxonomy("goemotions28")
    config = ScoreConfig(model=str(model), engine="torch", taxonomy="goemotions28")

    def scorer(engine):
        return EntailmentScorer(config, taxonomy=taxonomy, engine=engine)

    probe_texts = _texts(sizes.nli_ref_texts, seed=1)
    reference = scorer(TorchEngine(str(model), precision="fp32", device="cpu"))
    exact = np.array([s.scores for s in reference.score(probe_texts)])
    rows = []
    precisions = ("fp32", "bf16", "fp16") if device.type == "cuda" else ("fp32", "bf16")
    timed_texts = _texts(sizes.nli_texts, seed=2)
    pairs = len(timed_texts) * len(taxonomy.labels)
    for precision in precisions:
        ours = scorer(TorchEngine(str(model), precision=precision, device=str(device)))
        got = np.array([s.scores for s in ours.score(probe_texts)])
        worst = float(np.abs(got - exact).max())
        agree = float(np.mean(got.argmax(1) == exact.argmax(1)))
        # fp32 is held to the CPU engine; bf16/fp16 are reported (random weights give near-flat
        # scores, so their top-1 agreement says little) and must be finite
        ok = worst <= NLI_TOLERANCE if precision == "fp32" else bool(np.isfinite(got).all())
        ours.forget()
        ours.score(timed_texts[:8])  # warm-up
        ours.forget()
        seconds = _timed(lambda: ours.score(timed_texts), device)
        rate = pairs / seconds
        _measurement(record, stage="nli", workload=f"{len(timed_texts)} transcripts x 28 "
                     f"labels, roberta-{sizes.nli_size} (random weights)",
                     impl=f"lanser_fast torch engine {precision}", role="ours", unit="pairs/s",
                     median=rate, min=rate, max=rate, device=_device_name(device),
                     extra={"max_abs_diff_vs_cpu_fp32": worst, "top1_agreement": agree})
        rows.append(Row("NLI", f"torch engine {precision} vs CPU fp32, roberta-{sizes.nli_size}"
                        + bpe,
                        f"max |diff| {worst:.1e}, top-1 {100 * agree:.0f} %, {rate:,.0f} pairs/s",
                        ok))
    rows.append(_guarded("NLI", "Hugging Face zero-shot pipeline fp32 (reference), same GPU",
                         _zero_shot, device, sizes, record, model, taxonomy, DEFAULT_TEMPLATE))
    return rows


def _guarded(part: str, check: str, fn, *args) -> Row:
    """``fn(*args)``'s row, or a failed row with the error: the other rows of the part stay."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return _failed(part, check, exc)


def _failed(part: str, check: str, exc: BaseException) -> Row:
    first = str(exc).splitlines()[0] if str(exc) else ""
    return Row(part, check, f"failed: {type(exc).__name__}: {first}", False)


def _zero_shot(device, sizes, record, model, taxonomy, template) -> Row:
    from transformers import pipeline

    classify = pipeline("zero-shot-classification", model=str(model), device=device)
    texts = _texts(sizes.pipeline_texts, seed=3)
    labels = list(taxonomy.prompts)  # the words the hypotheses put in the template
    run = lambda: classify(texts, candidate_labels=labels,  # noqa: E731
                           hypothesis_template=template, batch_size=64)
    classify(texts[:2], candidate_labels=labels, hypothesis_template=template)  # warm-up
    seconds = _timed(run, device)
    rate = len(texts) * len(labels) / seconds
    _measurement(record, stage="nli", workload=f"{len(texts)} transcripts x 28 labels, "
                 f"roberta-{sizes.nli_size} (random weights)",
                 impl="transformers zero-shot-classification pipeline fp32, batch 64",
                 role="reference", unit="pairs/s", median=rate, min=rate, max=rate,
                 device=_device_name(device))
    return Row("NLI", "Hugging Face zero-shot pipeline fp32 (reference), same GPU",
               f"{rate:,.0f} pairs/s", True)


# --------------------------------------------------------------------------- training

CLASSES = 28  # the training head: goemotions28


def training(device: torch.device, sizes: Sizes, record, work: Path) -> list[Row]:
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    from lanser_fast.models import ModelConfig
    from lanser_fast.models.resnet import build_model
    from lanser_fast.train.config import TrainConfig

    torch.manual_seed(0)
    x = torch.randn(sizes.train_batch, 1, 64, sizes.train_frames)
    y = torch.randint(0, CLASSES, (sizes.train_batch,))
    with FlopCounterMode(display=False) as counter:  # one item's work, times the batch
        net = build_model(ModelConfig(sizes.train_arch, CLASSES))
        F.cross_entropy(net(x[:1]), y[:1]).backward()
    step_flop = counter.get_total_flops() * sizes.train_batch
    contenders = [("default (auto)", TrainConfig()),
                  ("eager fp32, TF32 off (reference)",
                   TrainConfig(precision="fp32", compile="off", channels_last="off"))]
    return [_guarded("training", f"{sizes.train_arch} step, {name}", _train_step, device, sizes,
                     record, name, config, (x, y), step_flop) for name, config in contenders]


def _train_step(device, sizes, record, name, config, batch, step_flop) -> Row:
    """The trainer's own step under ``config``: first step (compilation) and steady s/step."""
    from lanser_fast.models import ModelConfig
    from lanser_fast.models.resnet import build_model
    from lanser_fast.train import trainer
    from lanser_fast.train.distributed import Dist
    from lanser_fast.train.runtime import fp32_means_fp32, resolve_runtime

    runtime = resolve_runtime(config, device)
    torch.manual_seed(0)
    memory = torch.channels_last if runtime.channels_last else torch.contiguous_format
    model = build_model(ModelConfig(sizes.train_arch, CLASSES)).to(device, memory_format=memory)
    optimizer = trainer._optimizer(model, config)
    scaler = torch.amp.GradScaler(device.type, enabled=runtime.grad_scaler)
    net = torch.compile(model) if runtime.compile else model
    group = Dist(0, 1, 0, device)

    def steps(count):
        with fp32_means_fp32(device, runtime.dtype):
            for _ in range(count):
                trainer._step(net, iter([batch]), optimizer, scaler, runtime, config, None,
                              group, memory)

    first_s = _timed(lambda: steps(1), device)  # compilation and allocator warm-up
    per_step = _timed(lambda: steps(sizes.train_steps), device) / sizes.train_steps
    gflops = step_flop / per_step / 1e9
    rate = sizes.train_batch * sizes.train_frames / 100 / per_step  # 10 ms frames
    _measurement(record, stage="train", workload=f"{sizes.train_arch}, batch "
                 f"{sizes.train_batch} x 1x64x{sizes.train_frames}, AdamW",
                 impl=f"trainer step, {name}: {runtime.describe()}",
                 role="reference" if "reference" in name else "ours", unit="audio-h/device-h",
                 median=rate, min=rate, max=rate, device=_device_name(device),
                 extra={"s_per_step": per_step, "first_step_s": first_s,
                        "gflop_per_s": gflops, "precision": runtime.precision})
    return Row("training", f"{sizes.train_arch} step, {name}: {runtime.describe()}",
               f"{per_step * 1e3:.1f} ms/step, {_of_peak(gflops, device, runtime.precision)}, "
               f"first step {first_s:.1f} s", True)


# --------------------------------------------------------------------------- ASR

def asr(device: torch.device, sizes: Sizes, record, work: Path) -> list[Row]:
    missing = [m for m in ("ctranslate2", "faster_whisper", "soundfile")
               if importlib.util.find_spec(m) is None]
    if missing:
        why = f"not run: {', '.join(missing)} not installed (pip install -e ., the package's " \
              "dependencies)"
        return [Row("ASR", "CTranslate2 CUDA probe", why, None),
                Row("ASR", "label --gpus 1 on synthetic clips", why, None)]
    from lanser_fast.asr.transcriber import TranscribeConfig, Transcriber
    from lanser_fast.asr.whisper_decode import DeviceError

    try:
        Transcriber(TranscribeConfig(model="base", device=str(device))).close()
    except DeviceError as exc:
        return [Row("ASR", "CTranslate2 CUDA probe", f"failed: {exc}", False),
                Row("ASR", "label --gpus 1 on synthetic clips", "not run: the probe failed",
                    None)]
    except Exception as exc:  # noqa: BLE001 - a missing model, reported in the row
        why = f"not run: {type(exc).__name__}: {exc}"
        return [Row("ASR", "CTranslate2 CUDA probe", why, None),
                Row("ASR", "label --gpus 1 on synthetic clips", why, None)]
    rows = [Row("ASR", f"CTranslate2 {device.type} probe (Whisper base)", "encode + decode ran",
                True)]
    if shutil.which("espeak-ng") is None:
        return rows + [Row("ASR", "label --gpus 1 on synthetic clips",
                           "not run: espeak-ng not installed", None)]
    rows.append(_label_run(device, sizes, work))
    return rows


def _label_run(device: torch.device, sizes: Sizes, work: Path) -> Row:
    clips, out = work / "clips", work / "labels.parquet"
    label = "from lanser_fast.cli import main; main()"  # the package need not be installed
    gpus = ["--gpus", "1"] if device.type == "cuda" else []
    hide = {} if device.type == "cuda" else {"CUDA_VISIBLE_DEVICES": ""}  # a CPU run stays one
    steps = [[sys.executable, "-m", "lanser_fast.synth", "pretrain", "--out", str(clips),
              "--count", str(sizes.label_clips)],
             [sys.executable, "-c", label, "label", str(clips), "--asr-model", "base", "--labeler",
              "similarity", "--taxonomy", "cremad6", "--out", str(out), *gpus]]
    started = time.perf_counter()
    for cmd in steps:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                              env={**_env(), "HF_HUB_OFFLINE": "1", **hide})
        if done.returncode:
            tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
            return Row("ASR", "label --gpus 1 on synthetic clips",
                       f"failed (exit {done.returncode}): {' | '.join(tail)}", False)
    import pyarrow.parquet as pq

    table = pq.read_table(out, columns=["error", "weak_label"]).to_pylist()
    errors = sum(1 for r in table if r["error"])
    ok = len(table) == sizes.label_clips and not errors
    return Row("ASR", f"label {' '.join(gpus) or '(CPU)'} on {sizes.label_clips} synthetic "
               "clips", f"{len(table)} rows, {errors} error rows, "
               f"{time.perf_counter() - started:.0f} s with start-up", ok)


def _env() -> dict:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


# --------------------------------------------------------------------------- driver

PARTS = (("front end", front_end), ("NLI", nli), ("training", training), ("ASR", asr))
NOT_RUN = {"front end": ["Triton log-mel vs log_mel_ref, every preset",
                         "Triton log-mel speed"],
           "NLI": ["torch engine fp32 / bf16 / fp16 vs CPU fp32",
                   "Hugging Face zero-shot pipeline (reference)"],
           "training": ["ResNet-50 step, default (auto)", "ResNet-50 step, eager fp32"],
           "ASR": ["CTranslate2 CUDA probe", "label --gpus 1 on synthetic clips"]}


def run(device: torch.device | None, sizes: Sizes = Sizes(), record=None) -> list[Row]:
    """Every part's rows on ``device`` (None: no CUDA device, every row says so), measurements
    into ``record`` (a ``bench.record.Record``; None: a new one); a part that raises gives one
    failed row with the error and the others still run."""
    if record is None:
        from lanser_fast.bench.record import Record

        record = Record.new(ROOT)
    if device is None:
        reason = f"not run: no CUDA device (torch {torch.__version__} sees none)"
        return [Row(part, check, reason, None) for part, checks in NOT_RUN.items()
                for check in checks]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gpu-smoke-") as tmp:
        for name, part in PARTS:
            started = time.perf_counter()
            try:
                got = part(device, sizes, record, Path(tmp))
            except Exception as exc:  # noqa: BLE001 - reported in the table, the rest runs
                got = [_failed(name, "the part as a whole", exc)]
            print(f"gpu_smoke: {name} done in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
            rows.extend(got)
    return rows


def table(rows: list[Row], device: str) -> str:
    mark = {True: "ok", False: "FAILED", None: "-"}
    widths = [max(len(r.part) for r in rows), max(len(r.check) for r in rows), 6]
    lines = [f"lanser-fast GPU smoke on {device}",
             f"{'part':{widths[0]}}  {'check':{widths[1]}}  {'status':6}  result"]
    lines += [f"{r.part:{widths[0]}}  {r.check:{widths[1]}}  {mark[r.ok]:6}  {r.result}"
              for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="gpu-smoke.json",
                        help="where the lanser-fast-bench/1 record goes")
    args = parser.parse_args(argv)
    from transformers.utils import logging as hf_logging

    from lanser_fast.bench.record import Record

    hf_logging.disable_progress_bar()
    record = Record.new(ROOT)
    device = torch.device("cuda") if torch.cuda.is_available() else None
    started = time.perf_counter()
    rows = run(device, record=record)
    name = _device_name(device) if device is not None else "no CUDA device"
    record.notes["gpu_smoke"] = {"device": name, "rows": [asdict(r) for r in rows],
                                 "wall_s": round(time.perf_counter() - started, 1)}
    print(table(rows, name))
    print(f"record: {record.save(args.out)}")
    return 1 if any(r.ok is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
