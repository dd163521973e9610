"""``lanser-fast label`` with real weights: Whisper base (CTranslate2, int8) and the similarity
labeler on all-MiniLM-L6-v2, on espeak-ng speech whose sentences carry an emotion."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lanser_fast.cli import app
from lanser_fast.manifest import read_results
from tools.wer import wer


def test_real_whisper_and_similarity_labels_emotional_speech(real_models, tmp_path):
    from lanser_fast.synth.speech import agreement, synthesize_pretraining

    corpus = tmp_path / "corpus"
    truth = synthesize_pretraining(corpus, 12, match=1.0, seed=5)
    out = tmp_path / "out"
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [
        "label", str(corpus), "--asr-model", "base", "--labeler", "similarity", "--taxonomy",
        "cremad6", "--language", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in read_results(out).to_pylist()}
    assert len(rows) == 12 and all(r["error"] is None for r in rows.values())
    assert {r["asr_model"] for r in rows.values()} == {"base"}
    assert {r["nli_model"] for r in rows.values()} == {"sentence-transformers/all-MiniLM-L6-v2"}
    error = wer([t["transcript"] for t in truth], [rows[t["id"]]["transcript"] for t in truth])
    assert error < 0.35, error  # emotional prosody on espeak-ng: about 0.3 measured
    measured = agreement(corpus / "truth.jsonl", out)
    assert measured["text_agreement"] >= 4 / 12, measured  # chance: 2 of 12
    run = json.loads((out / "_run.json").read_text())
    assert run["identity"]["nli"]["labeler"] == "similarity"
