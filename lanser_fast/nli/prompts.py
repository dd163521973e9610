"""Choosing a prompt template: accuracy and unweighted recall of each template on labeled text.

LanSER picked its template ("The emotion of the conversation is {}.") by zero-shot accuracy on
labeled transcripts; ``evaluate_templates`` does the same for any templates and taxonomy. Gold
labels are labels of the taxonomy, or of the coarser taxonomy it maps onto (then predictions are
mapped before comparing, e.g. a fine taxonomy evaluated on IEMOCAP's four classes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from lanser_fast.metrics import score
from lanser_fast.nli.labelers import make_scorer
from lanser_fast.nli.scorer import ScoreConfig
from lanser_fast.taxonomy import DEFAULT_TEMPLATE, Taxonomy, load_taxonomy

TEMPLATES = (
    DEFAULT_TEMPLATE,  # LanSER's choice
    "This person feels {}.",
    "The speaker is {}.",
    "This text expresses {}.",
    "This example is {}.",  # the zero-shot pipeline's default
)


@dataclass(frozen=True)
class TemplateResult:
    template: str
    accuracy: float  # fraction of texts whose (mapped) prediction equals the gold label
    unweighted_recall: float  # mean over gold classes of the recall of that class
    n: int  # texts evaluated (empty texts count as wrong)


def gold_space(taxonomy: Taxonomy, golds: Sequence[str]) -> str:
    """"fine" when golds are taxonomy labels, "coarse" when they are labels of its mapping."""
    labels = set(golds)
    if labels <= set(taxonomy.labels):
        return "fine"
    if taxonomy.coarse is not None and labels <= set(taxonomy.coarse.labels):
        return "coarse"
    known = set(taxonomy.labels) | set(taxonomy.coarse.labels if taxonomy.coarse else ())
    raise ValueError(f"gold labels {sorted(labels - known)} are not labels of {taxonomy.name}"
                     + (f" or {taxonomy.coarse.name}" if taxonomy.coarse else ""))


def evaluate_templates(config: ScoreConfig, texts: Sequence[str], golds: Sequence[str],
                       templates: Sequence[str] = TEMPLATES) -> list[TemplateResult]:
    bad = [t for t in templates if "{}" not in t]
    if bad:
        raise ValueError(f"templates need a '{{}}' for the label: {bad}")
    taxonomy = load_taxonomy(config.taxonomy)
    space = gold_space(taxonomy, golds)  # before any model loads
    first = make_scorer(replace(config, template=templates[0]), taxonomy=taxonomy)
    results = []
    for template in templates:
        scorer = first if template == templates[0] else first.with_template(template)
        predicted = [r.label for r in scorer.score(texts)]
        if space == "coarse":
            predicted = [first.taxonomy.to_coarse(p) if p else None for p in predicted]
        results.append(_metrics(template, predicted, list(golds)))
    return results


def results_table(results: Sequence[TemplateResult], n_texts: int, config: ScoreConfig):
    """The evaluation as a rich table: template, accuracy, unweighted recall."""
    from rich.table import Table

    table = Table(title=f"{n_texts} labeled texts, taxonomy {config.taxonomy}, model "
                        f"{config.model}")
    for name in ("template", "accuracy", "unweighted recall"):
        table.add_column(name)
    for r in results:
        table.add_row(r.template, f"{r.accuracy:.3f}", f"{r.unweighted_recall:.3f}")
    return table


def _metrics(template: str, predicted: list[str | None], golds: list[str]) -> TemplateResult:
    """Accuracy (WA) and unweighted recall (UA) as :mod:`lanser_fast.metrics` defines them; a
    text without a prediction counts as wrong."""
    if not golds:
        return TemplateResult(template, 0.0, 0.0, 0)
    classes = sorted(set(golds) | {p for p in predicted if p is not None})
    index = {label: i for i, label in enumerate(classes)}
    scores = score([index[g] for g in golds],
                   [-1 if p is None else index[p] for p in predicted], classes)
    return TemplateResult(template, scores.wa, scores.ua, len(golds))
