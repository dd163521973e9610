"""Two-class zero-shot models (``entailment`` / ``not_entailment``) scored as the Hugging Face
pipeline scores them; a model without an entailment class is refused before any folder."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from lanser_fast.cli import app
from lanser_fast.nli.scorer import EntailmentScorer, ScoreConfig
from lanser_fast.nli.semantics import nli_indices
from tests.helpers import pipeline_scores
from tools.tiny_models import build_nli

TOL = 1e-5
TEXTS = ["I can't believe you did that!", "Thank you so much, this is wonderful news.", "ok"]
pytestmark = pytest.mark.usefixtures("lanser_cache")


@pytest.fixture(scope="module")
def two_class(tmp_path_factory) -> str:
    # the layout of MoritzLaurer's deberta-v3 zeroshot-v2 models: entailment 0, not_entailment 1
    return str(build_nli(tmp_path_factory.mktemp("zeroshot-2c"), "deberta", "tiny",
                         labels=("entailment", "not_entailment")))


@pytest.fixture(scope="module")
def no_entailment(tmp_path_factory) -> str:
    return str(build_nli(tmp_path_factory.mktemp("no-entail"), "roberta", "tiny",
                         labels=("LABEL_0", "LABEL_1", "LABEL_2")))


def test_the_contrast_is_the_other_class():
    assert nli_indices({"entailment": 0, "not_entailment": 1}) == (0, 1)
    assert nli_indices({"not_entailment": 0, "entailment": 1}) == (1, 0)


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
@pytest.mark.parametrize("taxonomy,multi_label", [("iemocap4", False), ("iemocap4", True),
                                                  ("one", False)])
def test_two_class_scores_equal_the_pipeline(two_class, tmp_path, engine, taxonomy,
                                             multi_label):
    if taxonomy == "one":
        (tmp_path / "one.txt").write_text("joy\n")
        taxonomy = str(tmp_path / "one.txt")
    scorer = EntailmentScorer(ScoreConfig(model=two_class, taxonomy=taxonomy, engine=engine,
                                          multi_label=multi_label))
    ours = np.array([r.scores for r in scorer.score(TEXTS)])
    theirs = pipeline_scores(two_class, TEXTS, list(scorer.taxonomy.prompts),
                             scorer.config.template, multi_label)
    assert np.abs(ours - theirs).max() <= TOL


def test_label_runs_with_a_two_class_model_and_refuses_one_without_entailment(
        hub_models, two_class, no_entailment, speech_corpus, tmp_path):
    runner = CliRunner(env={"COLUMNS": "300"})
    base = ["label", str(speech_corpus), "--asr-model", "openai/whisper-tiny",
            "--max-new-tokens", "4"]
    ok = runner.invoke(app, [*base, "--nli-model", two_class, "--dry-run",
                             "--out", str(tmp_path / "ok")])
    assert ok.exit_code == 0, ok.output
    for args in (["--dry-run"], []):
        out = tmp_path / f"refused{len(args)}"
        refused = runner.invoke(app, [*base, "--nli-model", no_entailment, *args,
                                      "--out", str(out)])
        assert refused.exit_code == 2 and "no entailment class" in refused.output, \
            refused.output
        assert not out.exists()
    scored = runner.invoke(app, ["score", "-", "--model", no_entailment, "--out",
                                 str(tmp_path / "s.jsonl")], input="hello\n")
    assert scored.exit_code == 2 and "no entailment class" in scored.output
