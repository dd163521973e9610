"""The similarity labeler on real all-MiniLM-L6-v2 weights: embeddings and scores equal
sentence-transformers' own ``encode`` + cosine, pooling equals its Pooling module, and the labels
of clearly emotional sentences are mostly the intended emotion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lanser_fast.nli.embedding import POOLING_ORDER, pool
from lanser_fast.nli.labelers import make_scorer
from lanser_fast.nli.scorer import ScoreConfig

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = ["I am so happy for you, this is wonderful!", "Get out of my house right now!",
         "The train leaves at nine.", "", "Why does the kitchen smell of rotten eggs?",
         "  I   miss her so much. ", "a", "word " * 300]  # empty, padded, one letter, truncated
pytestmark = pytest.mark.usefixtures("lanser_cache")


@pytest.fixture(scope="module")
def reference(real_models):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(MINILM, device="cpu")


def _st_scores(reference, texts, hypotheses, temperature):
    from sentence_transformers.util import cos_sim

    cosine = cos_sim(reference.encode(texts, convert_to_tensor=True),
                     reference.encode(hypotheses, convert_to_tensor=True)).double()
    return cosine.numpy(), torch.softmax(cosine / temperature, dim=1).numpy()


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_scores_equal_sentence_transformers(reference, engine):
    scorer = make_scorer(ScoreConfig(model=MINILM, labeler="similarity", taxonomy="cremad6",
                                     engine=engine, precision="fp32"))
    texts = [t for t in TEXTS if t.strip()]
    normalized = [" ".join(t.split()) for t in texts]  # what both labelers score
    cosine, expected = _st_scores(reference, normalized,
                                  scorer.taxonomy.hypotheses(scorer.config.template),
                                  scorer.config.temperature)
    assert np.abs(scorer.similarities(normalized) - cosine).max() <= 1e-5
    results = scorer.score(TEXTS)
    got = np.array([r.scores for r in results if r.scores is not None])
    assert np.abs(got - expected).max() <= 1e-5
    assert [r.label for r in results if r.scores is not None] == \
        [scorer.taxonomy.labels[i] for i in expected.argmax(axis=1)]
    empty = results[TEXTS.index("")]
    assert empty.label is None and empty.reason == "empty transcript"
    assert scorer.stats.distinct == len(texts) and scorer.stats.cached == 0


def test_int8_agrees_with_fp32_on_top_labels(real_models):
    from lanser_fast.synth.sentences import sentences

    texts = [text for _, text in sentences()][::7]
    exact, fast = (make_scorer(ScoreConfig(model=MINILM, labeler="similarity",
                                           taxonomy="cremad6", precision=p)) for p in
                   ("fp32", "int8"))
    same = sum(a.label == b.label for a, b in zip(exact.score(texts), fast.score(texts)))
    assert same >= 0.9 * len(texts), (same, len(texts))


@pytest.mark.parametrize("mode", POOLING_ORDER)
def test_pooling_equals_sentence_transformers_pooling(mode):
    from sentence_transformers.sentence_transformer.modules import Pooling

    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(3, 7, 16)).astype(np.float32)
    mask = np.array([[1] * 7, [1] * 4 + [0] * 3, [1] + [0] * 6])
    st_mode = "mean_sqrt_len_tokens" if mode == "mean_sqrt_len" else mode
    module = Pooling(16, pooling_mode=st_mode)
    features = {"token_embeddings": torch.from_numpy(hidden),
                "attention_mask": torch.from_numpy(mask)}
    expected = module(features)["sentence_embedding"].numpy()
    np.testing.assert_allclose(pool(hidden, mask, [mode]), expected, atol=1e-6)


def test_clearly_emotional_sentences_get_their_emotion(real_models):
    """all-MiniLM-L6-v2, cremad6, the paper's template: the share of hand-written sentences
    whose weak label is the intended emotion (chance: 1/6). Measured on the full bank of 420:
    see the closing note of issue 17; this checks it stays well above chance on 60 of them."""
    from lanser_fast.synth.sentences import EMOTIONS, sentences

    bank = [pair for emotion in EMOTIONS for pair in sentences(emotion)[:10]]
    scorer = make_scorer(ScoreConfig(model=MINILM, labeler="similarity", taxonomy="cremad6"))
    labels = [r.label for r in scorer.score([text for _, text in bank])]
    right = sum(label == emotion for label, (emotion, _) in zip(labels, bank))
    assert right >= 0.5 * len(bank), (right, len(bank))


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_scores_do_not_depend_on_the_batch_partners(real_models, engine):
    """Same inputs, same rows: a transcript scored alone, among others or in another order gets
    the same scores, bit for bit."""
    texts = [f"{t} ({i})" for i, t in enumerate([t for t in TEXTS if t.strip()] * 3)]
    scorer = make_scorer(ScoreConfig(model=MINILM, labeler="similarity", taxonomy="cremad6",
                                     engine=engine, precision="fp32", cache_size=0))
    together = [r.scores for r in scorer.score(texts)]
    for i in (0, 4, len(texts) - 1):
        assert [r.scores for r in scorer.score([texts[i]])] == [together[i]]
    assert [r.scores for r in scorer.score(texts[::-1])][::-1] == together
