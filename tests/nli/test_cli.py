"""`lanser-fast score` and `lanser-fast prompts` end to end on the tiny local models."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lanser_fast.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "300"}


@pytest.fixture(autouse=True)
def onnx_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("LANSER_FAST_CACHE", str(tmp_path_factory.getbasetemp() / "lanser-cache"))


@pytest.fixture()
def transcripts(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [{"id": "a", "transcript": "I am so happy for you!"},
            {"id": "b", "transcript": ""},
            {"id": "c", "transcript": "Get out of my house."},
            {"id": "d", "transcript": "I am so happy for you!"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_score_writes_one_row_per_text(hub_models, transcripts, tmp_path):
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", str(transcripts), "--out", str(out), "--taxonomy",
                                 "iemocap4", "--top-k", "2"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "4 rows written" in result.output and "pairs/s" in result.output
    assert "1 repeats answered from the cache" in result.output
    rows = pq.read_table(out).to_pylist()
    assert [r["id"] for r in rows] == ["a", "b", "c", "d"]
    assert rows[1]["weak_label"] is None and rows[1]["reason"] == "empty transcript"
    for row in (rows[0], rows[2]):
        assert row["weak_label"] in ("neutral", "happy", "sad", "angry")
        assert len(row["scores"]) == 4 and len(row["top_k"]) == 2
        assert row["taxonomy"] == "iemocap4" and row["nli_model"] == "FacebookAI/roberta-large-mnli"
    assert rows[0]["scores"] == rows[3]["scores"]


def test_score_jsonl_output_and_empty_label(hub_models, transcripts, tmp_path):
    out = tmp_path / "scores.jsonl"
    result = runner.invoke(app, ["score", str(transcripts), "--out", str(out), "--taxonomy",
                                 "iemocap4", "--empty", "neutral", "--engine", "torch"],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4 and rows[1]["weak_label"] == "neutral"


@pytest.mark.parametrize("args,message", [
    (["--column", "text"], "no column 'text' (columns: id, transcript)"),
    (["--model", "nobody/no-such-mnli"], "'nobody/no-such-mnli' could not be loaded"),
    (["--taxonomy", "nope.yaml"], "not a built-in taxonomy"),
    (["--engine", "tensorflow"], "unknown NLI engine 'tensorflow'"),
    (["--engine", "tensorrt"], "pip install 'lanser-fast[tensorrt]' on a CUDA machine"),
    (["--engine", "torch", "--precision", "int8"], "not available with the torch engine"),
    (["--empty", "calm", "--taxonomy", "iemocap4"], "not a label of iemocap4"),
])
def test_score_bad_flags_fail_before_work(hub_models, transcripts, tmp_path, args, message):
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", str(transcripts), "--out", str(out), *args], env=WIDE)
    assert result.exit_code != 0 and message in result.output
    assert not out.exists()


def test_prompts_table(hub_models, tmp_path):
    labeled = tmp_path / "labeled.csv"
    labeled.write_text("text,label\nI am so happy,happy\nI hate this,angry\nwhatever,neutral\n"
                       "I miss her so much,sad\n")
    result = runner.invoke(app, ["prompts", str(labeled), "--taxonomy", "iemocap4",
                                 "--template", "The emotion of the conversation is {}.",
                                 "--template", "This person feels {}."], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "The emotion of the conversation is {}." in result.output
    assert "This person feels {}." in result.output and "unweighted recall" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhi,joyful\n")
    result = runner.invoke(app, ["prompts", str(bad), "--taxonomy", "iemocap4"], env=WIDE)
    assert result.exit_code != 0 and "['joyful'] are not labels of iemocap4" in result.output


def test_prompt_metrics():
    from lanser_fast.nli.prompts import _metrics

    result = _metrics("t", ["a", "a", "b", None], ["a", "b", "b", "b"])
    assert result.accuracy == 0.5
    assert result.unweighted_recall == pytest.approx((1.0 + 1 / 3) / 2)


def test_score_and_prompts_with_the_similarity_labeler(real_models, transcripts, tmp_path):
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", str(transcripts), "--out", str(out), "--labeler",
                                 "similarity", "--taxonomy", "cremad6"], env=WIDE)
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    assert rows[0]["weak_label"] == "happy" and rows[2]["weak_label"] in ("anger", "disgust")
    assert rows[0]["nli_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert abs(sum(rows[0]["scores"]) - 1) < 1e-5 and rows[1]["reason"] == "empty transcript"
    labeled = tmp_path / "labeled.csv"
    labeled.write_text("text,label\nI am so happy,happy\nI hate this,anger\n")
    result = runner.invoke(app, ["prompts", str(labeled), "--taxonomy", "cremad6",
                                 "--labeler", "similarity"], env=WIDE)
    assert result.exit_code == 0 and "unweighted recall" in result.output, result.output
    result = runner.invoke(app, ["score", str(transcripts), "--out", str(out), "--labeler",
                                 "similarity", "--multi-label"], env=WIDE)
    assert result.exit_code == 2 and "one distribution over the taxonomy" in result.output


def test_folders_that_are_not_models_say_what_they_lack(hub_models, transcripts, tmp_path):
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", str(transcripts), "--out", str(out), "--model",
                                 str(folder)], env=WIDE)
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "is a folder but not a model: it lacks config.json" in text
    assert "download" not in text
    result = runner.invoke(app, ["score", str(transcripts), "--out", str(out), "--labeler",
                                 "similarity", "--model", str(folder)], env=WIDE)
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "not a sentence-embedding model" in text
    assert "config.json, model.safetensors" in text
    result = runner.invoke(app, ["transcribe", str(folder), "--out", str(tmp_path / "t"),
                                 "--model", str(folder)], env=WIDE)
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "holds neither a CTranslate2 model" in text
    assert "it holds notes.txt" in text
