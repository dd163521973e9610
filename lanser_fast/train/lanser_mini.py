"""LanSER in miniature: the whole method, offline, with real models, on speech we synthesize.

``run_mini`` runs, each step through the library calls of the matching command and each
resumable (a finished step is kept, a killed one picks up where it stopped):

1. synthesize (:mod:`lanser_fast.synth`) the unlabeled pre-training speech, whose voice emotion
   matches its words' with probability ``match`` (and, at ``full`` scale, a contrast corpus at
   ``contrast``: read rather than acted speech), and a CREMA-D-like labeled tree whose twelve
   fixed sentences carry no emotion (its actors share no voice with the pre-training speakers);
2. ``label``: real Whisper base (int8) and the similarity labeler on all-MiniLM-L6-v2 over
   ``cremad6``: transcripts to weak labels, never looking at the audio's prosody;
3. ``pretrain`` a small ResNet on the log-mels of each pre-training corpus and its weak labels;
4. label efficiency on the CREMA-D-like set: scratch vs each pre-trained model at several label
   fractions; seed ``s`` tests speaker fold ``s mod n_folds + 1`` (speakers of the test fold are
   never trained on), every cell trains the same number of steps;
5. ``zeroshot`` (the pre-trained ``cremad6`` head on the test folds), ``baseline text`` (the
   same labeler on the fixed sentences) and ``baseline majority``;
6. the report (:mod:`.mini_report`): ``report.md``, ``results.csv``, ``label_efficiency.png``.

Scales are fixed recipes (:data:`SCALES`) chosen to fit the 2-core CPU machine this project runs
on: ``small`` (CI) and ``full``. They were set before looking at any result.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from lanser_fast.data.input_config import InputConfig
from lanser_fast.models.config import ModelConfig
from lanser_fast.train.config import TrainConfig

EXPERIMENT_JSON = "experiment.json"
TIMINGS_JSON = "timings.json"  # seconds per step, summed over the invocations
TAXONOMY = "cremad6"
ASR_MODEL = "base"
TEXT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Scale:
    pretrain_clips: int  # clips per pre-training corpus
    actors: int  # CREMA-D-like actors
    sentences: int  # of CREMA-D's twelve sentences, the first this many
    levels: tuple[str, ...]  # intensity levels of the non-neutral emotions
    fractions: tuple[float, ...]  # label fractions of the training folds
    seeds: tuple[int, ...]
    n_folds: int
    contrast: float | None  # match of the contrast pre-training corpus (None: none)
    width: int  # ResNet-18 first-stage channels
    crop_s: float
    pretrain_epochs: int
    finetune_steps: int  # optimizer steps of every fine-tuning cell


SCALES = {
    "small": Scale(pretrain_clips=160, actors=8, sentences=3, levels=("HI",), fractions=(0.1,),
                   seeds=(0, 1, 2, 3), n_folds=4, contrast=None, width=8, crop_s=1.5,
                   pretrain_epochs=40, finetune_steps=40),
    "full": Scale(pretrain_clips=600, actors=8, sentences=12, levels=("LO", "HI"),
                  fractions=(0.02, 0.05, 0.1, 0.25, 1.0), seeds=(0, 1, 2, 3), n_folds=4,
                  contrast=0.2, width=16, crop_s=1.5, pretrain_epochs=30, finetune_steps=120),
}


@dataclass(frozen=True)
class MiniConfig:
    scale: str = "small"
    match: float = 0.7
    seeds: tuple[int, ...] | None = None  # default: the scale's
    asr_model: str = ASR_MODEL
    text_model: str = TEXT_MODEL

    def __post_init__(self):
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        if not 0 <= self.match <= 1:
            raise ValueError(f"match must be in [0, 1], got {self.match}")
        if self.seeds is not None and (not self.seeds or min(self.seeds) < 0):
            raise ValueError(f"seeds must be non-negative integers, got {self.seeds}")

    @property
    def recipe(self) -> Scale:
        scale = SCALES[self.scale]
        return scale if self.seeds is None else replace(scale, seeds=tuple(self.seeds))

    @property
    def matches(self) -> tuple[float, ...]:
        """The pre-training corpora, by the probability that voice and text agree."""
        contrast = self.recipe.contrast
        return (self.match,) if contrast is None or contrast == self.match else \
            (self.match, contrast)


def run_mini(out_dir: str | os.PathLike, config: MiniConfig = MiniConfig(), *,
             say: Callable[[str], None] = print) -> dict:
    """Run (or resume) the experiment into ``out_dir``; the report's figures as a dict."""
    from lanser_fast.label.prepare import prepare_models
    from lanser_fast.train.mini_report import write_report

    out = Path(out_dir)
    claim(out, config)
    prepare_models(label_config(config))
    recipe, timings = config.recipe, {}

    def step(name: str, work):
        say(f"[{name}]")
        started = time.perf_counter()
        result = work()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        return result

    corpora = {m: step("synthesize", lambda m=m: _synthesize_speech(out, m, recipe))
               for m in config.matches}
    cremad = step("synthesize", lambda: _synthesize_cremad(out, recipe, corpora))
    agreement, inits = {}, {}
    for match, corpus in corpora.items():
        labels = step("label", lambda c=corpus, m=match: _label(out, c, m, config, say))
        agreement[match] = _agreement(corpus, labels)
        say(f"  weak labels, match {match:g}: text emotion {agreement[match]['text']:.1%}, "
            f"voice emotion {agreement[match]['voice']:.1%} of {agreement[match]['clips']}")
        inits[match] = step("pretrain", lambda m=match, lb=labels: _pretrain(out, lb, m, recipe))
    data = _cremad(cremad)
    folds = _test_folds(data, recipe)
    cells = step("label efficiency", lambda: _efficiency(out, data, inits, recipe, say))
    zeroshot = step("zeroshot", lambda: _zeroshot(out, folds, inits))
    baselines = step("baselines", lambda: _baselines(out, folds, config))
    figures = {"config": asdict(config), "recipe": asdict(recipe), "agreement": agreement,
               "zeroshot": zeroshot, "baselines": baselines, "timings_s": timings,
               "total_timings_s": _total_timings(out, timings), "chance": 1 / 6}
    write_report(out, figures, cells)
    return figures


