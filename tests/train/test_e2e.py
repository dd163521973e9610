"""End to end through the CLI, as a user runs the paper: label -> pretrain -> finetune ->
evaluate, plus zeroshot, the baselines, predict and model export."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from lanser_fast.audio import load_audio
from lanser_fast.cli import app
from lanser_fast.taxonomy.builtin import GOEMOTIONS28
from lanser_fast.train import checkpoint as ckpt

WHISPER = "openai/whisper-tiny"
NLI = "FacebookAI/roberta-large-mnli"
# CPU on every machine: these tests pin CPU behaviour (a GPU box would pick CUDA, bf16 and
# torch.compile under "auto"); the GPU paths have requires_cuda tests of their own
TINY = ["--arch", "resnet18", "--width", "8", "--workers", "0", "--batch-size", "8",
        "--device", "cpu"]
CLASSES = ["high", "low", "mid"]  # sorted labels of the prosody corpus

pytestmark = pytest.mark.usefixtures("lanser_cache")


def _run(args):
    result = CliRunner(env={"COLUMNS": "400"}).invoke(app, [str(a) for a in args])
    return result


def _ok(args):
    result = _run(args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def downstream(prosody_corpus):
    """48 prosody clips as a pre-split table: 30 train, 18 test, transcripts included."""
    rows = list(csv.DictReader(open(prosody_corpus / "labels.csv")))[:48]
    path = prosody_corpus / "downstream_e2e.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["path", "label", "speaker", "transcript", "split"])
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({**row, "split": "train" if i < 30 else "test"})
    return path


@pytest.fixture(scope="module")
def runs(hub_models, speech_corpus, downstream, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    labels, pre, fine = root / "labels", root / "pretrain", root / "finetune"
    _ok(["label", speech_corpus, "--asr-model", WHISPER, "--nli-model", NLI,
         "--max-new-tokens", 6, "--out", labels])
    _ok(["pretrain", labels, "--out", pre, *TINY, "--crop-s", 1.0, "--epochs", 2,
         "--valid-fraction", 0.25])
    out = _ok(["finetune", downstream, "--init", pre, "--out", fine, *TINY, "--epochs", 2])
    assert "test: WA" in out.output
    return {"labels": labels, "pretrain": pre, "finetune": fine, "root": root}


def test_pretrain_on_label_output_keeps_its_taxonomy(runs):
    state = ckpt.load(runs["pretrain"] / "last.pt")
    assert state["classes"] == list(GOEMOTIONS28) and state["taxonomy"] == "goemotions28"
    assert state["input_config"]["crop_s"] == 1.0 and state["step"] > 0
    run = json.loads((runs["pretrain"] / "run.json").read_text())
    assert run["data"]["train"] + run["data"]["valid"] == 8  # one weak label per clip
    assert (runs["pretrain"] / "tb").is_dir() and any((runs["pretrain"] / "tb").iterdir())


def test_finetune_swaps_the_head_and_keeps_the_pretrained_front_end(runs):
    pre, fine = ckpt.load(runs["pretrain"] / "last.pt"), ckpt.load(runs["finetune"])
    assert fine["classes"] == CLASSES and fine["model"]["head.weight"].shape == (3, 8 * 8)
    assert fine["input_config"] == pre["input_config"]  # features it was pre-trained on
    assert fine["identity"]["init"] == str(runs["pretrain"])


def test_evaluate_matches_a_hand_computed_confusion_matrix(runs, downstream):
    out = runs["root"] / "eval"
    _ok(["evaluate", runs["finetune"], downstream, "--out", out, "--workers", 0, "--device", "cpu"])
    scores = json.loads((out / "scores.json").read_text())
    rows = list(csv.DictReader(open(out / "scores_predictions.csv")))
    assert len(rows) == scores["n"] == 18
    matrix = [[0] * 3 for _ in range(3)]
    for row in rows:
        matrix[CLASSES.index(row["reference"])][CLASSES.index(row["prediction"])] += 1
    assert scores["confusion"] == matrix
    support = [sum(r) for r in matrix]
    assert scores["wa"] == pytest.approx(sum(matrix[i][i] for i in range(3)) / 18)
    recall = [matrix[i][i] / support[i] for i in range(3)]
    assert scores["ua"] == pytest.approx(sum(recall) / 3)
    assert [scores["recall"][c] for c in CLASSES] == pytest.approx(recall)
    written = list(csv.reader(open(out / "scores_confusion.csv")))
    assert written[0][1:] == CLASSES and [list(map(int, r[1:])) for r in written[1:]] == matrix
    assert (out / "scores_confusion.png").stat().st_size > 5_000
    # finetune scored the same checkpoint on the same test split
    test = json.loads((runs["finetune"] / "test.json").read_text())
    assert test["confusion"] == matrix and test["ua"] == pytest.approx(scores["ua"])


def test_zeroshot_maps_a_fine_taxonomy_onto_the_dataset(runs, downstream, tmp_path):
    coarse = tmp_path / "pitch3.txt"
    coarse.write_text("\n".join(CLASSES) + "\n")
    fine = tmp_path / "goemotions_to_pitch.yaml"
    fine.write_text(f"maps_to: {coarse}\nlabels:\n" + "".join(
        f"  - {{label: {label}, maps_to: {CLASSES[i % 3]}}}\n"
        for i, label in enumerate(GOEMOTIONS28)))
    failed = _run(["zeroshot", runs["pretrain"], downstream, "--out", tmp_path / "z0"])
    assert failed.exit_code == 2 and "no taxonomy mapping" in failed.output
    _ok(["zeroshot", runs["pretrain"], downstream, "--out", tmp_path / "z", "--taxonomy", fine,
         "--workers", 0, "--device", "cpu"])
    scores = json.loads((tmp_path / "z" / "zeroshot.json").read_text())
    assert scores["n"] == 18 and scores["classes"] == CLASSES


def test_baselines(runs, downstream, tmp_path, prosody_corpus):
    _ok(["baseline", "majority", downstream, "--out", tmp_path / "m"])
    majority = json.loads((tmp_path / "m" / "majority.json").read_text())
    train = [r for r in csv.DictReader(open(downstream)) if r["split"] == "train"]
    test = [r for r in csv.DictReader(open(downstream)) if r["split"] == "test"]
    counts = {c: sum(r["label"] == c for r in train) for c in CLASSES}
    top = max(CLASSES, key=lambda c: (counts[c], -CLASSES.index(c)))
    assert majority["majority_class"] == top
    assert majority["wa"] == pytest.approx(sum(r["label"] == top for r in test) / len(test))
    assert majority["ua"] == pytest.approx(1 / 3)

    coarse = tmp_path / "pitch3.txt"
    coarse.write_text("\n".join(CLASSES) + "\n")
    words = tmp_path / "pitch_words.yaml"
    words.write_text(f"maps_to: {coarse}\nlabels:\n  - {{label: excited, maps_to: high}}\n"
                     "  - {label: sad, maps_to: low}\n  - {label: calm, maps_to: mid}\n"
                     "  - {label: angry, maps_to: high}\n")
    _ok(["baseline", "text", downstream, "--out", tmp_path / "t", "--nli-model", NLI,
         "--taxonomy", words])
    text = json.loads((tmp_path / "t" / "text.json").read_text())
    assert text["n"] == 18 and text["transcribed"] == 0 and text["taxonomy"] == "pitch_words"
    # Without transcripts in the table, our Whisper transcribes the utterances.
    bare = tmp_path / "bare.csv"
    bare.write_text("path,label,split\n" + "".join(
        f"{prosody_corpus / r['path']},{r['label']},test\n" for r in test[:4]))
    failed = _run(["baseline", "text", bare, "--out", tmp_path / "t1", "--nli-model", NLI,
                   "--taxonomy", words])
    assert failed.exit_code == 2 and "--asr-model" in failed.output
    _ok(["baseline", "text", bare, "--out", tmp_path / "t2", "--nli-model", NLI,
         "--taxonomy", words, "--asr-model", WHISPER, "--max-new-tokens", 6])
    assert json.loads((tmp_path / "t2" / "text.json").read_text())["transcribed"] == 4


def test_predict_windows_long_files_and_reports_broken_ones(runs, prosody_corpus, tmp_path):
    clips = sorted(prosody_corpus.glob("*.wav"))[:4]
    folder = tmp_path / "new"
    folder.mkdir()
    waves = [load_audio(c).samples for c in clips]
    long = np.concatenate(waves * 2)  # ~ 2 x (4-10 s)
    sf.write(folder / "long.wav", long, 16_000)
    sf.write(folder / "short.wav", waves[0], 16_000)
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    out = tmp_path / "pred.csv"
    _ok(["predict", runs["finetune"], folder, "--out", out, "--window-s", 2.0, "--device", "cpu"])
    rows = list(csv.DictReader(open(out)))
    by_file = {}
    for row in rows:
        by_file.setdefault(row["path"].rsplit("/", 1)[-1], []).append(row)
    assert by_file["broken.wav"][0]["error"] and not by_file["broken.wav"][0]["label"]
    windows = by_file["long.wav"]
    assert len(windows) == int(np.ceil(len(long) / 32_000 - 0.1 / 2))
    assert [float(w["offset_s"]) for w in windows] == pytest.approx(
        [2.0 * i for i in range(len(windows))])
    assert len(by_file["short.wav"]) == 1
    for row in rows:
        if not row["error"]:
            probs = json.loads(row["probs"])
            assert sum(probs) == pytest.approx(1, abs=1e-5)
            assert row["label"] == CLASSES[int(np.argmax(probs))]


@pytest.mark.parametrize("suffix", [".onnx", ".pt"])
def test_exported_models_match_the_checkpoint(runs, tmp_path, suffix):
    target = tmp_path / f"model{suffix}"
    _ok(["export", runs["finetune"], "--out", target])
    meta = json.loads((tmp_path / f"model{suffix}.json").read_text())
    assert meta["classes"] == CLASSES and meta["preset"] == "ser-64"
    model = ckpt.model_from(ckpt.load(runs["finetune"])).eval()
    for frames in (98, 251):
        x = torch.randn(3, 1, 64, frames)
        with torch.no_grad():
            ref = model(x).numpy()
        if suffix == ".onnx":
            import onnx
            import onnxruntime as ort

            got = ort.InferenceSession(str(target)).run(None, {"features": x.numpy()})[0]
            props = {p.key: json.loads(p.value) for p in onnx.load(str(target)).metadata_props}
            assert props["classes"] == CLASSES
        else:
            extra = {"lanser.json": ""}
            loaded = torch.jit.load(str(target), _extra_files=extra)
            assert json.loads(extra["lanser.json"])["classes"] == CLASSES
            got = loaded(x).detach().numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_a_resume_with_other_settings_is_refused(runs):
    failed = _run(["pretrain", runs["labels"], "--out", runs["pretrain"], *TINY, "--crop-s",
                   1.0, "--epochs", 2, "--valid-fraction", 0.25, "--lr", 0.01])
    assert failed.exit_code == 2 and "other settings" in failed.output
    assert "lr" in failed.output and "--force" in failed.output
