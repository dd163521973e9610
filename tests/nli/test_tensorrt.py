"""TensorRT engine on a GPU: scores against the HF pipeline, plan cache (skipped without
TensorRT and CUDA; the CPU side of this engine, the ONNX file it parses, is checked in
test_nli_engines.py)."""

from __future__ import annotations

import numpy as np
import pytest

from lanser_fast.nli.scorer import EntailmentScorer, ScoreConfig
from tests.helpers import pipeline_scores

pytestmark = [pytest.mark.usefixtures("lanser_cache"), pytest.mark.requires_cuda,
              pytest.mark.requires_tensorrt]
MODELS = ["FacebookAI/roberta-large-mnli", "facebook/bart-large-mnli",
          "MoritzLaurer/DeBERTa-v3-large-mnli-fever-anli-ling-wanli"]
TEXTS = ["I can't believe you did that!", "a", "Thank you so much, this is wonderful news.",
         "word " * 1100, "I can't believe you did that!"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("precision,tol", [("fp32", 1e-5), ("fp16", 2e-2)])
def test_tensorrt_scores_equal_the_pipeline(hub_models, model, precision, tol):
    scorer = EntailmentScorer(ScoreConfig(model=model, taxonomy="ekman7", engine="tensorrt",
                                          precision=precision))
    ours = np.array([r.scores for r in scorer.score(TEXTS)])
    theirs = pipeline_scores(model, TEXTS, scorer.taxonomy.prompts, scorer.config.template)
    assert np.abs(ours - theirs).max() <= tol


def test_tensorrt_plan_is_built_once(hub_models):
    from lanser_fast.nli.tensorrt_engine import TensorRTEngine

    first = TensorRTEngine(MODELS[0], precision="fp16")
    built = first.plan.stat().st_mtime_ns
    second = TensorRTEngine(MODELS[0], precision="fp16")
    assert second.plan == first.plan and second.plan.stat().st_mtime_ns == built
    assert first.onnx_path.name == "model.onnx"  # the fp32 export the CPU tests verify
