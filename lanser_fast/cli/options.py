"""Options that several commands share (Typer option objects can be reused), with their
defaults read from the library's configs: Whisper's (``transcribe``, ``label``, ``baseline
text``) and the weak labeler's (``score``, ``label``, ``prompts``, ``baseline text``)."""

from __future__ import annotations

import typer

from lanser_fast.asr.transcriber import TranscribeConfig
from lanser_fast.nli.labelers import DEFAULT_MODELS, default_model
from lanser_fast.nli.scorer import ScoreConfig
from lanser_fast.stop_guard import FIRST, FRACTION, WINDOW
from lanser_fast.taxonomy import BUILTIN

ASR, NLI = TranscribeConfig(), ScoreConfig()

ASR_MODEL_HELP = ("Whisper: faster-whisper name (tiny … large-v3, large-v3-turbo, "
                  "distil-large-v3), hub id, CTranslate2 folder or Hugging Face Whisper folder.")
ASR_BATCH_HELP = ("Utterances (from any files) per Whisper call (0: 4 per CPU core, 16 on "
                  "CUDA).")

COMPUTE_TYPE = typer.Option("auto", "--compute-type", help="Whisper compute type: auto (int8 "
                            "on CPU, float16 on CUDA), int8_float32, float32, int8_float16, …")
ASR_MODEL = typer.Option(ASR.model, "--asr-model", help=ASR_MODEL_HELP)
MAX_NEW_TOKENS = typer.Option(ASR.decode.max_new_tokens, "--max-new-tokens", min=1, max=448,
                              help="Whisper tokens per utterance at most.")
LANGUAGE = typer.Option(ASR.decode.language, "--language", help="Whisper language code (en, "
                                                                "de, …); default: detected "
                                                                "per utterance.")

VAD, GUARDS = ASR.vad, ASR.guards
VAD_THRESHOLD = typer.Option(VAD.threshold, "--vad-threshold", help="Silero VAD speech "
                             "probability (files over 30 s).")
VAD_MIN_SILENCE = typer.Option(VAD.min_silence_ms, "--vad-min-silence-ms", min=0,
                               help="Silence that ends a speech chunk.")
VAD_PAD = typer.Option(VAD.speech_pad_ms, "--vad-pad-ms", min=0, help="Padding on both sides "
                                                                      "of each speech chunk.")
NO_SPEECH = typer.Option(GUARDS.no_speech_threshold, "--no-speech-threshold", help="Flag "
                         "no_speech above this no-speech probability (with a low log-prob).")
LOGPROB = typer.Option(GUARDS.logprob_threshold, "--logprob-threshold", help="no_speech needs "
                       "the average token log-prob below this too.")
COMPRESSION = typer.Option(GUARDS.compression_ratio_threshold, "--compression-ratio-threshold",
                           help="Flag repetition above this compression ratio.")
TOKENS_PER_S = typer.Option(GUARDS.max_tokens_per_s, "--max-tokens-per-s", help="Flag "
                            "too_many_tokens above this rate.")

MODEL_HELP = (f"The labeler's model: hub id or folder (default: {DEFAULT_MODELS['entailment']} "
              f"for entailment, {DEFAULT_MODELS['similarity']} for similarity).")
NLI_MODEL = typer.Option(None, "--nli-model", help=MODEL_HELP, show_default=False)
TEXT_MODEL = typer.Option(None, "--model", help=MODEL_HELP, show_default=False)
LABELER = typer.Option(NLI.labeler, "--labeler", help="entailment (LanSER's: an NLI model scores "
                       "every transcript-label pair) or similarity (a sentence-embedding model: "
                       "cosine to each label's hypothesis, softmax with --temperature).")
TEMPERATURE = typer.Option(NLI.temperature, "--temperature", help="Similarity labeler: softmax "
                           "temperature of the cosines (the label is the argmax whatever it is; "
                           "weak_score and --min-score depend on it).")
TAXONOMY = typer.Option(NLI.taxonomy, "--taxonomy", help=f"Built-in taxonomy "
                        f"({', '.join(BUILTIN)}) or a taxonomy file (.txt, .yaml).")
TEMPLATE = typer.Option(NLI.template, "--template", help="Hypothesis template; {} is the "
                                                         "label's prompt word.")
MULTI_LABEL = typer.Option(NLI.multi_label, "--multi-label", help="Independent per-label "
                                                                  "scores (entailment vs "
                                                                  "contradiction).")
ENGINE = typer.Option(NLI.engine, "--engine", help="NLI engine: auto (torch on CUDA, "
                                                   "onnxruntime on CPU), torch, onnxruntime, or "
                                                   "tensorrt (experimental, CUDA).")
PRECISION = typer.Option(NLI.precision, "--precision", help="NLI precision: auto (the engine's "
                                                            "default: fp32, exact; tensorrt "
                                                            "fp16), fp32, int8 (onnxruntime: "
                                                            "the fast CPU path), bf16/fp16 "
                                                            "(torch), fp16 (tensorrt).")
EMPTY = typer.Option("null", "--empty", help="Label of empty transcripts: null (no label, with "
                                             "the reason) or a taxonomy label such as neutral.")


def text_model(model: str | None, labeler: str) -> str:
    """``--model``/``--nli-model``, or the labeler's default model."""
    from lanser_fast.cli.base import usage_errors

    with usage_errors(ValueError, hint="--labeler"):
        return model or default_model(labeler)


def empty_label(empty: str) -> str | None:
    """``--empty``: ``null`` is no label."""
    return None if empty == "null" else empty


STOP_FIRST = typer.Option(FIRST, "--stop-first", min=0, help="Stop the run (exit 3) when the "
                          "first this many utterances all fail at the model with one error "
                          "(0: off).")
STOP_FRACTION = typer.Option(FRACTION, "--stop-fraction", min=0.01, max=1.0,
                             help=f"Stop the run (exit 3) when more than this share of the last "
                                  f"{WINDOW} utterances fail at the model (1: off).")
RETRY_DECODE = typer.Option(None, "--retry-errors", help="Resuming: redo the inputs whose rows "
                            "are errors of these stages (comma-separated: manifest, decode; or "
                            "all), replacing their rows in place.")
FORCE = typer.Option(False, "--force", help="Resume into a folder written with other settings "
                     "(rows already there keep theirs).")
RETRY_ERRORS = typer.Option(None, "--retry-errors", help="Resuming: redo the inputs whose rows "
                            "are errors of these stages (comma-separated: manifest, decode, vad, "
                            "asr, language, write; or all), replacing their rows in place.")
