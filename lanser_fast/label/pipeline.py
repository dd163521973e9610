"""One labeling worker: inputs in, finished rows of the whole result schema out, input by input.

Decode threads read (and VAD-cut) files ahead; utterances of many files share the Whisper batches
(``asr.corpus.transcribed_files``); finished inputs gather until ``nli_chunk`` transcripts wait
(256 with a GPU engine, 32 on CPU), and one ``EntailmentScorer`` call labels them all (distinct
transcripts once, pairs bucketed by length). The caller writes each input's rows as one group, so a
resumed run finds an input whole or not at all. Memory stays bounded: a fixed window of files is
decoded ahead, at most one NLI chunk waits, and rows leave as soon as they are labeled.

With ``transcripts="manifest"`` the inputs' own transcripts are labeled and no Whisper model is
loaded; the audio is still decoded, so every row names a readable utterance and its duration.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

from lanser_fast.asr.corpus import IN_FLIGHT_PER_THREAD, transcribed_files
from lanser_fast.audio import SAMPLE_RATE
from lanser_fast.label.config import NLI_CHUNK, LabelConfig
from lanser_fast.label.summary import LabelSummary
from lanser_fast.manifest import Item, error_row, whole_file_row
from lanser_fast.runs import FileRows, decode_threads_for, load_item, ordered_map

MANIFEST_ASR = "manifest"  # asr_model of rows whose transcript came with the input
_LABEL_COLUMNS = ("weak_label", "weak_score", "scores", "taxonomy", "prompt", "nli_model")


class Labeler:
    """The models of one worker (Whisper unless transcripts come from the manifest, and the NLI
    scorer); a missing model or a bad setting fails here, before any input is read."""

    def __init__(self, config: LabelConfig, *, transcriber=None, scorer=None):
        from lanser_fast.asr.transcriber import Transcriber
        from lanser_fast.nli.labelers import make_scorer

        self.config = config
        self.transcriber = None
        if config.transcripts == "asr":
            self.transcriber = transcriber or Transcriber(config.asr)
        self.scorer = scorer or make_scorer(config.nli)
        self.summary = LabelSummary()
        on_gpu = getattr(getattr(self.scorer.engine, "device", None), "type", "cpu") == "cuda" \
            or self.scorer.engine.name == "tensorrt"
        self.nli_chunk = config.nli_chunk or NLI_CHUNK["cuda" if on_gpu else "cpu"]

    def files(self, items: Iterable[Item]) -> Iterator[FileRows]:
        """Each item's finished rows (one ``FileRows`` per input), as soon as they are labeled."""
        chunk: list[FileRows] = []
        waiting = 0
        for file in self._transcribed(items):
            chunk.append(file)
            waiting += sum(1 for row in file.rows if not row["error"])
            if waiting >= self.nli_chunk:
                yield from self._score(chunk)
                chunk, waiting = [], 0
        yield from self._score(chunk)

    def close(self) -> None:
        if self.transcriber is not None:
            self.transcriber.close()

    # ------------------------------------------------------------------ stages

    def _transcribed(self, items: Iterable[Item]) -> Iterator[FileRows]:
        source = transcript_rows(items, self.transcriber, self.config.decode_threads)
        asr_before = self.transcriber.busy_s if self.transcriber is not None else 0.0
        for file in source:
            self.summary.stage_s["decode"] += file.decode_s
            if self.transcriber is not None:
                self.summary.stage_s["asr"] += self.transcriber.busy_s - asr_before
                asr_before = self.transcriber.busy_s
            yield file

    def _score(self, chunk: list[FileRows]) -> Iterator[FileRows]:
        """Weak labels for every transcribed row of ``chunk`` in one scorer call."""
        if not chunk:
            return
        started = time.perf_counter()
        score_rows([row for file in chunk for row in file.rows], self.scorer,
                   self.config.languages)
        self.summary.stage_s["nli"] += time.perf_counter() - started
        yield from chunk


def transcript_rows(items: Iterable[Item], transcriber, decode_threads: int = 0
                    ) -> Iterator[FileRows]:
    """Each input's rows with their transcripts: Whisper's (``transcriber``), or with
    ``transcriber=None`` the manifest's own (``--transcripts manifest``)."""
    if transcriber is not None:
        return transcribed_files(items, transcriber, decode_threads=decode_threads)
    return _manifest_files(items, decode_threads_for(decode_threads))


def _manifest_files(items: Iterable[Item], threads: int) -> Iterator[FileRows]:
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lanser-label-decode") as pool:
        yield from ordered_map(pool, _manifest_file, items, window=threads * IN_FLIGHT_PER_THREAD)


def score_rows(rows: list[dict], scorer, languages: tuple[str, ...] = ()) -> None:
    """Fill the label columns of ``rows`` in place with one scorer call: rows without an error
    whose language is wanted get their weak label; the others keep nulls (an unwanted language
    becomes the row's error with the reason)."""
    todo = []
    for row in rows:
        for name in _LABEL_COLUMNS:
            row.setdefault(name, None)
        if row["error"]:
            continue
        # English-only Whisper models detect nothing: their transcripts are English
        if languages and (row["language"] or "en") not in languages:
            row.update(error_stage="language", error=(
                f"language: detected {row['language']!r}, not one of {', '.join(languages)} "
                "(--languages)"))
            continue
        todo.append(row)
    results = scorer.score([row["transcript"] for row in todo])
    config = scorer.config
    for row, result in zip(todo, results):
        row.update(weak_label=result.label, weak_score=result.score,
                   scores=list(result.scores) if result.scores is not None else None,
                   taxonomy=scorer.taxonomy.name, prompt=config.template, nli_model=config.model)


def _manifest_file(item: Item) -> FileRows:
    """The input's own transcript as its row (the audio decoded for its duration)."""
    started = time.perf_counter()
    audio = load_item(item, SAMPLE_RATE)
    if isinstance(audio, dict):
        return FileRows(item, 0.0, [audio], decode_s=time.perf_counter() - started)
    if item.transcript is None:
        row = error_row(item, "manifest", ValueError(
            "no transcript in the manifest for this input (--transcripts manifest reads the "
            "'transcript', 'text' or 'sentence' column)"))
        return FileRows(item, audio.duration_s, [row], decode_s=time.perf_counter() - started)
    row = whole_file_row(item, audio, MANIFEST_ASR, item.transcript, [])
    return FileRows(item, audio.duration_s, [row], decode_s=time.perf_counter() - started)

