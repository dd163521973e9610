import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lanser_fast.cli import app
from lanser_fast.manifest import read_results

runner = CliRunner()


@pytest.mark.parametrize("command,options", [
    ([], ["doctor", "decode", "features", "score", "prompts", "bench-report"]),
    (["doctor"], ["--json"]),
    (["decode"], ["--out", "--wav-dir", "--sample-rate", "--threads", "--force",
                  "--retry-errors"]),
    (["features"], ["--out", "--preset", "--batch-size", "--threads", "--backend", "--force",
                    "--retry-errors"]),
    (["score"], ["--out", "--column", "--id-column", "--model", "--taxonomy", "--template",
                  "--multi-label", "--engine", "--precision", "--top-k", "--empty"]),
    (["prompts"], ["--template", "--column", "--label-column", "--model", "--taxonomy",
                    "--engine"]),
    (["bench-report"], ["--readme"]),
])
def test_help_describes_every_option(command, options):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in options:
        assert option in result.output


def test_doctor_json_lists_the_stack():
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0
    checks = {c["name"]: c for c in json.loads(result.output)}
    for name in ("torch", "ctranslate2", "onnxruntime", "DALI", "triton", "TensorRT",
                 "espeak-ng", "ffmpeg", "av (PyAV)", "soundfile"):
        assert name in checks
    assert checks["torch"]["ok"] and checks["soundfile"]["ok"]
    assert checks["compiled-ops"]["ok"], checks["compiled-ops"]["detail"]
    assert "CPU compute types" in checks["ctranslate2"]["detail"]
    assert "CPUExecutionProvider" in checks["onnxruntime"]["detail"]
    missing = [c for c in checks.values() if not c["ok"]]
    assert all(c["disables"] for c in missing)


def test_gpu_version_floors_are_the_releases_with_the_apis_used(monkeypatch):
    """triton.knobs arrived in Triton 3.4 and DALI's dynamic executor (GPU `.shape()`) became a
    Pipeline mode in 2.0: the gpu extra asks for them, and doctor refuses older installs."""
    from pathlib import Path

    from lanser_fast import doctor

    project = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    extra = next(line for line in project.splitlines() if line.startswith("gpu = ["))
    assert f"triton>={doctor._dotted(doctor.TRITON_FLOOR)}" in extra
    assert f"nvidia-dali-cuda130>={doctor._dotted(doctor.DALI_FLOOR)}" in extra
    for version, ok in (("3.3.1", False), ("3.4.0", True), ("3.10.0", True)):
        monkeypatch.setattr(doctor, "_version", lambda name, v=version: v)
        assert doctor._check_triton().ok is ok, version
    monkeypatch.setattr(doctor, "_version", lambda name: "1.53.0")
    check = doctor._check_dali()
    assert not check.ok and "nvidia-dali-cuda130>=2.0" in check.detail and check.disables
    monkeypatch.setattr(doctor, "_version", lambda name: "2.0.0")
    assert doctor._check_dali().ok


def test_decode_end_to_end_with_error_rows_and_resume(speech_corpus, tmp_path):
    (speech_corpus / "broken.wav").write_bytes(b"RIFF....garbage")
    out, wavs = tmp_path / "out.parquet", tmp_path / "wav"
    try:
        result = runner.invoke(app, ["decode", str(speech_corpus), "--out", str(out),
                                     "--wav-dir", str(wavs), "--threads", "2"])
        again = runner.invoke(app, ["decode", str(speech_corpus), "--out", str(out)])
    finally:
        (speech_corpus / "broken.wav").unlink()
    assert result.exit_code == 0, result.output
    assert "audio-hours per device-hour" in result.output
    table = pq.read_table(out).to_pylist()
    assert len(table) == 9
    errors = [r for r in table if r["error"]]
    assert [r["id"] for r in errors] == ["broken.wav"]
    assert errors[0]["error_stage"] == "decode" and errors[0]["error"].startswith("not_audio")
    assert len(list(wavs.glob("*.wav"))) == 8
    assert "0 rows written" in again.output and "9 already done" in again.output
    assert json.loads((out / "_run.json").read_text())["status"] == "done"
    assert pq.read_table(out).num_rows == 9
    assert json.loads((out / "_run.json").read_text())["stage"] == "decode"


