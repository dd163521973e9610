"""Entailment weak labels: (transcript, label) pairs per second against the HF pipeline.

Workload: a roberta-base-sized random-weight MNLI classifier (``tools.tiny_models.build_nli``,
realistic byte-level BPE tokenizer, roberta-large-mnli's label map), a 43-label taxonomy
(GoEmotions' 28 + 15 more emotion words), the paper's template, and synthetic transcripts of
2-60 words (uniform, seeded). Contenders, each as its users call it, in the same run:

- ours, exact path: ``EntailmentScorer`` with ONNX Runtime fp32 (the CPU default) on 500
  transcripts; scores within 1e-5 of the pipeline (checked on the pipeline's subset here);
- ours, fast path: the same with ``precision="int8"`` on the same 500 transcripts, with top-1
  agreement and the largest score difference against the exact path;
- ours, torch engine (the reference engine) on the 100-transcript subset;
- the Hugging Face zero-shot-classification pipeline at its default batch size and at
  ``batch_size=32`` on the 100-transcript subset (the same length mix);
- CTranslate2's encoder at int8 (its fastest CPU type) with the classification head in numpy,
  on the 100-transcript subset: a candidate engine, shipped only if it beats ONNX Runtime;
- the dedup gain: 200 transcripts of which 30 % repeat earlier ones (with whitespace changes),
  exact path, against the same scorer on 200 distinct transcripts, counted as pairs answered
  per second;
- roberta-large-sized: the pipeline at ``batch_size=32`` and both of our paths on 20
  transcripts.

``LANSER_FAST_BENCH_QUICK=1`` shrinks the counts to a few transcripts (a smoke run; the figures
mean nothing). Throughput is pairs per second (transcripts x 43); each measurement also records
transcripts/s and the useful GFLOP/s (multiply-adds of the unpadded pairs, x2), the number
that shows how close to the machine's peak each contender runs.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from lanser_fast.cache import cache_root
from lanser_fast.nli.scorer import EntailmentScorer, ScoreConfig, normalize
from lanser_fast.taxonomy import DEFAULT_TEMPLATE, Taxonomy
from lanser_fast.taxonomy.builtin import GOEMOTIONS28

LABELS = GOEMOTIONS28 + (
    "anxiety", "boredom", "calmness", "contempt", "contentment", "doubt", "empathy", "envy",
    "frustration", "guilt", "hope", "interest", "loneliness", "shame", "sympathy",
)
TAXONOMY = Taxonomy(name="bench43", labels=LABELS, prompts=LABELS,
                    source="GoEmotions' 28 labels and 15 more emotion words (benchmark)")
QUICK = os.environ.get("LANSER_FAST_BENCH_QUICK") == "1"  # tiny counts: checks the file runs
N_OURS, N_PIPELINE, N_DEDUP, N_LARGE = (4, 2, 8, 2) if QUICK else (500, 100, 200, 20)
REPEAT_SHARE = 0.30
UNIT = "pairs/s"
WORDS = (
    "i you we they he she it this that what why how when where there here really just so very "
    "never always maybe sorry thank thanks please love hate want need know think feel believe "
    "can't don't won't didn't wasn't it's i'm you're we're that's good bad great terrible fine "
    "okay happy sad angry afraid tired sick home work school money time day night week year "
    "mother father friend house car phone call told said going come back leave stay wait again "
    "right now later tomorrow yesterday today about with without for from into over after "
    "before because but and or if then than just only also still even ever the a an of to in "
    "on at my your our their his her me him them us be is are was were been have has had do "
    "does did get got make made take took see saw look looked talk talked ask asked tell give"
).split()


def transcripts(count: int, seed: int) -> list[str]:
    """``count`` transcripts of 2-60 words, first letter capitalized, sentence-final mark."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 60))]
        out.append(" ".join(words).capitalize() + rng.choice(".?!"))
    return out


def with_repeats(texts: list[str], share: float, seed: int) -> list[str]:
    """``texts`` where a ``share`` of the entries repeat earlier ones (extra whitespace)."""
    rng = random.Random(seed)
    out = list(texts)
    for i in rng.sample(range(1, len(out)), int(share * len(out))):
        out[i] = "  " + out[rng.randrange(i)].replace(" ", "  ", 1) + " "
    return out


