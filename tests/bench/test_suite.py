"""`lanser-fast bench`: the suite runs the benchmark files, records, keeps history, compares."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lanser_fast.bench import Measurement, Record
from lanser_fast.bench.compare import MIN_NOISE, compare
from lanser_fast.cli import app

ENV = {"COLUMNS": "400"}


def test_quick_run_of_one_stage_writes_a_valid_record(tmp_path):
    out, history = tmp_path / "quick.json", tmp_path / "history.jsonl"
    args = ["bench", "--quick", "--stages", "frontend", "--device", "cpu", "--out", str(out),
            "--history", str(history)]
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    record = Record.load(out)
    stages = {m.stage for m in record.results}
    assert stages == {"features"}
    roles = {m.role for m in record.results}
    assert roles == {"ours", "reference"} and all(m.repeats >= 2 for m in record.results)
    assert record.machine["cpu"] and record.notes["quick"] is True
    info = record.notes["stages"]["frontend"]
    assert info["s"] > 0 and info["setup_s"] >= 0 and record.notes["wall_s"] >= info["s"]
    assert "error" not in info
    # GPU contenders are listed as not measured, with the reason, not dropped silently
    gaps = {g["test"]: g["reason"] for g in info["not_measured"]}
    assert any("gpu" in name for name in gaps) and all("CUDA" in r for r in gaps.values())
    assert "not measured: test_frontend_triton_gpu" in result.output
    assert "lanser_fast log_mel (compiled CPU op)" in result.output
    # every run is appended to the history; --compare reads its newest record
    assert len(history.read_text().splitlines()) == 1
    assert Record.load(history).results == record.results


def test_bad_options_fail_before_any_work(tmp_path):
    runner = CliRunner()
    bad_stage = runner.invoke(app, ["bench", "--stages", "frontend,warp", "--out",
                                    str(tmp_path / "r.json")], env=ENV)
    assert bad_stage.exit_code == 2 and "unknown stage(s) warp" in bad_stage.output
    assert not (tmp_path / "r.json").exists()
    offline = runner.invoke(app, ["bench", "--models", "no-such/asr,no-such/nli", "--out",
                                  str(tmp_path / "r.json")], env={**ENV, "HF_HUB_OFFLINE": "1"})
    assert offline.exit_code == 2 and "no-such/asr" in offline.output
    missing = runner.invoke(app, ["bench", "--compare", str(tmp_path / "none.json")], env=ENV)
    assert missing.exit_code == 2 and "--compare" in missing.output


def test_help_names_every_stage_and_every_stage_has_its_file():
    from lanser_fast.bench.suite import STAGES, benchmarks_dir

    text = " ".join(CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "300"})
                    .output.replace("│", " ").split())
    for stage, (file, _) in STAGES.items():
        assert stage in text and (benchmarks_dir() / file).is_file(), stage


def _record(ours_times, ref_times):
    record = Record.new()
    common = dict(stage="decode", workload="9 clips", unit="audio-h/device-h", threads=1)
    record.add(Measurement.from_times(ours_times, work=100.0, impl="ours", role="ours",
                                      **common))
    record.add(Measurement.from_times(ref_times, work=100.0, impl="ref", role="reference",
                                      **common))
    return record


def test_compare_flags_a_regression_and_not_noise():
    before = _record([1.00, 1.04, 1.10], [2.0, 2.0, 2.0])  # ours: 10 % spread between repeats
    after = _record([1.30, 1.32, 1.35], [2.0, 2.04, 2.1])  # ours 24 % slower; ref 2 % slower
    changes = {c.impl: c for c in compare(before, after)[0]}
    assert changes["ours"].verdict == "regression"
    assert changes["ours"].noise > MIN_NOISE  # the spread it measured, not the floor
    assert changes["ref"].verdict == "within noise"  # inside the 4.9 % spread of the new run
    assert changes["ref"].noise > MIN_NOISE
    faster = _record([0.70, 0.71, 0.72], [2.0, 2.0, 2.0])
    assert {c.impl: c.verdict for c in compare(before, faster)[0]}["ours"] == "improvement"


def test_compare_command_prints_the_verdicts(tmp_path, monkeypatch):
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    _record([1.0, 1.0, 1.0], [2.0, 2.0, 2.0]).save(before)
    rec = _record([1.5, 1.5, 1.5], [2.0, 2.0, 2.02])
    rec.notes["stages"] = {}
    rec.save(after)
    from lanser_fast.cli import bench as cli_bench

    monkeypatch.setattr("lanser_fast.bench.suite.run_suite", lambda config, on_stage=None: rec)
    result = CliRunner().invoke(app, ["bench", "--stages", "decode", "--compare", str(before),
                                      "--out", str(tmp_path / "new.json"), "--history",
                                      str(tmp_path / "h.jsonl")], env=ENV)
    assert result.exit_code == 0, result.output
    assert "regression" in result.output and "1 regression(s)" in result.output
    assert json.loads((tmp_path / "new.json").read_text())["results"]
    assert cli_bench is not None


def test_hardware_use_against_the_peaks(monkeypatch):
    from lanser_fast.bench import peaks

    monkeypatch.setattr(peaks, "cpu_fp32_peak_gflops", lambda: 160.0)
    assert peaks.hardware_use({"gflop_per_s": 96.0}, "cpu") == \
        "96 GFLOP/s (60 % of ~160 fp32 peak)"
    assert peaks.hardware_use({"gflop_per_s": 494_500.0}, "NVIDIA H100 80GB HBM3") == \
        "494.5 TFLOP/s (50 % of bf16 peak)"
    # an fp32 (TF32 off) run against the fp32 peak, a TF32 one against TF32's, not bf16's
    assert peaks.hardware_use({"gflop_per_s": 33_500.0, "precision": "fp32"},
                              "NVIDIA H100 80GB HBM3") == "33.5 TFLOP/s (50 % of fp32 peak)"
    assert peaks.hardware_use({"gflop_per_s": 247_350.0, "precision": "tf32"},
                              "NVIDIA H200") == "247.3 TFLOP/s (50 % of tf32 peak)"
    assert peaks.hardware_use({"gflop_per_s": 1000.0, "precision": "tf32"}, "Tesla T4") == \
        "1.0 TFLOP/s"  # no TF32 on a T4: no peak rather than a wrong one
    assert peaks.hardware_use({"gflop_per_s": 33_500.0, "precision": "fp32",
                               "achieved_GBps": 480.0}, "NVIDIA H200") == \
        "33.5 TFLOP/s (50 % of fp32 peak), 480 GB/s (10 % of peak)"  # compute-bound kernels
    assert peaks.hardware_use({"achieved_GBps": 2400.0}, "NVIDIA H200") == \
        "2400 GB/s (50 % of peak)"
    assert peaks.hardware_use({"gflop_per_s": 1000.0}, "Some Future GPU") == "1.0 TFLOP/s"
    assert peaks.hardware_use({}, "cpu") == ""