@pytest.mark.parametrize("stage", ["decode", "features"])
def test_retry_errors_redoes_the_failed_inputs_in_place(speech_corpus, tmp_path, stage):
    import shutil

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    shutil.copytree(speech_corpus, corpus)
    good = sorted(corpus.glob("*.wav"))[0]
    (corpus / "late.wav").write_bytes(b"RIFF....garbage")  # a file still being copied
    first = runner.invoke(app, [stage, str(corpus), "--out", str(out)])
    assert first.exit_code == 0, first.output
    shutil.copy(good, corpus / "late.wav")  # the copy has finished
    plain = runner.invoke(app, [stage, str(corpus), "--out", str(out)])
    assert "0 rows written" in plain.output  # an error row is done unless retried
    again = runner.invoke(app, [stage, str(corpus), "--out", str(out), "--retry-errors",
                                "decode"])
    assert again.exit_code == 0, again.output
    assert "1 rows written" in again.output and "1 error inputs redone" in again.output
    rows = read_results(out).to_pylist()
    assert len(rows) == 9 and sorted(r["id"] for r in rows) == sorted(
        p.name for p in corpus.glob("*.wav"))
    late = next(r for r in rows if r["id"] == "late.wav")
    assert late["error"] is None and late["duration_s"] > 0
    assert json.loads((out / "_run.json").read_text())["retried_errors"] == 1
    bad = runner.invoke(app, [stage, str(corpus), "--out", str(out), "--retry-errors", "asr"],
                        env={"COLUMNS": "300"})
    assert bad.exit_code == 2 and "unknown stage(s) asr" in bad.output


def test_decode_resume_checks_settings(speech_corpus, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(app, ["decode", str(speech_corpus), "--out", str(out)]).exit_code == 0
    other = runner.invoke(app, ["decode", str(speech_corpus), "--out", str(out),
                                "--sample-rate", "8000"], env={"COLUMNS": "300"})
    assert other.exit_code == 2 and "sample_rate: 16000 -> 8000" in other.output
    forced = runner.invoke(app, ["decode", str(speech_corpus), "--out", str(out),
                                 "--sample-rate", "8000", "--force"])
    assert forced.exit_code == 0 and "8 already done" in forced.output
    into_features = runner.invoke(app, ["features", str(speech_corpus), "--out", str(out)],
                                  env={"COLUMNS": "300"})
    assert into_features.exit_code == 2 and "output of 'decode'" in into_features.output


def test_decode_bad_manifest_fails_before_work(tmp_path):
    (tmp_path / "m.csv").write_text("file\nx.wav\n")
    result = runner.invoke(app, ["decode", str(tmp_path / "m.csv"), "--out",
                                 str(tmp_path / "o")], env={"COLUMNS": "400"})
    assert result.exit_code != 0 and "no 'path' column" in result.output
    assert not (tmp_path / "o").exists()


def test_bench_report_prints_table(tmp_path):
    from lanser_fast.bench import Measurement, Record

    record = Record.new()
    record.add(Measurement.from_times([1.0], 10.0, stage="decode", workload="w", impl="ours",
                                      role="ours", unit="audio-h/device-h", threads=2))
    path = record.save(tmp_path / "r.json")
    result = runner.invoke(app, ["bench-report", str(path)])
    assert result.exit_code == 0 and "| decode | w | ours | ours | 2 |" in result.output


def test_features_end_to_end_with_error_rows_resume_and_parity(speech_corpus, tmp_path):
    import numpy as np
    import whisper

    from lanser_fast.audio import load_audio
    from lanser_fast.features.corpus import read_features
    from lanser_fast.manifest import read_results

    (speech_corpus / "broken.wav").write_bytes(b"RIFF....garbage")
    out = tmp_path / "feats"
    try:
        result = runner.invoke(app, ["features", str(speech_corpus), "--out", str(out),
                                     "--batch-size", "3"])
    finally:
        (speech_corpus / "broken.wav").unlink()
    assert result.exit_code == 0, result.output
    assert "9 rows written" in result.output and "not_audio 1" in result.output
    assert "audio-hours per device-hour" in result.output
    table = read_results(out)
    assert table.num_rows == 9
    errors = [r for r in table.to_pylist() if r["error"]]
    assert len(errors) == 1 and errors[0]["path"].endswith("broken.wav")
    features = dict(read_features(out))
    assert len(features) == 8
    for item_id, matrix in list(features.items())[:2]:
        audio = load_audio(speech_corpus / item_id).samples
        theirs = whisper.log_mel_spectrogram(audio, 80, padding=480000 - len(audio))[:, :3000]
        assert matrix.shape == (80, 3000)
        assert np.abs(matrix - theirs.numpy()).max() <= 1e-4
    again = runner.invoke(app, ["features", str(speech_corpus), "--out", str(out)])
    assert again.exit_code == 0 and "0 rows written" in again.output
    assert "(8 already done, 0 error inputs redone)" in again.output
    mixed = runner.invoke(app, ["features", str(speech_corpus), "--out", str(out),
                                "--preset", "ser-64"], env={"COLUMNS": "300"})
    assert mixed.exit_code == 2 and "preset: 'whisper-80' -> 'ser-64'" in mixed.output


def test_features_bad_flags_fail_before_work(tmp_path):
    result = runner.invoke(app, ["features", str(tmp_path), "--out", str(tmp_path / "o"),
                                 "--preset", "whisper-81"], env={"COLUMNS": "300"})
    assert result.exit_code != 0 and "unknown preset 'whisper-81'" in result.output
    result = runner.invoke(app, ["features", str(tmp_path), "--out", str(tmp_path / "o"),
                                 "--backend", "gpu"], env={"COLUMNS": "300"})
    assert result.exit_code != 0 and "unknown backend 'gpu'" in result.output
    assert not (tmp_path / "o").exists()
