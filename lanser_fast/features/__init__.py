"""Log-mel front end: Whisper-exact (``whisper-80``, ``whisper-128``) and SER (``ser-64``).

Example::

    from lanser_fast.features import log_mel, log_mel_ref, PRESETS
    feats, n_frames = log_mel(waves, lengths, "whisper-80")  # waves (B, S) float32, lengths (B,)
    # feats (B, n_mels, max_frames) float32 on waves' device, n_frames (B,) int64

Presets
-------
Frozen dataclasses in ``presets.py``.

- ``whisper-80``, ``whisper-128``: Whisper's recipe exactly (n_fft 400, hop 160, periodic Hann,
  centered reflect-padded STFT with the last frame dropped, Slaney mel filters computed by us
  (``filters.py``) and tested against openai-whisper's ``mel_filters.npz``, log10 of
  max(x, 1e-10), floor at the utterance max - 8, (x + 4) / 4). A clip of up to 30 s gives
  **(n_mels, 3000)**, equal (<= 1e-4) to openai-whisper's
  ``log_mel_spectrogram(audio, n_mels, padding=480000 - len(audio))[:, :3000]`` and to Hugging
  Face's ``WhisperFeatureExtractor``: the padding frames hold the floor, as Whisper saw in
  training. Longer clips give all ``len // 160`` frames. faster-whisper's ``FeatureExtractor``
  pads only 160 samples and later pads 30 s windows with zeros *after* normalization, so it
  agrees with Whisper (and us) on the frames whose window lies inside the audio, not on the
  padding (``faster_whisper_compat.py`` reproduces its semantics for token parity).
- ``ser-64``: the SER front end: no centering, power spectrum, 64 Slaney-normalized mel filters
  from 60 to 7,800 Hz, ln(x + 1e-6), frames counted from the true length
  (``1 + (n - 400) // 160``; a clip shorter than 400 samples has 0 frames).

Batches
-------
Per-utterance statistics (Whisper's max) use only that utterance's own frames, whatever the batch
padding holds; frames past an utterance's ``n_frames`` hold the value of a silent frame (for
Whisper: its floor).

Backends
--------
All paths behind ``log_mel`` are pinned to ``log_mel_ref`` (plain torch, fp32, one utterance at
a time) at 1e-4 in the tests.

- CPU default: the compiled op (``cpu_logmel.py`` over ``csrc/logmel_kernel.cpp``): framing,
  window, FFT (mixed-radix Stockham, a real frame packed into a half-length complex FFT), power,
  the sparse mel product, log and the floor fused; vectorized across frames (one frame per SIMD
  lane) and threaded over blocks of frames, so one long clip uses every core. Frames that see
  only Whisper's zero padding are not computed. Built for AVX-512, AVX2+FMA and baseline x86-64;
  the best the CPU supports is picked at load time (``lanser-fast doctor`` shows which). It is
  the default because it beats every alternative in the benchmark (below); without a compiled
  build ``log_mel`` falls back to the reference and warns once.
- CUDA: a fused Triton kernel (``triton_logmel.py``): the DFT and the mel product as ``tl.dot``
  with ``input_precision="ieee"`` (true fp32; TF32 would put features 0.03-0.13 off), log and a
  per-utterance ``atomic_max`` in one pass, floor and padding in a second. Tested on CPU under
  ``TRITON_INTERPRET=1``; its GPU tests are ``requires_cuda`` and have not run (no GPU so far).
- DALI (``dali_audio.py``): ``dali_audio_batches(paths, batch_size, device="gpu")`` reads,
  decodes (WAV, FLAC, OGG), downmixes, resamples to 16 kHz and pads on the device, ready for
  ``log_mel`` without a host copy. 16 kHz input gives exactly our decoder's samples. DALI's
  resampler has no anti-aliasing low-pass when downsampling (48 -> 16 kHz is decimation), so
  resampled input differs from our soxr path: 25-36 dB SNR on espeak speech, whisper-80 bands
  below 4 kHz within 0.05, above within 1.0 (tested bounds). A file DALI cannot decode fails its
  batch with ``DaliAudioError`` naming the batch's files; ``load_audio`` gives per-file errors.

Measured
--------
16 clips x 30 s, whisper-80, on the 2-core CI machine (AMD EPYC, AVX2, no GPU), in one run
(record ``benchmarks/results/latest.json``, benchmarks/README.md): the compiled op is 4.04x
openai-whisper's ``log_mel_spectrogram``, 4.10x ``log_mel_ref`` (torch.stft), 7.19x
faster-whisper's ``FeatureExtractor`` and 9.17x Hugging Face's batched
``WhisperFeatureExtractor``. The Triton and DALI GPU paths have not been measured.

``lanser-fast features`` output
-------------------------------
A folder of Parquet shards (``corpus.py``) with one row per input: ``id, path, offset_s,
duration_s, audio_flags, preset, n_mels, n_frames, features, error_stage, error``, where
``features`` is the (n_mels, n_frames) float32 matrix flattened row-major
(``np.asarray(row["features"]).reshape(n_mels, n_frames)``;
``lanser_fast.features.corpus.read_features(DIR)`` yields ``(id, matrix)``), plus ``_run.json``
(preset, throughput, errors). A resume refuses to mix presets in one folder.
"""

import importlib

from lanser_fast.features.filters import hann_window, mel_filters, slaney_mel_filters
from lanser_fast.features.presets import (
    DEFAULT_PRESET,
    PRESETS,
    WHISPER_SAMPLES,
    Preset,
    get_preset,
    whisper_preset,
)

_TORCH_NAMES = ("BACKENDS", "log_mel", "log_mel_ref")  # from .logmel, imported on first use


def __getattr__(name: str):
    """``log_mel`` and friends load torch when first asked for, so that reading presets (the
    command line's defaults) stays cheap."""
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module("lanser_fast.features.logmel"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "DEFAULT_PRESET",
    "PRESETS",
    "WHISPER_SAMPLES",
    "Preset",
    "get_preset",
    "hann_window",
    "log_mel",
    "log_mel_ref",
    "mel_filters",
    "slaney_mel_filters",
    "whisper_preset",
]
