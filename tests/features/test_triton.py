"""The fused Triton log-mel kernel against the torch reference.

On CPU the kernels run under the Triton interpreter, with the interpreter's block sizes; the
requires_cuda tests run them compiled. Triton fixes the mode of its own library functions
(``tl.max`` is a jitted function) when ``triton.language`` is first imported, and other tests or
libraries may import it earlier in compiled mode, so the interpreted cases run in a fresh
process started with ``TRITON_INTERPRET=1`` (``test_interpreted_cases_in_a_fresh_process``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lanser_fast.features.logmel import log_mel, log_mel_ref
from lanser_fast.features.presets import PRESETS, WHISPER_SAMPLES
from lanser_fast.features.triton_logmel import log_mel_triton, triton_available

TOLERANCE = 1e-4  # max abs difference to log_mel_ref
INTERPRETER_CHILD = os.environ.get("LANSER_TRITON_INTERPRETER_CHILD") == "1"
# Empty, shorter than / exactly / just over one window, 1 s, exactly 30 s, just over 30 s.
EDGE_LENGTHS = [1, 399, 400, 401, 16_000, WHISPER_SAMPLES, WHISPER_SAMPLES + 1]


def _batch(clips: list[np.ndarray], width: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips in a (B, width) batch whose padding is noise: only `lengths` may be read."""
    waves = np.random.default_rng(seed).uniform(-1, 1, (len(clips), width)).astype(np.float32)
    for row, clip in zip(waves, clips):
        row[: len(clip)] = clip
    return torch.from_numpy(waves), torch.tensor([len(c) for c in clips])


@pytest.fixture(scope="module")
def noise() -> tuple[torch.Tensor, torch.Tensor]:
    """Full-scale uniform noise at every edge length, as one mixed-length batch."""
    rng = np.random.default_rng(0)
    clips = [rng.uniform(-1, 1, n).astype(np.float32) for n in EDGE_LENGTHS]
    return _batch(clips, max(EDGE_LENGTHS), seed=1)


@pytest.fixture(scope="module")
def short_mix() -> tuple[torch.Tensor, torch.Tensor]:
    """Noise at three amplitudes (quiet next to loud) and lengths, for whisper-128."""
    rng = np.random.default_rng(2)
    clips = [amp * rng.uniform(-1, 1, n).astype(np.float32)
             for amp, n in [(1.0, 16_000), (1e-3, 4_321), (0.05, 48_000)]]
    return _batch(clips, 50_000, seed=3)


@pytest.fixture(scope="module")
def silence() -> tuple[torch.Tensor, torch.Tensor]:
    """Digital silence of no, one second's and 30 s of samples."""
    lengths = [0, 16_000, WHISPER_SAMPLES]
    return torch.zeros(len(lengths), max(lengths)), torch.tensor(lengths)


@pytest.fixture(scope="module")
def speech() -> tuple[torch.Tensor, torch.Tensor]:
    """Two espeak-ng utterances (different speakers and loudness) in one padded batch."""
    from tools.synth_speech import speak

    clips = [speak("I think we should talk about what happened.", amplitude=60),
             speak("Get out of my house right now!", rate_wpm=200, pitch=70, amplitude=160)]
    return _batch(clips, max(len(c) for c in clips) + 1_000, seed=4)


def _check(features: torch.Tensor, n_frames: torch.Tensor, waves: torch.Tensor,
           lengths: torch.Tensor, preset: str) -> None:
    ref, ref_frames = log_mel_ref(waves, lengths, preset)
    assert features.dtype == torch.float32 and features.device == waves.device
    assert features.shape == ref.shape
    assert n_frames.dtype == torch.int64 and n_frames.device.type == "cpu"
    assert torch.equal(n_frames, ref_frames)
    error = (features - ref).abs().max().item() if ref.numel() else 0.0
    assert error <= TOLERANCE, f"{preset}: max abs error {error:.3g} vs log_mel_ref"