def bench_model(size: str) -> Path:
    """The random roberta-``size`` MNLI model, built once into the lanser-fast cache (or the
    real model of ``--models``)."""
    from conftest import NLI_MODEL, hub_folder

    if NLI_MODEL:
        return hub_folder(NLI_MODEL)
    from filelock import FileLock

    from tools.tiny_models import build_nli

    folder = cache_root() / "bench-models" / f"roberta-{size}-mnli"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if not (folder / "config.json").exists():
            build_nli(folder, "roberta", size)
    return folder


def flops_per_pair(config, tokens: float) -> float:
    """Multiply-adds x2 of one pair of ``tokens`` tokens: projections, FFN and attention."""
    h, f, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = layers * (4 * h * h + 2 * h * f + 2 * tokens * h)
    return 2.0 * tokens * per_token


class Workload:
    """Transcripts, their pair count and token statistics for one model."""

    def __init__(self, model: Path, texts: list[str], name: str):
        from transformers import AutoConfig, AutoTokenizer

        self.model, self.texts, self.name = model, texts, name
        tokenizer = AutoTokenizer.from_pretrained(model)
        hypotheses = TAXONOMY.hypotheses(DEFAULT_TEMPLATE)
        premise = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
        hyp = [len(ids) for ids in tokenizer(hypotheses, add_special_tokens=False)["input_ids"]]
        specials = tokenizer.num_special_tokens_to_add(pair=True)
        self.pairs = len(texts) * len(hypotheses)
        self.mean_tokens = float(np.mean(premise) + np.mean(hyp) + specials)
        config = AutoConfig.from_pretrained(model)
        self.flops = sum(flops_per_pair(config, p + h + specials) for p in premise for h in hyp)

    def extra(self, seconds: float, **more) -> dict:
        return {"transcripts": len(self.texts), "pairs": self.pairs,
                "mean_tokens_per_pair": round(self.mean_tokens, 1),
                "transcripts_per_s": round(len(self.texts) / seconds, 3),
                "useful_gflop_per_s": round(self.flops / seconds / 1e9, 1), **more}


def scorer(model: Path, precision: str = "fp32", engine: str = "onnxruntime"):
    config = ScoreConfig(model=str(model), engine=engine, precision=precision)
    scoring = EntailmentScorer(config, taxonomy=TAXONOMY)
    scoring.score(transcripts(2, seed=99))  # warm-up: sessions, allocations, thread pools
    scoring.forget()
    return scoring


def run_ours(scoring: EntailmentScorer, texts: list[str]) -> np.ndarray:
    scoring.forget()
    return np.array([r.scores for r in scoring.score(texts)])


def pipeline_scores(classify, texts: list[str], batch_size: int | None) -> np.ndarray:
    extra = {} if batch_size is None else {"batch_size": batch_size}
    out = classify(texts, candidate_labels=list(LABELS), hypothesis_template=DEFAULT_TEMPLATE,
                   **extra)
    return np.array([[dict(zip(r["labels"], r["scores"]))[label] for label in LABELS]
                     for r in out])


def agreement(scores: np.ndarray, exact: np.ndarray) -> dict:
    """Top-1 agreement and largest score difference, with the exact path's median margin
    between its best and second label (how close the calls a cheaper path can flip are)."""
    top2 = np.sort(exact, axis=1)[:, -2:]
    return {"top1_agreement_vs_exact": round(float(np.mean(
        scores.argmax(1) == exact.argmax(1))), 4),
        "max_score_diff_vs_exact": float(np.abs(scores - exact).max()),
        "exact_median_top1_margin": float(np.median(top2[:, 1] - top2[:, 0]))}


# ----------------------------------------------------------------------------- roberta-base

BASE_WORKLOAD = "roberta-base-sized, 43 labels, 2-60 words"
RESULTS: dict[str, np.ndarray] = {}


@pytest.fixture(scope="module")
def base_model() -> Path:
    return bench_model("base")


@pytest.fixture(scope="module")
def corpus(base_model) -> Workload:
    return Workload(base_model, transcripts(N_OURS, seed=0), BASE_WORKLOAD)


