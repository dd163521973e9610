"""Entailment scores: equal to the Hugging Face zero-shot-classification pipeline (1e-5, fp32)
for the torch and ONNX Runtime engines, with the pipeline's single-/multi-/one-label semantics."""

from __future__ import annotations

import numpy as np
import pytest

from lanser_fast.nli.models import ModelNotFound
from lanser_fast.nli.scorer import EMPTY_REASON, EntailmentScorer, ScoreConfig
from lanser_fast.nli.semantics import LabelMapError, label_scores, nli_indices
from tests.helpers import pipeline_scores

TOL = 1e-5
MODELS = ["FacebookAI/roberta-large-mnli", "facebook/bart-large-mnli",
          "MoritzLaurer/DeBERTa-v3-large-mnli-fever-anli-ling-wanli"]
TEXTS = [
    "I can't believe you did that!",
    "a",
    "Thank you so much, this is wonderful news.",
    "word " * 1100,  # longer than the model's maximum length
    "I can't believe you did that!",  # duplicate
    "  Thank you so much,   this is wonderful news. ",  # duplicate after normalization
]

pytestmark = pytest.mark.usefixtures("lanser_cache")  # a cache of its own


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("taxonomy,multi_label", [("iemocap4", False), ("ekman7", True)])
def test_scores_equal_the_pipeline(hub_models, engine, model, taxonomy, multi_label):
    scorer = EntailmentScorer(ScoreConfig(model=model, taxonomy=taxonomy, engine=engine,
                                          multi_label=multi_label, top_k=2))
    ours = scorer.score(TEXTS)
    prompts = list(scorer.taxonomy.prompts)
    # the pipeline scores the whitespace-normalized text we score
    theirs = pipeline_scores(model, [" ".join(t.split()) for t in TEXTS], prompts,
                             scorer.config.template, multi_label)
    got = np.array([r.scores for r in ours])
    assert np.abs(got - theirs).max() <= TOL
    for result, row in zip(ours, theirs):
        assert result.label == scorer.taxonomy.labels[int(np.argmax(row))]
        assert result.score == max(result.scores) and len(result.top_k) == 2
    assert scorer.stats.distinct == 4 and scorer.stats.cached == 2


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_one_label_uses_the_multi_label_formula(hub_models, tmp_path, engine):
    (tmp_path / "one.txt").write_text("joy\n")
    model = MODELS[0]
    scorer = EntailmentScorer(ScoreConfig(model=model, taxonomy=str(tmp_path / "one.txt"),
                                          engine=engine))
    ours = np.array([r.scores for r in scorer.score(TEXTS[:3])])
    theirs = pipeline_scores(model, TEXTS[:3], ["joy"], scorer.config.template, False)
    assert np.abs(ours - theirs).max() <= TOL


def test_empty_transcripts_keep_their_rows(hub_models):
    results = EntailmentScorer(ScoreConfig(model=MODELS[0], taxonomy="iemocap4",
                                           engine="torch")).score(["", None, "  ", "hello"])
    assert [r.label for r in results[:3]] == [None] * 3
    assert all(r.reason == EMPTY_REASON and r.scores is None for r in results[:3])
    assert results[3].label is not None
    neutral = EntailmentScorer(ScoreConfig(model=MODELS[0], taxonomy="iemocap4", engine="torch",
                                           empty="neutral")).score([""])[0]
    assert neutral.label == "neutral" and "labeled neutral" in neutral.reason
    with pytest.raises(ValueError, match="not a label of iemocap4"):
        EntailmentScorer(ScoreConfig(model=MODELS[0], taxonomy="iemocap4", empty="calm"))


def test_missing_model_fails_before_work(hub_models, tmp_path):
    with pytest.raises(ModelNotFound, match="'nobody/no-such-mnli'"):
        EntailmentScorer(ScoreConfig(model="nobody/no-such-mnli"))
    with pytest.raises(ModelNotFound, match="no-folder"):
        EntailmentScorer(ScoreConfig(model=str(tmp_path / "no-folder")))


def test_label_map_lookup_and_semantics():
    roberta = {"CONTRADICTION": 0, "NEUTRAL": 1, "ENTAILMENT": 2}
    deberta = {"entailment": 0, "neutral": 1, "contradiction": 2}
    assert nli_indices(roberta) == (2, 0) and nli_indices(deberta) == (0, 2)
    # an order where the pipeline's assumed contradiction index (0) is wrong: we look it up
    odd = {"neutral": 0, "contradiction": 1, "entailment": 2}
    assert nli_indices(odd) == (2, 1)
    with pytest.raises(LabelMapError, match="no entailment class"):
        nli_indices({"LABEL_0": 0, "LABEL_1": 1})
    entail = np.array([[2.0, 0.0, -1.0]])
    contra = np.array([[0.0, 1.0, 3.0]])
    single = label_scores(entail, contra, multi_label=False)
    np.testing.assert_allclose(single, np.exp(entail) / np.exp(entail).sum())
    multi = label_scores(entail, contra, multi_label=True)
    np.testing.assert_allclose(multi, 1 / (1 + np.exp(contra - entail)))
