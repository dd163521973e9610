"""``lanser-fast experiment lanser-mini --scale small``: the whole method on synthesized speech
with real Whisper base and all-MiniLM-L6-v2 (a few minutes on two CPU cores)."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from lanser_fast.cli import app


@pytest.fixture(scope="module")
def small_run(real_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("lanser-mini")
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["experiment", "lanser-mini", "--out", str(out), "--scale", "small"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_small_scale_shows_pretraining_helping_and_the_lexical_route_closed(small_run):
    out, printed = small_run
    figures = json.loads((out / "figures.json").read_text())
    cells = list(csv.DictReader(open(out / "results.csv", encoding="utf-8")))
    smallest = min(float(c["fraction"]) for c in cells)

    def mean_ua(start):
        found = [float(c["ua"]) for c in cells
                 if c["start"] == start and float(c["fraction"]) == smallest]
        assert len(found) == len(figures["recipe"]["seeds"]), start
        return sum(found) / len(found)

    assert mean_ua("pretrained m0.7") > mean_ua("scratch"), cells
    text = [fold["ua"] for fold in figures["baselines"]["text"].values()]
    assert abs(sum(text) / len(text) - 1 / 6) <= 0.1, text
    agreement = figures["agreement"]["0.7"]
    assert agreement["labeled"] == agreement["clips"] == figures["recipe"]["pretrain_clips"]
    assert agreement["text"] > 1 / 6 + 0.15, agreement  # the words carry the emotion
    assert (out / "label_efficiency.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "## The paper's claims, checked" in report and report in printed


def test_a_finished_run_resumes_without_work_and_other_settings_are_refused(small_run):
    out, _ = small_run
    before = (out / "results.csv").read_text()
    again = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["experiment", "lanser-mini", "--out", str(out), "--scale", "small"])
    assert again.exit_code == 0, again.output
    assert (out / "results.csv").read_text() == before
    timings = json.loads((out / "figures.json").read_text())["timings_s"]
    assert timings["label efficiency"] < 15 and timings["pretrain"] < 15, timings  # not retrained
    other = CliRunner().invoke(app, ["experiment", "lanser-mini", "--out", str(out), "--scale",
                                     "small", "--match", "0.5"])
    assert other.exit_code == 2 and "other settings" in other.output


@pytest.mark.parametrize("args, named", [(["--scale", "huge"], "--scale"),
                                         (["--match", "1.5"], "--match"),
                                         (["--seeds", "a"], "--seeds")])
def test_bad_options_fail_before_any_work(tmp_path, args, named):
    out = tmp_path / "never"
    result = CliRunner().invoke(app, ["experiment", "lanser-mini", "--out", str(out), *args])
    assert result.exit_code == 2 and named in result.output, result.output
    assert not out.exists()
