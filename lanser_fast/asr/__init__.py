"""Whisper transcription with CTranslate2: models, batched decoding, VAD, guards, corpus runs.

Example::

    from lanser_fast.asr import Transcriber, TranscribeConfig, DecodeOptions, transcribe_corpus
    from lanser_fast.manifest import open_inputs
    asr = Transcriber(TranscribeConfig(model="large-v3-turbo",
                                       decode=DecodeOptions(language="en")))
    results = asr.transcribe([clip_a, clip_b])  # 16 kHz mono float32 arrays of at most 30 s
    r = results[0]
    r.text, r.tokens, r.language, r.avg_logprob, r.no_speech_prob
    summary = transcribe_corpus(open_inputs(["corpus/"]), "transcripts.parquet", transcriber=asr)
    summary.audio_hours_per_device_hour, summary.errors, summary.flags

The command is ``lanser-fast transcribe IN... --out DIR`` (``lanser-fast transcribe --help``).

Models (``models.py``)
----------------------
``--model`` takes a faster-whisper name (``tiny`` ... ``large-v3``, ``large-v3-turbo``/``turbo``,
``distil-large-v3``, ...: the CTranslate2 repos faster-whisper loads), a hub id, a local
CTranslate2 folder (``model.bin``) or a local Hugging Face Whisper folder. Hugging Face
checkpoints are converted once by CTranslate2's converter into ``$LANSER_FAST_CACHE/ct2/``
(default ``~/.cache/lanser-fast``; keyed by the source files and the CTranslate2 version, under a
file lock). With transformers 5 the converter writes an empty ``lang_ids`` list for multilingual
models (it looks for the language tokens where transformers no longer keeps them), which breaks
language detection; the conversion fills it in from the tokenizer's ``<|xx|>`` tokens. The mel
count (80 or 128) comes from the model's ``preprocessor_config.json``. A missing model, an
unknown name, a bad ``--device``, ``--compute-type`` or ``--language`` fails before any input is
read. Compute type: ``int8`` on CPU and ``float16`` on CUDA by default; ``int8_float32`` /
``float32`` on CPU and ``int8_float16`` / ``int8`` / ``bfloat16`` / ... on CUDA on request.

Batching across files (``transcriber.py``, ``whisper_decode.py``)
-----------------------------------------------------------------
A pool of threads decodes files ahead (and runs the VAD of long files); every utterance joins one
queue, cut into fixed-size batches regardless of which file it came from. Per batch: our log-mel
front end (the compiled CPU op; on CUDA the Triton kernel, whose output tensor is handed to
CTranslate2 through ``__cuda_array_interface__`` without a host copy), the encoder once, language
detection on the encoder output when ``--language`` is not given, then greedy decoding
(``--beam-size`` for beam search) without timestamps, prompted
``<|startoftranscript|><|lang|><|task|><|notimestamps|>``. faster-whisper runs the encoder twice
when it detects the language (once to detect, once to decode); we run it once.

On CPU, one single-threaded CTranslate2 worker per core (the workers share the weights) takes
whole batches of 4 utterances and computes their features itself: measured on the 2-core CI
machine, a 30 s window of the tiny model costs 0.84 s per utterance on one thread in batches of
4 against 1.01 s in batches of 16, and one worker per core beat one worker using both cores by
20 %. On CUDA one worker feeds the GPU with batches of 16. ``--batch-size`` overrides both. The
encoder always sees the full 30 s window and each window holds one utterance: packing
utterances or shortening the encoder input would change the transcripts.

Front ends
----------
The default front end pads every utterance with zeros to 30 s before the log-mel, as
openai-whisper and Hugging Face do: tokens equal Hugging Face
``WhisperForConditionalGeneration.generate`` on the same features (tested, exactly).
``TranscribeConfig(frontend="faster-whisper")`` reproduces faster-whisper's features (the clip's
log-mel normalised on its own frames, the rest of the window zeros), so tokens equal
``WhisperModel.transcribe``'s (tested, exactly in float32; on the benchmark's 200 clips in int8,
198 of 200 transcripts are equal: on random weights some logits are near ties, and
faster-whisper detects the language on one more feature frame than it decodes).

Long audio (``vad.py``)
-----------------------
A file over 30 s is cut with Silero VAD v6, the ONNX model bundled inside faster-whisper (run
offline by its ``get_speech_timestamps``; ``--vad-threshold``, ``--vad-min-silence-ms``,
``--vad-pad-ms`` padding on both sides; a chunk longer than 30 s is split). Neighbouring chunks
are merged into contiguous segments of at most 30 s, silences inside included, so a row's
``offset_s``/``duration_s`` name exactly the samples given to the model. Rows of a long file
have ids ``<id>#00000``, ``<id>#00001``, ... (``lanser_fast.runs.segment_id``); a long file
without speech keeps one row with an empty transcript and the flag ``vad_no_speech``. On a
synthetic recording (espeak-ng sentences between pauses) chunk starts lie within the padding plus
one 32 ms VAD window of the true speech onsets; Silero decides an end up to 1.5 windows late, so
ends lie within the padding plus two windows (tested).

Guards (``guards.py``)
----------------------
Flags in ``asr_flags``; the row and its transcript stay.

=================== ============================================================ ==========
flag                fires when                                                   default
=================== ============================================================ ==========
``no_speech``       no-speech probability > ``--no-speech-threshold`` and        0.6, -1.0
                    average log-prob < ``--logprob-threshold`` (Whisper's rule)
``repetition``      UTF-8 bytes / zlib-compressed bytes of the text              2.4
                    > ``--compression-ratio-threshold`` (looping output)
``too_many_tokens`` text tokens per second of audio > ``--max-tokens-per-s``     12
                    (fast read speech is about 4)
``max_tokens``      decoding stopped at ``--max-new-tokens`` without ending      224
``vad_no_speech``   a file over 30 s in which the VAD found no speech
=================== ============================================================ ==========

Output (``corpus.py``)
----------------------
One row per utterance with ``id, path, offset_s, duration_s, audio_flags, transcript, language,
asr_avg_logprob`` (sum of token log-probabilities / (tokens + 1), faster-whisper's definition),
``no_speech_prob, asr_flags, asr_model``; an input that cannot be decoded is one error row
(``error_stage`` ``decode``), and an utterance the model fails on is retried alone and then
becomes its own error row (``asr``) while the rest of its batch goes on. The rows of one input
are written into one shard, so a killed run resumes input by input (rules in
:mod:`lanser_fast.runs`). ``_run.json`` holds the configuration, device, compute type, audio
hours, speech hours (what Whisper saw), wall time, audio-hours per device-hour, error and flag
counts.

Measured
--------
On the 2-core CI machine (AMD EPYC, AVX2, no GPU), a random-weight Whisper at the real ``tiny``
dimensions, int8, 24 tokens per window for every contender, in one run (benchmarks/README.md):
200 espeak-ng clips of 1-15 s, 2.85x faster-whisper's ``BatchedInferencePipeline`` file by file
and 3.04x ``WhisperModel.transcribe``; one 30-minute recording, 1.18x
``BatchedInferencePipeline`` (batch 16). Real-weight and GPU figures: not measured.

CUDA
----
``--device auto`` picks CUDA when CTranslate2 sees a GPU. This path (Triton features kept on the
GPU, CTranslate2 ``float16``) is written against CTranslate2's documented API but has not run on
a GPU: no GPU has been lent to this project's sessions so far.
"""

from lanser_fast.asr.corpus import TranscribeSummary, transcribe_corpus
from lanser_fast.asr.guards import GuardConfig, asr_flags
from lanser_fast.asr.models import WhisperModelError, resolve_whisper
from lanser_fast.asr.transcriber import (
    TranscribeConfig,
    Transcriber,
    Transcript,
    Utterance,
    split_utterances,
)
from lanser_fast.asr.vad import VadConfig, speech_segments
from lanser_fast.asr.whisper_decode import Decoded, DecodeOptions, WhisperDecoder

__all__ = [
    "DecodeOptions",
    "Decoded",
    "GuardConfig",
    "TranscribeConfig",
    "TranscribeSummary",
    "Transcriber",
    "Transcript",
    "Utterance",
    "VadConfig",
    "WhisperDecoder",
    "WhisperModelError",
    "asr_flags",
    "resolve_whisper",
    "speech_segments",
    "split_utterances",
    "transcribe_corpus",
]
