"""Similarity weak labels: transcripts labeled per second against sentence-transformers and the
HF zero-shot pipeline.

Workload: real all-MiniLM-L6-v2 weights (the offline shelf; ``python -m tools.real_models``),
the 43-label taxonomy of ``bench_nli`` and the paper's template, on the 420 hand-written
emotional sentences of ``lanser_fast.synth.sentences`` (6-20 words). Contenders, in the same run:

- ours: ``SimilarityScorer`` (labels embedded once when it is built, each distinct transcript
  once, batches by token budget), ONNX Runtime fp32 (the CPU default), int8, and torch;
- reference: sentence-transformers as a user writes it: ``encode`` of the transcripts (its
  default ``batch_size=32``), cosine to the label embeddings (encoded once, outside the timer)
  and the same softmax; checked equal to ours within 1e-5;
- reference, another method: the HF zero-shot-classification pipeline (``batch_size=32``) on a
  random-weight NLI cross-encoder of the same size as MiniLM (384 hidden, 6 layers, RoBERTa
  layout and tokenizer, roberta-large-mnli's labels) on a 40-sentence subset: what entailment
  labels cost at this model size. The methods differ (43 cross-encoder passes per transcript vs
  one encoder pass), so this ratio is the price of the paper's method, not a speed-up of ours.

Throughput is transcripts labeled per second; ``LANSER_FAST_BENCH_QUICK=1`` shrinks the counts.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from bench_nli import TAXONOMY
from conftest import full_only

from lanser_fast.cache import cache_root
from lanser_fast.nli.scorer import ScoreConfig, normalize
from lanser_fast.nli.similarity import SimilarityScorer
from lanser_fast.taxonomy import DEFAULT_TEMPLATE

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
QUICK = os.environ.get("LANSER_FAST_BENCH_QUICK") == "1"
N_OURS, N_PIPELINE = (40, 4) if QUICK else (420, 40)
UNIT = "transcripts/s"
WORKLOAD = "all-MiniLM-L6-v2, 43 labels, 420 emotional sentences"
PIPELINE_WORKLOAD = "43 labels, 40 emotional sentences"
RESULTS: dict[str, np.ndarray] = {}


@pytest.fixture(scope="module")
def texts() -> list[str]:
    from lanser_fast.synth.sentences import sentences

    bank = [normalize(text) for _, text in sentences()]
    # all distinct (11 is prime to 420), every emotion, mixed order: ours embeds each distinct
    # transcript once, so repeats would favour it
    return [bank[(11 * i) % len(bank)] for i in range(N_OURS)]


@pytest.fixture(scope="module")
def minilm() -> str:
    from lanser_fast import shelf

    shelf.install("all-MiniLM-L6-v2")  # a no-op when tools/setup.sh installed it
    return MINILM


def _scorer(model: str, **options) -> SimilarityScorer:
    scorer = SimilarityScorer(ScoreConfig(model=model, labeler="similarity", **options),
                              taxonomy=TAXONOMY)
    scorer.score(["a warm-up sentence.", "another one"])  # sessions, allocations, pools
    scorer.forget()
    return scorer


def _timed(measure, texts, run, impl: str, role: str, workload: str = WORKLOAD):
    out = {}
    measurement = measure(lambda: out.update(scores=run()), work=len(texts), rounds=5,
                          warmup_rounds=1, stage="similarity", workload=workload, impl=impl,
                          role=role, unit=UNIT, threads=torch.get_num_threads())
    return measurement, out["scores"]


def _ours(scorer: SimilarityScorer, texts: list[str]) -> np.ndarray:
    scorer.forget()
    return np.array([r.scores for r in scorer.score(texts)])


def test_similarity_ours_onnxruntime(measure, minilm, texts):
    scorer = _scorer(minilm, engine="onnxruntime", precision="fp32")
    m, RESULTS["ours"] = _timed(measure, texts, lambda: _ours(scorer, texts),
                                "lanser_fast SimilarityScorer, onnxruntime fp32 (CPU default)",
                                "ours")
    m.extra["token_budget"] = scorer.encoder.token_budget


@full_only
def test_similarity_ours_int8(measure, minilm, texts):
    scorer = _scorer(minilm, engine="onnxruntime", precision="int8")
    m, scores = _timed(measure, texts, lambda: _ours(scorer, texts),
                       "lanser_fast SimilarityScorer, onnxruntime int8", "ours")
    if "ours" in RESULTS:
        m.extra["top1_agreement_vs_fp32"] = float(np.mean(
            scores.argmax(1) == RESULTS["ours"].argmax(1)))


@full_only
def test_similarity_ours_torch(measure, minilm, texts):
    scorer = _scorer(minilm, engine="torch")
    _timed(measure, texts, lambda: _ours(scorer, texts),
           "lanser_fast SimilarityScorer, torch fp32", "ours")


def test_similarity_sentence_transformers(measure, minilm, texts):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import cos_sim

    model = SentenceTransformer(minilm, device="cpu")
    labels = model.encode(TAXONOMY.hypotheses(DEFAULT_TEMPLATE), convert_to_tensor=True)
    temperature = ScoreConfig().temperature
    model.encode(["a warm-up sentence."])

    def run() -> np.ndarray:
        cosine = cos_sim(model.encode(texts, convert_to_tensor=True), labels)
        return torch.softmax(cosine.double() / temperature, dim=1).numpy()

    m, scores = _timed(measure, texts, run,
                       "sentence-transformers encode (batch_size=32) + cosine + softmax",
                       "reference")
    if "ours" in RESULTS:
        m.extra["max_score_diff_vs_ours"] = float(np.abs(scores - RESULTS["ours"]).max())


@full_only
def test_similarity_entailment_pipeline(measure, texts):
    """The zero-shot pipeline on an NLI cross-encoder of MiniLM's size (another method)."""
    from transformers import pipeline

    subset = texts[:N_PIPELINE]
    classify = pipeline("zero-shot-classification", model=str(_nli_of_minilm_size()),
                        device="cpu")
    labels = list(TAXONOMY.labels)
    classify(subset[:1], candidate_labels=labels, hypothesis_template=DEFAULT_TEMPLATE)
    measure(lambda: classify(subset, candidate_labels=labels,
                             hypothesis_template=DEFAULT_TEMPLATE, batch_size=32),
            work=len(subset), rounds=1, warmup_rounds=0, stage="similarity",
            workload=PIPELINE_WORKLOAD,
            impl="transformers zero-shot-classification pipeline (batch_size=32), random NLI "
                 "cross-encoder of MiniLM's size (entailment: another method)",
            role="reference", unit=UNIT, threads=torch.get_num_threads())


@full_only
def test_similarity_ours_on_the_pipeline_subset(measure, minilm, texts):
    subset = texts[:N_PIPELINE]
    scorer = _scorer(minilm, engine="onnxruntime", precision="fp32")
    _timed(measure, subset, lambda: _ours(scorer, subset),
           "lanser_fast SimilarityScorer, onnxruntime fp32 (all-MiniLM-L6-v2)", "ours",
           PIPELINE_WORKLOAD)


def _nli_of_minilm_size() -> Path:
    from filelock import FileLock

    from tools.tiny_models import build_nli

    folder = cache_root() / "bench-models" / "roberta-minilm-mnli"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if not (folder / "config.json").exists():
            build_nli(folder, "roberta", "minilm")
    return folder
