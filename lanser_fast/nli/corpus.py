"""``score_texts``: weak labels of every text of some text inputs into one output file.

The text stage on its own, beside ``transcribe_corpus`` and ``label_corpus``: inputs are read in
chunks (``TextSource``), each chunk is labeled by one call of the weak labeler
(``labelers.make_scorer``: entailment or similarity; distinct texts once, batches bucketed by
length) and written at once (``ScoreWriter``: Parquet or JSONL, renamed into place at the
end). Every input text yields one row of the ``score`` columns of
``manifest.schema``; an empty text keeps its row, with the reason instead of a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lanser_fast.nli.scorer import CachedScorer, ScoreStats, TranscriptScore
from lanser_fast.nli.texts import ScoreWriter, TextSource


@dataclass
class ScoreSummary:
    rows: int = 0  # rows written
    wall_s: float = 0.0
    stats: ScoreStats | None = None  # the scorer's counts (distinct, cached, pairs)
    engine: str = ""

    @property
    def texts_per_s(self) -> float:
        return self.rows / max(self.wall_s, 1e-9)

    @property
    def pairs_per_s(self) -> float:
        return (self.stats.pairs if self.stats else 0) / max(self.wall_s, 1e-9)


def score_texts(sources: Iterable[TextSource], out: str | Path, scorer: CachedScorer, *,
                on_chunk: Callable[[ScoreSummary], None] | None = None) -> ScoreSummary:
    """Label every text of ``sources`` into ``out`` (``.parquet``, else JSONL)."""
    summary = ScoreSummary(stats=scorer.stats, engine=scorer.engine.name)
    started = time.perf_counter()
    writer = ScoreWriter(out)
    for source in sources:
        for chunk in source.chunks():
            results = scorer.score([row["text"] for row in chunk])
            writer.write([score_row(row, result, scorer) for row, result in zip(chunk, results)])
            summary.rows += len(chunk)
            summary.wall_s = time.perf_counter() - started
            if on_chunk is not None:
                on_chunk(summary)
    writer.close()
    summary.wall_s = time.perf_counter() - started
    return summary


def score_row(row: dict, result: TranscriptScore, scorer: CachedScorer) -> dict:
    """One output row: the input's id and text, the weak label and every label's score."""
    return {
        "id": row["id"], "text": row["text"], "weak_label": result.label,
        "weak_score": result.score, "scores": list(result.scores) if result.scores else None,
        "top_k": [{"label": label, "score": value} for label, value in result.top_k],
        "reason": result.reason, "taxonomy": scorer.taxonomy.name,
        "prompt": scorer.config.template, "nli_model": scorer.config.model,
    }
