"""tools/gpu_smoke.py: without a CUDA device every row says why it did not run; every part's
code runs on the CPU at small sizes (Triton under its interpreter), so the GPU run meets code
that has executed."""

import json
import os
import subprocess
import sys
from pathlib import Path

from lanser_fast.bench.record import Record

ROOT = Path(__file__).resolve().parents[2]


def test_without_cuda_every_row_says_why(tmp_path):
    out = tmp_path / "smoke.json"
    done = subprocess.run([sys.executable, "-m", "tools.gpu_smoke", "--out", str(out)], cwd=ROOT,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = Record.load(out).notes["gpu_smoke"]["rows"]
    assert {r["part"] for r in rows} == {"front end", "NLI", "training", "ASR"}
    assert all(r["ok"] is None and r["result"].startswith("not run: no CUDA device")
               for r in rows)
    for row in rows:
        assert row["check"] in done.stdout


def _parts_on_the_cpu(prelude: str = "") -> tuple[dict, str]:
    """Every part run at ``TINY`` sizes on the CPU in a fresh process (Triton interpreted, which
    needs the variable before triton is imported), after ``prelude``: rows and record entries."""
    script = prelude + (
        "import json, torch\n"
        "from tools import gpu_smoke as g\n"
        "from lanser_fast.bench.record import Record\n"
        "record = Record.new()\n"
        "rows = g.run(torch.device('cpu'), g.TINY, record)\n"
        "print(g.table(rows, 'cpu'))\n"
        "print(json.dumps({'rows': [vars(r) for r in rows],"
        " 'results': [m.impl for m in record.results]}))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "TRITON_INTERPRET": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout


def test_every_part_runs_on_the_cpu(real_models):
    report, printed = _parts_on_the_cpu()
    failed = [r for r in report["rows"] if r["ok"] is not True]
    assert not failed, printed
    checks = " ".join(r["check"] for r in report["rows"])
    for expected in ("whisper-80 vs log_mel_ref", "whisper-128", "ser-64", "fp32 vs CPU",
                     "bf16 vs CPU", "zero-shot pipeline", "default (auto)", "eager fp32",
                     "probe", "synthetic clips"):
        assert expected in checks, expected
    assert len(report["results"]) == 6  # front end, 2 engines, pipeline, 2 training steps


# What lanser-fast installs that a stock CUDA PyTorch image (this workplace's H200 image: torch,
# triton, transformers, numpy, pyarrow, onnxruntime ...) does not have, and the compiled op.
NOT_ON_THE_IMAGE = ("soundfile", "soxr", "av", "ctranslate2", "faster_whisper", "whisper",
                    "nvidia", "ray", "lhotse", "tensorrt", "lanser_fast._lanser_csrc")
HIDE = f"""
import importlib.machinery as machinery
_find = machinery.PathFinder.find_spec.__func__
def _find_spec(cls, name, path=None, target=None):
    if name.split(".")[0] in {NOT_ON_THE_IMAGE!r} or name in {NOT_ON_THE_IMAGE!r}:
        return None
    return _find(cls, name, path, target)
machinery.PathFinder.find_spec = classmethod(_find_spec)
"""


def test_the_parts_need_nothing_beyond_a_stock_cuda_pytorch_image():
    """With what such an image lacks hidden, every part but ASR runs (the NLI tokenizer is
    trained on the sentence bank instead of GPT-2's merges from openai-whisper's assets)."""
    rows = _parts_on_the_cpu(HIDE)[0]["rows"]
    assert all(r["ok"] for r in rows if r["part"] != "ASR"), rows
    assert any("BPE trained here" in r["check"] for r in rows)
    asr = [r for r in rows if r["part"] == "ASR"]
    assert len(asr) == 2 and all(r["ok"] is None and "ctranslate2" in r["result"] for r in asr)


def test_a_failing_part_is_a_failed_row_and_the_others_still_run(monkeypatch):
    import torch

    from tools import gpu_smoke

    def broken(device, sizes, record, work):
        raise RuntimeError("CUDA error: no kernel image is available\nmore detail")

    def fine(device, sizes, record, work):
        return [gpu_smoke.Row("NLI", "a check", "figures", True)]

    monkeypatch.setattr(gpu_smoke, "PARTS", (("front end", broken), ("NLI", fine)))
    rows = gpu_smoke.run(torch.device("cpu"), gpu_smoke.TINY)
    assert [(r.part, r.ok) for r in rows] == [("front end", False), ("NLI", True)]
    assert rows[0].result == "failed: RuntimeError: CUDA error: no kernel image is available"
    assert "FAILED" in gpu_smoke.table(rows, "cpu")