def _total_timings(out: Path, timings: dict[str, float]) -> dict[str, float]:
    """Seconds per step over every invocation on this folder (a resumed run adds its own)."""
    path = out / TIMINGS_JSON
    total = json.loads(path.read_text()) if path.is_file() else {}
    for step, seconds in timings.items():
        total[step] = total.get(step, 0.0) + seconds
    path.write_text(json.dumps(total, indent=2))
    return total


def claim(out: Path, config: MiniConfig) -> None:
    """An ``--out`` folder holds one experiment: the same settings resume it, others fail."""
    out.mkdir(parents=True, exist_ok=True)
    record = out / EXPERIMENT_JSON
    mine = {"config": asdict(config), "recipe": asdict(config.recipe)}
    if record.is_file():
        theirs = json.loads(record.read_text())
        if json.loads(json.dumps(mine)) != theirs:
            raise ValueError(f"{out} holds an experiment with other settings ({theirs['config']}"
                             "): give another --out, or delete the folder")
        return
    record.write_text(json.dumps(mine, indent=2))


def _synthesize_speech(out: Path, match: float, recipe: Scale) -> Path:
    from lanser_fast.synth.speech import synthesize_pretraining

    corpus = out / "corpora" / f"pretrain-m{match:g}"
    synthesize_pretraining(corpus, recipe.pretrain_clips, match=match, seed=0)
    return corpus


def _synthesize_cremad(out: Path, recipe: Scale, corpora: dict[float, Path]) -> Path:
    from lanser_fast.data.cremad import SENTENCES
    from lanser_fast.synth.speech import read_speakers, synthesize_cremad

    root = out / "corpora" / "cremad-like"
    pretraining = read_speakers(next(iter(corpora.values())) / "speakers.jsonl")
    synthesize_cremad(root, actors=recipe.actors, levels=recipe.levels, seed=1,
                      sentence_codes=list(SENTENCES)[:recipe.sentences], exclude=pretraining)
    return root


def label_config(config: MiniConfig):
    """The ``label`` settings of the experiment: Whisper, then the similarity labeler."""
    from lanser_fast.label.config import LabelConfig

    base = LabelConfig()
    return replace(base, asr=replace(base.asr, model=config.asr_model),
                   nli=replace(base.nli, model=config.text_model, labeler="similarity",
                               taxonomy=TAXONOMY))


def _label(out: Path, corpus: Path, match: float, config: MiniConfig, say) -> Path:
    from lanser_fast.label.corpus import label_corpus
    from lanser_fast.manifest import open_inputs

    labels = out / "labels" / f"m{match:g}"
    summary = label_corpus(open_inputs([str(corpus / "manifest.jsonl")]), labels,
                           label_config(config))
    say(f"  {summary.progress_line()}")
    return labels


def _agreement(corpus: Path, labels: Path) -> dict:
    from lanser_fast.synth.speech import agreement

    found = agreement(corpus / "truth.jsonl", labels)
    return {"clips": found["clips"], "labeled": found["labeled"],
            "text": found["text_agreement"], "voice": found["voice_agreement"],
            "text_voice_match": found["text_voice_match"]}


