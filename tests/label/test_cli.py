"""``lanser-fast label``, ``prepare`` and ``export`` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lanser_fast.cli import app
from lanser_fast.manifest import read_results
from tests.label.common import NEW_TOKENS, NLI, WHISPER


def test_cli_fails_before_any_work_and_labels_a_folder(hub_models, corpus, tmp_path):
    runner = CliRunner(env={"COLUMNS": "400"})
    base = ["label", str(corpus), "--asr-model", WHISPER, "--nli-model", NLI,
            "--max-new-tokens", str(NEW_TOKENS)]
    no_path = tmp_path / "bad.csv"
    no_path.write_text("file,text\na.wav,hello\n")
    result = runner.invoke(app, ["label", str(no_path), "--out", str(tmp_path / "o1")])
    assert result.exit_code == 2 and "no 'path' column" in result.output
    result = runner.invoke(app, [*base[:2], "--asr-model", "no-such/whisper", "--nli-model",
                                 NLI, "--out", str(tmp_path / "o2")])
    assert result.exit_code == 2 and "--asr-model" in result.output
    result = runner.invoke(app, [*base[:4], "--nli-model", "no-such/nli",
                                 "--out", str(tmp_path / "o3")])
    assert result.exit_code == 2 and "--nli-model" in result.output
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "o4"), "--ray", "auto"],
                           env={"COLUMNS": "400", "RAY_ADDRESS": ""})
    assert result.exit_code == 2 and "--ray" in result.output and "ray start" in result.output
    assert not list(tmp_path.glob("o*/part-*"))

    result = runner.invoke(app, ["prepare", "--asr-model", WHISPER, "--nli-model", NLI])
    assert result.exit_code == 0, result.output
    prepared = dict(line.split(": ", 1) for line in result.output.splitlines()[:3])
    assert set(prepared) == {"whisper", "nli", "onnx"}
    assert prepared["onnx"].endswith("model.onnx") and \
        Path(prepared["onnx"].split(" -> ")[1]).is_file()

    out = tmp_path / "out"
    result = runner.invoke(app, [*base, "--out", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "8 inputs" in result.output and not list(out.glob("part-*"))
    result = runner.invoke(app, [*base, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "rows written" in result.output and "weak labels" in result.output
    assert len(read_results(out)) == 8
    result = runner.invoke(app, [*base, "--out", str(out), "--taxonomy", "ekman7"])
    assert result.exit_code == 2 and "other settings" in result.output
    result = runner.invoke(app, [*base, "--out", str(out)])
    assert result.exit_code == 0 and "8" in result.output  # resumed: all done

    exported = tmp_path / "labels.jsonl"
    result = runner.invoke(app, ["export", str(out), "--out", str(exported)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert {r["id"] for r in lines} == {r["id"] for r in read_results(out).to_pylist()}
    result = runner.invoke(app, ["export", str(out), "--out", str(tmp_path / "cuts.jsonl.gz")])
    assert result.exit_code == 0, result.output
    from lhotse import load_manifest

    assert len(load_manifest(tmp_path / "cuts.jsonl.gz")) == 8


def test_a_model_that_fails_every_utterance_stops_label_with_exit_3(hub_models, corpus,
                                                                    tmp_path):
    import shutil

    from lanser_fast.asr.models import resolve_whisper

    broken = tmp_path / "broken-model"  # says 128 mels beside an 80-mel model
    shutil.copytree(resolve_whisper(WHISPER).path, broken)
    config = json.loads((broken / "preprocessor_config.json").read_text())
    (broken / "preprocessor_config.json").write_text(json.dumps({**config, "feature_size": 128}))
    out = tmp_path / "out"
    for workers in ("1", "2"):
        result = CliRunner(env={"COLUMNS": "400"}).invoke(app, [
            "label", str(corpus), "--asr-model", str(broken), "--nli-model", NLI,
            "--max-new-tokens", str(NEW_TOKENS), "--stop-first", "4", "--workers", workers,
            "--out", str(out)])
        assert result.exit_code == 3, result.output
        assert "fails as a whole" in result.output and "first 4 utterances" in result.output
        assert not list(out.glob("part-*.parquet"))  # no error rows of the broken model
        run = json.loads((out / "_run.json").read_text())
        assert run["status"] == "stopped" and "first 4 utterances" in run["stopped"]


def test_retry_errors_redoes_failed_inputs_in_place(hub_models, corpus, tmp_path):
    import shutil

    import soundfile as sf

    folder = tmp_path / "in"
    shutil.copytree(corpus, folder)
    (folder / "manifest.jsonl").unlink()
    good = sorted(folder.glob("*.wav"))[0]
    flaky = folder / "flaky.wav"
    flaky.write_bytes(b"the mount was not ready")  # a transient failure
    out = tmp_path / "out"
    runner = CliRunner(env={"COLUMNS": "400"})
    args = ["label", str(folder), "--asr-model", WHISPER, "--nli-model", NLI,
            "--max-new-tokens", str(NEW_TOKENS), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    first = {r["id"]: r for r in read_results(out).to_pylist()}
    assert first["flaky.wav"]["error_stage"] == "decode"
    shutil.copy(good, flaky)  # the file is readable now
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0 and read_results(out).num_rows == len(first)  # errors are kept
    bad = runner.invoke(app, [*args, "--retry-errors", "decode,nonsense"])
    assert bad.exit_code == 2 and "nonsense" in bad.output
    retried = runner.invoke(app, [*args, "--retry-errors", "decode"])
    assert retried.exit_code == 0, retried.output
    assert "error inputs redone (--retry-errors)" in retried.output
    rows = read_results(out).to_pylist()
    assert len(rows) == len({r["id"] for r in rows}) == len(first)  # replaced, not added
    now = {r["id"]: r for r in rows}
    assert now["flaky.wav"]["error"] is None and now["flaky.wav"]["transcript"] is not None
    assert now["flaky.wav"]["transcript"] == now[good.name]["transcript"]
    for key, row in first.items():
        if key != "flaky.wav":
            assert now[key] == row  # the other rows are untouched
    assert not list(out.glob(".tmp-*"))
    run = json.loads((out / "_run.json").read_text())
    assert run["summary"]["retried_errors"] == 1
    assert sf.info(flaky).frames > 0
