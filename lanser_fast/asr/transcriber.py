"""The batched Whisper transcriber: utterances of many files in, one result per utterance out.

``Transcriber.transcribe(clips)`` is the stage on its own (16 kHz mono arrays of at most 30 s):
fixed-size batches of utterances from any number of files go through our log-mel front end
(``whisper-80`` or ``whisper-128`` per the model; on CUDA computed by the Triton kernel and
handed to CTranslate2 on the GPU) and one CTranslate2 call per batch. On CPU, one worker per
core takes whole batches (features, then a single-threaded CTranslate2 replica; the replicas
share the weights), so feature work overlaps model work and no core waits on another's
synchronisation; on CUDA one worker feeds the GPU. Results come back in input order.
``split_utterances`` turns one decoded file into utterances: the whole file up to 30 s, Silero VAD
segments beyond.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np

from lanser_fast.asr.guards import GuardConfig, asr_flags
from lanser_fast.asr.models import DEFAULT_WHISPER
from lanser_fast.asr.vad import VadConfig, speech_segments
from lanser_fast.asr.whisper_decode import Decoded, DecodeOptions, WhisperDecoder
from lanser_fast.audio import SAMPLE_RATE
from lanser_fast.runs import batched, segment_id

WINDOW_SAMPLES = 30 * SAMPLE_RATE  # Whisper's 30 s window
WINDOW_FRAMES = 3000
AUTO_BATCH = {"cpu": 4, "cuda": 16}  # utterances per call when batch_size is 0
FEATURE_THREADS = 1  # each worker computes its own batch's log-mel
# Whisper features: "faster-whisper" (the clip's log-mel, zeros after it; the default: measured
# 1.2 WER points better with real base weights on espeak-ng speech, the same as
# WhisperModel.transcribe) or "whisper" (openai-whisper/HF: the clip padded to 30 s first)
FRONTENDS = ("faster-whisper", "whisper")
ROW_SETTINGS = ("model", "compute_type", "frontend", "resampler", "decode", "vad", "guards")


@dataclass(frozen=True)
class TranscribeConfig:
    model: str = DEFAULT_WHISPER  # faster-whisper name, hub id, CTranslate2 or HF folder
    device: str = "auto"  # auto (CUDA when CTranslate2 sees a GPU), cpu, cuda, cuda:1
    compute_type: str | None = None  # None: int8 on CPU, float16 on CUDA
    batch_size: int = 0  # utterances per CTranslate2 call (0: 4 per CPU worker, 16 on CUDA)
    threads: int = 0  # CPU: batches decoded at once, one thread each (0: one per core)
    frontend: str = "faster-whisper"  # FRONTENDS: features as faster-whisper computes them
    resampler: str = "ffmpeg"  # audio at 16 kHz as Whisper's references read it (audio.decode)
    decode: DecodeOptions = DecodeOptions()
    vad: VadConfig = VadConfig()
    guards: GuardConfig = GuardConfig()

    def __post_init__(self) -> None:
        if self.batch_size < 0:
            raise ValueError(f"batch_size must be positive (0: automatic), not {self.batch_size}")
        from lanser_fast.audio.decode import RESAMPLERS

        if self.resampler not in RESAMPLERS:
            raise ValueError(f"unknown resampler {self.resampler!r}; choose one of "
                             f"{', '.join(RESAMPLERS)}")
        if self.frontend not in FRONTENDS:
            raise ValueError(f"unknown front end {self.frontend!r}; choose one of "
                             f"{', '.join(FRONTENDS)}")
        if self.decode.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")

    def identity(self) -> dict:
        """The settings that decide the rows: a resumed run with others is refused."""
        values = asdict(self)
        return {key: values[key] for key in ROW_SETTINGS}


@dataclass(frozen=True)
class Utterance:
    """At most 30 s of one file: ``samples`` are exactly the audio at ``offset_s``."""

    id: str
    offset_s: float  # seconds from the start of the file
    samples: np.ndarray
    source: object = None  # what the caller attaches (the manifest item)
    audio_flags: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass(frozen=True)
class Transcript:
    utterance: Utterance
    decoded: Decoded
    flags: list[str] = field(default_factory=list)


def split_utterances(item_id: str, samples: np.ndarray, base_offset_s: float = 0.0,
                     vad: VadConfig = VadConfig(), **extra) -> list[Utterance]:
    """The file itself when it fits Whisper's window, else its VAD segments (ids
    ``runs.segment_id``: ``<id>#00000``, ...).
    An empty list: a long file in which the VAD found no speech."""
    if len(samples) <= WINDOW_SAMPLES:
        return [Utterance(item_id, base_offset_s, samples, **extra)]
    return [Utterance(segment_id(item_id, k), base_offset_s + start / SAMPLE_RATE,
                      samples[start:end], **extra)
            for k, (start, end) in enumerate(speech_segments(samples, vad))]


def resolve_device(device: str) -> str:
    """``auto`` is ``cuda`` when CTranslate2 sees a GPU, else ``cpu``; others are checked."""
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if device == "auto":
        return "cuda" if gpus else "cpu"
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return device
    if kind == "cuda" and (not index or index.isdigit()):
        if int(index or 0) >= gpus:
            raise ValueError(f"device {device!r}: CTranslate2 sees {gpus} CUDA device(s) "
                             "(a CPU-only install or no GPU); use --device cpu")
        return device
    raise ValueError(f"device {device!r}: use auto, cpu, cuda or cuda:N")


class Transcriber:
    def __init__(self, config: TranscribeConfig = TranscribeConfig()):
        from lanser_fast.features.presets import get_preset

        self.config = config
        self.device = resolve_device(config.device)
        if self.device == "cpu":  # one single-threaded CTranslate2 worker per core, small
            # batches: measured faster than one worker with every core (see lanser_fast.asr)
            self.workers, threads = config.threads or os.cpu_count() or 1, 1
        else:  # one GPU stream
            self.workers, threads = 1, config.threads
        self.batch_size = config.batch_size or AUTO_BATCH[self.device.split(":")[0]]
        self.decoder = WhisperDecoder(config.model, device=self.device,
                                      compute=config.compute_type, threads=threads,
                                      replicas=self.workers, options=config.decode)
        self.preset = get_preset(f"whisper-{self.decoder.info.n_mels}")
        if self.device.startswith("cuda"):
            self.decoder.probe()  # a broken CUDA stack fails here, before any input is read
        self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                        thread_name_prefix="lanser-asr-worker")
        self._busy_lock = threading.Lock()
        self.busy_s = 0.0  # worker-seconds spent on batches (features and model)

    def features(self, clips: Sequence[np.ndarray]):
        """(B, n_mels, 3000) Whisper features of ≤ 30 s clips: a torch tensor on the device.

        The default front end pads each clip with zeros to 30 s before the log-mel (openai-whisper
        and Hugging Face); ``frontend="faster-whisper"`` reproduces faster-whisper's features
        (zeros after normalization), so tokens equal ``WhisperModel.transcribe``'s."""
        import torch

        from lanser_fast.features import log_mel
        from lanser_fast.features.logmel import as_batch

        on_gpu = self.device.startswith("cuda") and torch.cuda.is_available()
        if self.config.frontend == "faster-whisper":
            from lanser_fast.features.faster_whisper_compat import faster_whisper_features

            return faster_whisper_features(clips, self.preset, threads=FEATURE_THREADS,
                                           device=self.device if on_gpu else "cpu")
        waves, lengths = as_batch(list(clips))
        if on_gpu:
            waves = waves.to(self.device)  # log_mel runs where the waves are (Triton on CUDA)
        features, _ = log_mel(waves, lengths, self.preset, threads=FEATURE_THREADS)
        return features[..., :WINDOW_FRAMES]

    def transcribe(self, clips: Sequence[np.ndarray]) -> list[Decoded]:
        """Decoded results of ≤ 30 s 16 kHz clips, in order (batched by ``batch_size``)."""
        utterances = [Utterance(str(i), 0.0, c) for i, c in enumerate(clips)]
        longest = max((u.duration_s for u in utterances), default=0.0)
        if longest > WINDOW_SAMPLES / SAMPLE_RATE:
            raise ValueError(f"a clip of {longest:.1f} s does not fit Whisper's 30 s window: cut "
                             "it first (split_utterances, or transcribe_corpus for files)")
        out = []
        for result in self.run(utterances):
            if isinstance(result, tuple):
                raise result[1]
            out.append(result.decoded)
        return out

    def run(self, utterances: Iterable[Utterance]) -> Iterator[Transcript | tuple]:
        """Transcripts in input order; an utterance the model fails on yields
        ``(utterance, exception)`` instead (the others go on)."""
        pending: deque = deque()
        for batch in batched(utterances, self.batch_size):
            pending.append(self._pool.submit(self._batch, batch))
            if len(pending) > self.workers:  # one batch queued behind each busy worker
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()

    def _batch(self, batch: list[Utterance]) -> list[Transcript | tuple]:
        """One worker's batch: its log-mel, then one CTranslate2 call."""
        started = time.perf_counter()
        try:
            return self._decode_batch(batch)
        finally:
            with self._busy_lock:
                self.busy_s += time.perf_counter() - started

    def _decode_batch(self, batch: list[Utterance]) -> list[Transcript | tuple]:
        try:
            results = self.decoder.decode(self.features([u.samples for u in batch]),
                                          [u.duration_s for u in batch])
        except Exception:  # noqa: BLE001 - retry one by one so one bad utterance stays alone
            return [self._alone(utterance) for utterance in batch]
        return [self._transcript(u, decoded) for u, decoded in zip(batch, results)]

    def _alone(self, utterance: Utterance) -> Transcript | tuple:
        try:
            decoded = self.decoder.decode(self.features([utterance.samples]),
                                          [utterance.duration_s])[0]
        except Exception as exc:  # noqa: BLE001 - becomes the utterance's error row
            return utterance, exc
        return self._transcript(utterance, decoded)

    def _transcript(self, utterance: Utterance, decoded: Decoded) -> Transcript:
        return Transcript(utterance, decoded,
                          asr_flags(decoded, utterance.duration_s, self.config.guards))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
