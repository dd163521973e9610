"""Audio loading with NVIDIA DALI: files -> a padded 16 kHz mono float32 batch for ``log_mel``.

``dali_audio_batches(paths, device="gpu")`` yields (B, S) batches that are already on the GPU,
so the Triton log-mel reads them without a host round trip; ``device="cpu"`` runs the same
graph CPU-only (``device_id=None``), which is what tests and GPU-less machines use.

Trade-offs against our own decoder (:func:`lanser_fast.audio.load_audio`):

- Decoding is DALI's libsndfile-based CPU decoder in its C++ thread pool: WAV, FLAC and
  OGG (Vorbis/Opus) only. MP3/M4A/WebM etc. need ``load_audio`` (PyAV).
- Scaling is identical: DALI reads float through ``sf_read_float`` with libsndfile's default
  normalisation, as soundfile does, so 16-bit PCM becomes x / 32768 in both.
- Downmix: DALI sums ``x_c * (1 / C)``, ``load_audio`` takes the float32 channel mean. For
  stereo both are bit-identical (halving is exact); 3 and 6 channels measured <= 1e-7 apart.
- Resampling is DALI's windowed-sinc interpolator (Hann, 16 lobes at quality 50), whose kernel
  is sized in *source* samples: it has no anti-aliasing low-pass when downsampling, so content
  between 8 kHz and the source's Nyquist folds into the band (48 -> 16 kHz is plain decimation,
  every third sample). soxr HQ filters first. On espeak speech at 22.05-48 kHz that measured
  25-36 dB SNR between the two; in whisper-80 log-mel the mel bands below 4 kHz agree to 0.02
  (max) while the bands above differ by up to 0.45 where the folded 8-11 kHz content lands
  (tests/test_features_dali.py). quality=100 measured no closer (the error is aliasing, not
  interpolation), so DALI's default 50 stays.
  DALI's output has ceil(n * 16000 / rate) samples: at most one more than soxr's.
- A file that fails to decode fails its whole batch (DALI has no per-sample error output);
  see :class:`DaliAudioError`.
- The reader only emits full batches: the last one is topped up with copies of the last file
  (decoded, then dropped), and DALI's prefetch may decode up to two batches of the next epoch.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lanser_fast.audio.decode import SAMPLE_RATE

DEVICES = ("cpu", "gpu")
READER_NAME = "reader"


class DaliAudioError(RuntimeError):
    """DALI failed on a batch: ``paths`` are the batch's files, ``reason`` DALI's message.

    DALI cannot say which sample failed in a way a pipeline could recover from, and the
    pipeline is unusable after the error. To keep the good files' work, decode the batch's
    files with :func:`lanser_fast.audio.load_audio`, which raises a per-file ``AudioError``.
    """

    def __init__(self, paths: Sequence[str], reason: str):
        self.paths = list(paths)
        self.reason = reason
        listed = ", ".join(self.paths)
        super().__init__(f"DALI could not decode the batch [{listed}]: {reason}")


@dataclass(frozen=True)
class AudioBatch:
    """One padded batch: row i is ``paths[i]``, zero past ``lengths[i]``."""

    waves: torch.Tensor  # (B, S) float32 on the pipeline's device, S = max(lengths)
    lengths: torch.Tensor  # (B,) int64 on the CPU (what log_mel takes)
    paths: list[str]


def dali_available() -> bool:
    """Whether ``nvidia.dali`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("nvidia.dali") is not None
    except ModuleNotFoundError:  # no ``nvidia`` namespace package at all
        return False


def build_audio_pipeline(paths: Sequence[str], batch_size: int, *, device: str = "cpu",
                         num_threads: int = 2, device_id: int = 0,
                         sample_rate: int = SAMPLE_RATE):
    """An unbuilt DALI pipeline giving ``(waves, lengths, index)`` per batch of ``paths``.

    ``waves`` are padded to the batch's longest clip, ``lengths`` are (B, 1) int64 on the CPU and
    ``index`` (B, 1) int32 is each row's position in ``paths``. Files are read once, in order;
    the last batch is filled up with copies of the last file (``pad_last_batch``), which the
    caller drops.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    from nvidia.dali import fn, pipeline_def, types

    target = float(sample_rate)

    # Conditionals let a batch mix rates: only the rows that need it are resampled. The dynamic
    # executor lets `audio.shape()` of GPU data reach the CPU outputs.
    @pipeline_def(enable_conditionals=True, exec_dynamic=True)
    def audio_pipeline():
        # Labels are the file indices: the caller maps rows back to paths from what DALI read.
        encoded, index = fn.readers.file(files=list(paths), labels=list(range(len(paths))),
                                         random_shuffle=False, pad_last_batch=True,
                                         name=READER_NAME)
        # Downmix in the decoder (CPU-only op): a single channel is all that crosses to the GPU.
        audio, rate = fn.decoders.audio(encoded, dtype=types.FLOAT, downmix=True)
        if device == "gpu":
            audio = audio.gpu()
        # DALI's resampler is not a pass-through at ratio 1 (its table-driven kernel is off by
        # ~1e-7): skipping it keeps 16 kHz input bit-identical to load_audio.
        if rate != target:
            audio = fn.audio_resample(audio, in_rate=rate, out_rate=target)
        return fn.pad(audio, fill_value=0.0), audio.shape(), index

    return audio_pipeline(batch_size=batch_size, num_threads=num_threads,
                          device_id=device_id if device == "gpu" else None)


def dali_audio_batches(paths: Sequence[str | os.PathLike], batch_size: int = 32, *,
                       device: str = "cpu", num_threads: int = 2, device_id: int = 0,
                       sample_rate: int = SAMPLE_RATE) -> Iterator[AudioBatch]:
    """Decode ``paths`` with DALI into padded mono batches at ``sample_rate``, in order.

    Every file appears exactly once; the last batch holds the remainder. ``device="gpu"`` returns
    CUDA tensors on ``device_id`` (copied device-to-device from DALI's buffers, which DALI reuses),
    ``device="cpu"`` CPU tensors. Raises :class:`DaliAudioError` naming the batch's files when
    DALI fails; per-file errors that keep the other files' work are ``load_audio``'s job.
    """
    paths = [os.fspath(p) for p in paths]
    if not paths:
        return
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    # Never larger than the file list: a padded first batch would decode duplicates.
    batch_size = min(batch_size, len(paths))
    pipe = build_audio_pipeline(paths, batch_size, device=device, num_threads=num_threads,
                                device_id=device_id, sample_rate=sample_rate)
    try:
        pipe.build()
    except RuntimeError as exc:
        raise DaliAudioError(paths, _reason(exc)) from None
    for start in range(0, len(paths), batch_size):
        expected = paths[start:start + batch_size]
        try:
            waves, lengths, index = pipe.run()
        except RuntimeError as exc:
            raise DaliAudioError(expected, _reason(exc)) from None
        keep = len(expected)
        rows = np.asarray(index.as_tensor()).reshape(-1)[:keep]
        lengths = torch.from_numpy(np.asarray(lengths.as_tensor()).reshape(-1)[:keep].copy())
        yield AudioBatch(dali_to_torch(waves, device_id)[:keep], lengths,
                         [paths[i] for i in rows.tolist()])


def dali_to_torch(waves, device_id: int) -> torch.Tensor:
    """A DALI TensorList of equal-shape rows as an owned torch tensor on the same device."""
    from nvidia.dali.tensors import TensorGPU

    tensor = waves.as_tensor()
    if not isinstance(tensor, TensorGPU):  # numpy copy: DALI reuses its output buffers
        return torch.from_numpy(np.array(tensor))
    from nvidia.dali.plugin.pytorch import feed_ndarray

    out = torch.empty(tensor.shape(), dtype=torch.float32, device=f"cuda:{device_id}")
    # On torch's current stream, so later torch work is ordered after the copy.
    feed_ndarray(tensor, out, cuda_stream=torch.cuda.current_stream(out.device))
    return out


def _reason(exc: Exception) -> str:
    """DALI's message cut to the failing operator and its own words (no traceback, no C++)."""
    text = str(exc)
    match = _DALI_ERROR.search(text)
    if match:
        return f"{match['op']}: {' '.join(match['msg'].split())}"
    return next((line.strip() for line in text.splitlines() if line.strip()), repr(exc))


# "Error in CPU operator `nvidia.dali.fn.decoders.audio`, ... encountered:\n\n<message>\n
# C++ context: ...": the wording of DALI 2.4. Other wordings fall back to the first line.
_DALI_ERROR = re.compile(
    r"operator `(?:nvidia\.dali\.)?(?P<op>[\w.]+)`.*?encountered:\s*(?P<msg>.*?)\s*"
    r"(?:C\+\+ context:|Current pipeline object|Stacktrace|$)", re.DOTALL)


__all__ = [
    "AudioBatch",
    "DaliAudioError",
    "build_audio_pipeline",
    "dali_audio_batches",
    "dali_available",
]