def _configs(recipe: Scale) -> tuple[ModelConfig, InputConfig]:
    return (ModelConfig(arch="resnet18", n_classes=6, width=recipe.width),
            InputConfig(crop_s=recipe.crop_s))


def _pretrain(out: Path, labels: Path, match: float, recipe: Scale) -> Path:
    from lanser_fast.data import make_split, open_dataset
    from lanser_fast.train.trainer import fit

    data = open_dataset(str(labels))
    split = make_split(data, seed=0, valid_fraction=0.1)
    model, front = _configs(recipe)
    run = out / "pretrain" / f"m{match:g}"
    fit(split.train, split.valid, run, model_config=replace(model, n_classes=len(data.classes)),
        input_config=front, config=TrainConfig(epochs=recipe.pretrain_epochs, workers=0),
        taxonomy=TAXONOMY, progress=False)
    return run


def _cremad(root: Path):
    from lanser_fast.data import open_dataset

    return open_dataset(f"crema-d:{root}")


def _efficiency(out: Path, data, inits: dict[float, Path], recipe: Scale, say) -> list:
    """Every (start, fraction, seed) cell; scratch cells are shared by the pre-trained starts."""
    from lanser_fast.train.experiment import label_efficiency
    from lanser_fast.train.runs import RunSetup

    model, front = _configs(recipe)
    setup = RunSetup(model, front, TrainConfig(batch_size=16, workers=0, eval_batch=32))
    cells = []
    for seed in recipe.seeds:
        fold = seed % recipe.n_folds + 1
        for k, (match, init) in enumerate(inits.items()):
            starts = ("scratch", "pretrained") if k == 0 else ("pretrained",)
            found = label_efficiency(
                data, out / "efficiency" / f"fold{fold}" / f"m{match:g}", init=init / "last.pt",
                setup=setup, fractions=recipe.fractions, seeds=[seed], fold=fold,
                n_folds=recipe.n_folds, valid_fraction=0.0, starts=starts,
                steps=recipe.finetune_steps, progress=False)
            for cell in found:
                name = "scratch" if cell.start == "scratch" else f"pretrained m{match:g}"
                cells.append({"start": name, "fraction": cell.fraction, "seed": cell.seed,
                              "fold": fold, "train_examples": cell.train_examples,
                              "wa": cell.wa, "ua": cell.ua})
                say(f"  fold {fold} {name:16s} fraction {cell.fraction:g}: "
                    f"{cell.train_examples} labels, UA {cell.ua:.3f}")
    return cells


def _test_folds(data, recipe: Scale) -> list:
    """``(fold, split)`` of every test fold the seeds use."""
    from lanser_fast.data.splits import make_split

    folds = sorted({seed % recipe.n_folds + 1 for seed in recipe.seeds})
    return [(fold, make_split(data, fold=fold, n_folds=recipe.n_folds, seed=0,
                              valid_fraction=0.0)) for fold in folds]


def _zeroshot(out: Path, folds: list, inits: dict[float, Path]) -> dict:
    from lanser_fast.taxonomy import load_taxonomy
    from lanser_fast.train import checkpoint as ckpt
    from lanser_fast.train.distributed import pick_device
    from lanser_fast.train.runs import zeroshot_checkpoint

    found, taxonomy, device = {}, load_taxonomy(TAXONOMY), pick_device("cpu")
    for match, init in inits.items():
        state = ckpt.load(init / "last.pt")
        for fold, split in folds:
            scores = zeroshot_checkpoint(state, split.test, out / "zeroshot" / f"m{match:g}" /
                                         f"fold{fold}", taxonomy=taxonomy,
                                         split=split.description, device=device)
            found.setdefault(f"m{match:g}", {})[fold] = {"wa": scores.wa, "ua": scores.ua}
    return found


def _baselines(out: Path, folds: list, config: MiniConfig) -> dict:
    from lanser_fast.nli.labelers import make_scorer
    from lanser_fast.nli.scorer import ScoreConfig
    from lanser_fast.train.baselines import majority, text_baseline
    from lanser_fast.train.runs import write_scores

    text_config = ScoreConfig(model=config.text_model, labeler="similarity", taxonomy=TAXONOMY)
    scorer = make_scorer(text_config)  # one model load for every fold
    found = {"text": {}, "majority": {}}
    for fold, split in folds:
        where = out / "baselines" / f"fold{fold}"
        result = text_baseline(split.test, text_config, scorer=scorer)
        scores = result.pop("scores")
        write_scores(scores, where, "text", {**result, "split": split.description})
        found["text"][fold] = {"wa": scores.wa, "ua": scores.ua}
        scores, top = majority(split.train, split.test)
        write_scores(scores, where, "majority", {"majority_class": top})
        found["majority"][fold] = {"wa": scores.wa, "ua": scores.ua, "class": top}
    return found
