"""The ``label`` job: transcripts and weak emotion labels of a corpus, resumable, on one worker,
one worker process per device, or a Ray cluster.

Example::

    from lanser_fast.asr import TranscribeConfig
    from lanser_fast.label import LabelConfig, label_corpus
    from lanser_fast.manifest import open_inputs
    from lanser_fast.nli.scorer import ScoreConfig
    config = LabelConfig(asr=TranscribeConfig(model="large-v3-turbo"),
                         nli=ScoreConfig(model="FacebookAI/roberta-large-mnli",
                                         taxonomy="goemotions28"))
    items = open_inputs(["corpus/"])
    summary = label_corpus(items, "labels.parquet", config)           # this process
    summary = label_corpus(items, "labels.parquet", config, gpus=8)   # a worker per GPU
    summary.rows, summary.errors, summary.labels, summary.stage_s
    summary.audio_hours_per_device_hour

Modules: ``config.py`` (``LabelConfig``: what a run is), ``corpus.py`` (``label_corpus``: the
job on one machine), ``pipeline.py`` (``Labeler``: one worker), ``workers.py`` (worker
processes), ``ray_job.py`` (``--ray``), ``output.py`` (the output folder: lock, identity,
resume), ``prepare.py`` (``lanser-fast prepare``), ``summary.py`` / ``report.py`` (what a run
did, and its end-of-run tables). The rules shared with the other corpus stages (``_run.json``,
skip-done, segment ids) are in :mod:`lanser_fast.runs`.

Pipeline
--------
Decode threads read (and VAD-cut) files ahead; the utterances of many files share each Whisper
batch (as ``transcribe``, :mod:`lanser_fast.asr`); finished inputs gather until 32 transcripts
wait (256 with a GPU engine), and one ``EntailmentScorer`` call labels them (distinct
transcripts once, pairs bucketed by length, the Hugging Face pipeline's scores,
:mod:`lanser_fast.nli`). Memory is bounded: a fixed window of files is decoded ahead, one NLI
chunk waits at most, rows leave as soon as they are labeled, and manifests are read lazily.

A clip of up to 30 s whose level is below -60 dBFS (digital silence) is not decoded: one row,
empty transcript, ``no_speech`` flag, no label (``--empty neutral`` labels empty transcripts).
Long files are cut by Silero VAD, which only runs where the level is above -60 dBFS, so a
two-hour recording that is mostly silence costs the VAD its sounding minutes.

Output
------
The columns of ``lanser_fast.manifest.RESULT_SCHEMA`` (the README's "Output of label" lists
them). Error stages: ``manifest`` (a broken manifest row, or no transcript with
``--transcripts manifest``), ``decode`` (with the decode error's kind), ``vad``, ``asr`` (the
model failed on this utterance alone), ``language`` (detected language not in ``--languages``;
the transcript stays, no label). ``_run.json`` holds the configuration, the settings that decide
rows (``identity``), library versions, ``status`` (``running`` until the run ends, then
``done``) and the summary (rows, errors, labels, flags, busy seconds per stage, audio-hours per
device-hour). With ``--transcripts manifest``, ``asr_model`` is ``manifest``.

Nothing lost, nothing twice
---------------------------
Every input yields its utterance rows or exactly one error row. The rows of one input are written
in one shard (temporary name, fsync, rename), so after a crash (SIGKILL of everything, at any
moment) re-running the same command skips the inputs that have rows and ends with the rows of an
uninterrupted run: tested by killing runs before any row, after one and after five shards, and a
two-worker run, then comparing with an uninterrupted run (same ids, no duplicates, same
transcripts and labels, scores within 1e-4; the tests decode in float32: in one CI run with int8
decoding a resumed row's ``asr_avg_logprob`` differed by 1.2e-3 from the uninterrupted run's,
with the same transcript, a difference not reproduced since). A shard is written at least once a
minute, so a crash loses at most a minute of work.

The output folder is locked (``OUT/.lock``, released by the OS when a process dies) so two runs
never write into it at once, and a resume with other row-deciding settings (models, taxonomy,
prompt, decoding, VAD, guards, engine precision, ``--languages``, ``--transcripts``) is refused,
naming what changed, unless ``--force``. Bad flags, a manifest without ``path``, a missing model,
an unknown taxonomy or a locked or mismatched output folder fail before any input is read;
``--dry-run`` runs exactly these checks, counts the inputs and the ones already done, names the
resolved models, and stops.

Scale
-----
``--workers N`` (CPU: the cores split between N processes) and ``--gpus N`` (one process per
GPU, each seeing only its own through ``CUDA_VISIBLE_DEVICES``) start worker processes that pull
chunks of 8 inputs from one bounded queue as they go: a slow worker takes fewer, and each writes
its own shards (``part-w<rank>-*.parquet``) into the one folder. Workers die with the coordinator
(``PR_SET_PDEATHSIG``), so a killed run leaves no orphan writing.

``--ray ADDRESS`` runs the same stages as a Ray Data job on an existing cluster (``auto``,
``ray://host:10001``, or ``local``): inputs go out in windows of 4,096 (a million-row manifest
is never held whole), through one actor per GPU holding it whole and running both models (on
CPUs, an ASR and an NLI actor pool of up to 4 threads per actor), and the rows stream back to
the driver, which keeps the lock, the resume and the atomic shards. A job whose cluster lost
nodes waits ``--ray-wait-s`` (300 s) with no input finishing, then stops (exit 1) with the
finished rows written; the same command resumes (tested on a real two-node cluster on one
machine with a worker raylet killed mid-run; the README says how to set up a real cluster).

``lanser-fast prepare`` resolves, downloads, converts (Hugging Face Whisper -> CTranslate2) and
exports (NLI -> ONNX) every model once, under file locks. For an offline cluster, run it where
the hub is reachable with ``HF_HOME`` and ``LANSER_FAST_CACHE`` pointing into one folder, copy
the folder, and set the same variables plus ``HF_HUB_OFFLINE=1`` there. Every ``label`` run
does this step itself before it starts its workers.

Multi-GPU runs have not run on real GPUs yet (no GPU here); the worker processes, the queue, the
per-worker shards and the resume are tested on CPU.

Measured
--------
On the 2-core CI machine (AMD EPYC, AVX2, no GPU), 200 espeak-ng clips, a random-weight Whisper
at ``tiny`` size and a roberta-base-sized random MNLI model with 43 labels, every transcript
made distinct: 1.41x (exact NLI) and 2.06x (int8) the naive pipeline (faster-whisper
``WhisperModel.transcribe`` then the Hugging Face zero-shot pipeline, file by file); the goals,
2.2x and 3.5x, are not met. The NLI stage is about 85 % of our exact run and compute-bound.
Details and the tables: benchmarks/README.md.
"""

from lanser_fast.label.config import LabelConfig
from lanser_fast.label.corpus import label_corpus
from lanser_fast.label.output import OutputError
from lanser_fast.label.pipeline import Labeler, score_rows
from lanser_fast.label.prepare import prepare_models
from lanser_fast.label.summary import LabelSummary

__all__ = [
    "LabelConfig",
    "LabelSummary",
    "Labeler",
    "OutputError",
    "label_corpus",
    "prepare_models",
    "score_rows",
]
