"""``label_corpus`` in one process: rows equal the stages' own results, the run is recorded,
changed settings are refused, manifest transcripts and the language filter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lanser_fast.label.corpus import label_corpus
from lanser_fast.label.output import OutputError
from lanser_fast.label.pipeline import Labeler
from lanser_fast.manifest import open_inputs
from lanser_fast.nli.scorer import ScoreConfig
from tests.label.common import NLI, WHISPER, label_config, rows_of, same_rows


def test_rows_are_the_stages_results_and_the_run_is_recorded(baseline, labeler, corpus,
                                                             tmp_path):
    from lanser_fast.asr.corpus import transcribe_corpus

    transcribed = tmp_path / "asr"
    transcribe_corpus(open_inputs([str(corpus)]), transcribed, transcriber=labeler.transcriber)
    asr_rows = rows_of(transcribed)
    assert set(baseline) == set(asr_rows) and len(baseline) == 8
    texts = [baseline[k]["transcript"] for k in sorted(baseline)]
    expected = labeler.scorer.score(texts)
    for key, result in zip(sorted(baseline), expected):
        row = baseline[key]
        assert row["error"] is None and row["transcript"] == asr_rows[key]["transcript"]
        assert row["weak_label"] == result.label and row["taxonomy"] == "goemotions28"
        assert row["scores"] == pytest.approx(list(result.scores), abs=1e-6)
        assert row["weak_label"] == labeler.scorer.taxonomy.labels[int(np.argmax(row["scores"]))]
        assert row["prompt"] == "The emotion of the conversation is {}."
        assert row["asr_model"] == WHISPER and row["nli_model"] == NLI
    summary = labeler.summary
    assert summary.rows == 8 and summary.labeled == 8 and summary.stage_s["asr"] > 0


def test_changed_settings_are_refused_unless_forced(baseline, labeler, corpus, tmp_path):
    out = tmp_path / "out"
    items = list(open_inputs([str(corpus)]))[:2]
    label_corpus(items, out, label_config(), labeler=labeler)
    other = label_config(nli=ScoreConfig(model=NLI, taxonomy="ekman7"))
    with pytest.raises(OutputError, match="nli.taxonomy: 'goemotions28' -> 'ekman7'"):
        label_corpus(open_inputs([str(corpus)]), out, other)
    summary = label_corpus(open_inputs([str(corpus)]), out, label_config(), labeler=labeler)
    assert summary.skipped == 2 and summary.files == 6
    same_rows(rows_of(out), baseline)


def test_manifest_transcripts_skip_asr_and_languages_filter(labeler, corpus, tmp_path):
    manifest = tmp_path / "m.jsonl"
    lines = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    rows = [{"path": str(corpus / r["path"]), "id": r["id"], "transcript": r["transcript"]}
            for r in lines[:3]] + [{"path": str(corpus / lines[3]["path"]), "id": "no-text"}]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = label_config(transcripts="manifest")
    manifest_labeler = Labeler(config, scorer=labeler.scorer)
    assert manifest_labeler.transcriber is None  # no Whisper loaded
    label_corpus(open_inputs([str(manifest)]), tmp_path / "m", config, labeler=manifest_labeler)
    got = rows_of(tmp_path / "m")
    expected = labeler.scorer.score([r["transcript"] for r in rows[:3]])
    for row, result in zip(rows[:3], expected):
        assert got[row["id"]]["transcript"] == row["transcript"]
        assert got[row["id"]]["weak_label"] == result.label
        assert got[row["id"]]["asr_model"] == "manifest"
    assert got["no-text"]["error_stage"] == "manifest"
    assert "no transcript" in got["no-text"]["error"]

    detected = {r["language"] for r in _rows_of_baseline(labeler, corpus, tmp_path)}
    keep = sorted(detected)[0]
    filtered = label_config(languages=(keep,))
    label_corpus(open_inputs([str(corpus)]), tmp_path / "lang", filtered,
                 labeler=Labeler(filtered, transcriber=labeler.transcriber,
                                 scorer=labeler.scorer))
    for row in rows_of(tmp_path / "lang").values():
        if row["language"] == keep:
            assert row["error"] is None and row["weak_label"] is not None
        else:
            assert row["error_stage"] == "language" and row["weak_label"] is None
            assert row["transcript"] and keep in row["error"]


def _rows_of_baseline(labeler, corpus, tmp_path):
    out = tmp_path / "again"
    label_corpus(open_inputs([str(corpus)]), out, label_config(), labeler=labeler)
    return rows_of(out).values()