@pytest.fixture(scope="module")
def subset(base_model, corpus) -> Workload:
    return Workload(base_model, corpus.texts[:N_PIPELINE], BASE_WORKLOAD)


def _timed(measure, workload: Workload, run, impl: str, role: str):
    """One timed run of ``run() -> scores`` on ``workload``; (measurement, scores)."""
    out = {}
    measurement = measure(lambda: out.update(scores=run()), work=workload.pairs, rounds=1,
                          warmup_rounds=0, stage="nli", workload=workload.name, impl=impl,
                          role=role, unit=UNIT, threads=torch.get_num_threads())
    measurement.extra.update(workload.extra(workload.pairs / measurement.median))
    return measurement, out["scores"]


def _ours(measure, workload: Workload, scoring, impl: str, role: str = "ours"):
    return _timed(measure, workload, lambda: run_ours(scoring, workload.texts), impl, role)


def _pipeline(measure, workload: Workload, batch_size: int | None, exact: np.ndarray | None):
    """The HF pipeline on ``workload``, with its difference from our exact scores if known."""
    from transformers import pipeline

    classify = pipeline("zero-shot-classification", model=str(workload.model),
                        tokenizer=str(workload.model))
    pipeline_scores(classify, transcripts(1, seed=99), batch_size)  # warm-up
    name = "default batch size" if batch_size is None else f"batch_size={batch_size}"
    measurement, scores = _timed(
        measure, workload, lambda: pipeline_scores(classify, workload.texts, batch_size),
        f"transformers zero-shot-classification pipeline, {name}", "reference")
    if exact is not None:
        measurement.extra["max_score_diff_vs_ours_exact"] = float(np.abs(scores - exact).max())
        measurement.extra["top1_agreement_vs_ours_exact"] = float(np.mean(
            scores.argmax(1) == exact.argmax(1)))


def test_nli_ours_exact(measure, corpus):
    scoring = scorer(corpus.model, "fp32")
    m, scores = _ours(measure, corpus, scoring,
                      "lanser_fast EntailmentScorer, onnxruntime fp32 (exact, CPU default)")
    RESULTS["exact"] = scores
    m.extra["token_budget"] = scoring.token_budget


@pytest.mark.full_only
def test_nli_ours_int8(measure, corpus):
    scoring = scorer(corpus.model, "int8")
    m, scores = _ours(measure, corpus, scoring,
                      "lanser_fast EntailmentScorer, onnxruntime int8 (fast path)")
    if "exact" in RESULTS:
        m.extra.update(agreement(scores, RESULTS["exact"]))


@pytest.mark.full_only
def test_nli_ours_torch(measure, subset):
    scoring = scorer(subset.model, engine="torch")
    m, scores = _ours(measure, subset, scoring,
                      "lanser_fast EntailmentScorer, torch fp32 (reference engine)")
    if "exact" in RESULTS:
        m.extra["max_score_diff_vs_onnxruntime"] = float(
            np.abs(scores - RESULTS["exact"][: len(scores)]).max())


@pytest.mark.parametrize("batch_size", [pytest.param(None, marks=pytest.mark.full_only), 32])
def test_nli_pipeline(measure, subset, batch_size):
    exact = RESULTS["exact"][: len(subset.texts)] if "exact" in RESULTS else None
    _pipeline(measure, subset, batch_size, exact)


@pytest.mark.full_only
def test_nli_ctranslate2_candidate(measure, subset, tmp_path):
    """CTranslate2's encoder (int8, its fastest CPU type) + the classification head in numpy."""
    import ctranslate2

    encoder, head = _ctranslate2_model(subset.model, tmp_path)
    scoring = EntailmentScorer(ScoreConfig(model=str(subset.model)), taxonomy=TAXONOMY,
                               engine=_Ct2Engine(encoder, head))
    scoring.score(transcripts(2, seed=99))
    m, scores = _ours(measure, subset, scoring,
                      f"ctranslate2 {ctranslate2.__version__} Encoder int8 + numpy head "
                      "(candidate engine)", role="reference")
    if "exact" in RESULTS:
        m.extra.update(agreement(scores, RESULTS["exact"][: len(scores)]))