CPU_CASES = [("noise", "whisper-80"), ("noise", "ser-64"), ("short_mix", "whisper-128"),
             ("silence", "whisper-80"), ("silence", "ser-64")]


INTERPRETED_TESTS = len(CPU_CASES) + 2

if INTERPRETER_CHILD:  # collected only in the fresh process started below

    @pytest.mark.parametrize(("inputs", "preset"), CPU_CASES)
    def test_interpreted_matches_reference(request, inputs, preset):
        waves, lengths = request.getfixturevalue(inputs)
        _check(*log_mel_triton(waves, lengths, PRESETS[preset]), waves, lengths, preset)

    @pytest.mark.parametrize("preset", ["whisper-80", "ser-64"])
    def test_interpreted_speech_through_log_mel(speech, preset):
        waves, lengths = speech
        _check(*log_mel(waves, lengths, preset, backend="triton"), waves, lengths, preset)

else:

    def test_interpreted_cases_in_a_fresh_process():
        env = {**os.environ, "TRITON_INTERPRET": "1", "LANSER_TRITON_INTERPRETER_CHILD": "1"}
        root = Path(__file__).resolve().parents[2]
        child = subprocess.run(
            [sys.executable, "-m", "pytest", __file__, "-k", "interpreted", "-q", "-rA",
             "-p", "no:cacheprovider"],
            cwd=root, env=env, capture_output=True, text=True,
        )
        report = child.stdout + child.stderr
        assert child.returncode == 0, report
        passed = re.search(r"(\d+) passed", report)
        assert passed and int(passed.group(1)) == INTERPRETED_TESTS, report
        assert "skipped" not in report and "failed" not in report, report


def test_cpu_tensors_need_the_interpreter(monkeypatch, short_mix):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(ValueError, match="CUDA tensors"):
        log_mel_triton(*short_mix, PRESETS["whisper-80"])


def test_available_and_import_is_lazy():
    assert triton_available() == torch.cuda.is_available()
    code = ("import sys, lanser_fast.features.triton_logmel; "
            "assert 'triton' not in sys.modules, 'importing the module imported triton'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.requires_cuda
@pytest.mark.parametrize(("inputs", "preset"), CPU_CASES + [("speech", "whisper-80"),
                                                           ("speech", "ser-64")])
def test_compiled_matches_reference_on_cuda(monkeypatch, request, inputs, preset):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    waves, lengths = request.getfixturevalue(inputs)
    waves = waves.cuda()
    _check(*log_mel_triton(waves, lengths, PRESETS[preset]), waves, lengths, preset)


@pytest.mark.requires_cuda
def test_auto_backend_on_cuda_is_triton(monkeypatch, noise):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    waves, lengths = noise[0].cuda(), noise[1]
    assert triton_available()
    _check(*log_mel(waves, lengths, "whisper-80", backend="auto"), waves, lengths, "whisper-80")


def test_kernels_launch_on_the_waves_device():
    """Triton launches on the current CUDA device: ``--device cuda:1`` must make GPU 1 current
    around the launches, or the kernels would read GPU 1's tensors from GPU 0."""
    import contextlib

    from lanser_fast.features.triton_logmel import launch_device

    second = launch_device(torch.device("cuda", 1))  # built, not entered: no GPU needed
    assert isinstance(second, torch.cuda.device) and second.idx == 1
    assert isinstance(launch_device(torch.device("cpu")), contextlib.nullcontext)


def test_kernel_flops_count_the_padded_dense_dft_and_mel_products():
    from lanser_fast.features.presets import get_preset
    from lanser_fast.features.triton_logmel import GPU_BLOCKS, kernel_flops

    # whisper-80: n_fft 400 -> K_PAD 400 (blocks of 16); 201 bins, the bank uses them all ->
    # F_PAD 224 (blocks of 32); 80 mels -> M_PAD 128
    assert (GPU_BLOCKS.samples, GPU_BLOCKS.bins) == (16, 32)
    per_frame = 2 * (2 * 400 * 224 + 224 * 128)
    assert kernel_flops(get_preset("whisper-80"), 3000) == 3000 * per_frame