class _Ct2Engine:
    name = "ctranslate2"

    def __init__(self, encoder, head):
        self.encoder, self.head = encoder, head

    def logits(self, input_ids, attention_mask, token_type_ids):
        rows = [ids[mask.astype(bool)].tolist() for ids, mask in zip(input_ids, attention_mask)]
        hidden = np.asarray(self.encoder.forward_batch(rows).last_hidden_state)
        return self.head(hidden[:, 0, :])


def _ctranslate2_model(model: Path, tmp_path: Path):
    """Convert the RoBERTa encoder with CTranslate2's converter; return (Encoder, head)."""
    import json
    import shutil

    import ctranslate2
    from ctranslate2.converters import TransformersConverter
    from safetensors.numpy import load_file

    source = tmp_path / "hf"
    shutil.copytree(model, source)
    config = json.loads((source / "config.json").read_text())
    config["position_embedding_type"] = "absolute"  # the converter still reads this field
    (source / "config.json").write_text(json.dumps(config))
    TransformersConverter(str(source)).convert(str(tmp_path / "ct2"), force=True)
    encoder = ctranslate2.Encoder(str(tmp_path / "ct2"), device="cpu", compute_type="int8",
                                  intra_threads=torch.get_num_threads())
    weights = load_file(str(model / "model.safetensors"))
    dense_w, dense_b = weights["classifier.dense.weight"], weights["classifier.dense.bias"]
    out_w, out_b = weights["classifier.out_proj.weight"], weights["classifier.out_proj.bias"]

    def head(cls: np.ndarray) -> np.ndarray:
        return (np.tanh(cls @ dense_w.T + dense_b) @ out_w.T + out_b).astype(np.float32)

    return encoder, head


@pytest.mark.full_only
def test_nli_dedup(measure, base_model):
    texts = with_repeats(transcripts(N_DEDUP, seed=1), REPEAT_SHARE, seed=2)
    distinct = len({normalize(t) for t in texts})
    workload = Workload(base_model, texts,
                        f"{BASE_WORKLOAD}, {int(REPEAT_SHARE * 100)} % repeated transcripts")
    scoring = scorer(base_model, "fp32")
    m, _ = _ours(measure, workload, scoring,
                 "lanser_fast EntailmentScorer, onnxruntime fp32, dedup on (default)")
    m.extra["distinct_transcripts"] = distinct


@pytest.mark.full_only
def test_nli_dedup_off(measure, base_model):
    """The same transcripts with dedup defeated: every one is made distinct."""
    texts = with_repeats(transcripts(N_DEDUP, seed=1), REPEAT_SHARE, seed=2)
    unique = [f"{t} ({i})" if i else t for i, t in enumerate(texts)]
    workload = Workload(base_model, unique,
                        f"{BASE_WORKLOAD}, {int(REPEAT_SHARE * 100)} % repeated transcripts")
    scoring = scorer(base_model, "fp32")
    _ours(measure, workload, scoring, "same scorer with every transcript made distinct "
          "(no dedup)", role="reference")


# ---------------------------------------------------------------------------- roberta-large

LARGE_WORKLOAD = f"roberta-large-sized, 43 labels, 2-60 words, {N_LARGE} transcripts"
LARGE: dict[str, np.ndarray] = {}


@pytest.fixture(scope="module")
def large() -> Workload:
    return Workload(bench_model("large"), transcripts(N_LARGE, seed=3), LARGE_WORKLOAD)


@pytest.mark.full_only
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_nli_large_ours(measure, large, precision):
    scoring = scorer(large.model, precision)
    kind = "exact" if precision == "fp32" else "fast path"
    m, scores = _ours(measure, large, scoring,
                      f"lanser_fast EntailmentScorer, onnxruntime {precision} ({kind})")
    LARGE[precision] = scores
    if precision == "int8" and "fp32" in LARGE:
        m.extra.update(agreement(scores, LARGE["fp32"]))


@pytest.mark.full_only
def test_nli_large_pipeline(measure, large):
    _pipeline(measure, large, 32, LARGE.get("fp32"))
