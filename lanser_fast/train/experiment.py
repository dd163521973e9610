"""LanSER's label-efficiency experiment: scratch vs pre-trained over label fractions and seeds.

Every (fraction, seed, start) cell is a ``finetune_and_test`` run in its own folder, so a killed
experiment resumes cell by cell (and a finished cell is never retrained). The results are one
CSV row per cell, a summary table (mean and standard deviation over seeds) and a plot of test UA
against the fraction of labels.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lanser_fast.data.examples import LabeledSet
from lanser_fast.data.splits import N_FOLDS, label_fraction, make_split
from lanser_fast.train.config import TrainConfig
from lanser_fast.train.runs import RunSetup, finetune_and_test

STARTS = ("scratch", "pretrained")
RESULTS_CSV, SUMMARY_CSV, SUMMARY_MD, PLOT_PNG = ("results.csv", "summary.csv", "summary.md",
                                                  "label_efficiency.png")


@dataclass(frozen=True)
class Cell:
    start: str
    fraction: float
    seed: int
    train_examples: int
    wa: float
    ua: float


def label_efficiency(data: LabeledSet, out_dir: str | os.PathLike, *,
                     init: str | os.PathLike, setup: RunSetup,
                     fractions, seeds, fold: int | None, n_folds: int = N_FOLDS,
                     split_seed: int = 0, valid_fraction: float = 0.1,
                     starts: tuple[str, ...] = STARTS, steps: int = 0,
                     progress: bool = True, on_cell=None) -> list[Cell]:
    """Run every cell (resuming finished ones) and write the table and plot into ``out_dir``.

    Both starts train ``setup`` (the pre-trained model's architecture and front end): only the
    initial weights differ. ``valid_fraction`` 0 scores each run's last checkpoint. ``steps``
    gives every cell the same number of optimizer steps (epochs follow from its label count),
    so small fractions are not also trained less; 0 trains ``setup``'s epochs."""
    if not starts or set(starts) - set(STARTS):
        raise ValueError(f"starts must be some of {', '.join(STARTS)}, got {starts}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    split = make_split(data, fold=fold, n_folds=n_folds, seed=split_seed,
                       valid_fraction=valid_fraction)
    if not len(split.test):
        raise ValueError(f"{data.name}: the split has no test set ({split.description}); "
                         "pass --fold")
    cells = []
    for fraction in fractions:
        for seed in seeds:
            for start in starts:
                seeded = replace(setup, train=_cell_config(setup.train, split.train,
                                                           fraction, seed, steps))
                run = out / f"{start}_f{fraction:g}_s{seed}"
                _, record = finetune_and_test(split, run, seeded, fraction=fraction,
                                              init=init if start == "pretrained" else None,
                                              progress=progress)
                if record is None:  # a DDP rank other than 0: rank 0 scores and reports
                    continue
                cell = Cell(start, fraction, seed, record["train_examples"], record["wa"],
                            record["ua"])
                cells.append(cell)
                if on_cell is not None:
                    on_cell(cell)
    if cells:
        write_results(cells, out)
    return cells


def _cell_config(config: TrainConfig, train: LabeledSet, fraction: float, seed: int,
                 steps: int) -> TrainConfig:
    config = replace(config, seed=seed)
    if not steps:
        return config
    per_epoch = math.ceil(len(label_fraction(train, fraction, seed)) /
                          (config.batch_size * config.accumulate))
    return replace(config, epochs=math.ceil(steps / per_epoch), max_steps=steps)


def write_results(cells: list[Cell], out: Path) -> None:
    with open(out / RESULTS_CSV, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["start", "fraction", "seed", "train_examples", "wa", "ua"])
        for c in cells:
            writer.writerow([c.start, c.fraction, c.seed, c.train_examples, f"{c.wa:.6f}",
                             f"{c.ua:.6f}"])
    rows = summarize(cells)
    with open(out / SUMMARY_CSV, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| fraction | start | runs | WA mean ± sd | UA mean ± sd |",
             "|---:|---|---:|---:|---:|"]
    lines += [f"| {r['fraction']:g} | {r['start']} | {r['runs']} | {r['wa_mean']:.3f} ± "
              f"{r['wa_sd']:.3f} | {r['ua_mean']:.3f} ± {r['ua_sd']:.3f} |" for r in rows]
    (out / SUMMARY_MD).write_text("\n".join(lines) + "\n")
    plot(rows, out / PLOT_PNG)


def summarize(cells: list[Cell]) -> list[dict]:
    rows = []
    for fraction in sorted({c.fraction for c in cells}):
        for start in STARTS:
            group = [c for c in cells if c.fraction == fraction and c.start == start]
            if not group:
                continue
            wa, ua = np.array([c.wa for c in group]), np.array([c.ua for c in group])
            rows.append({"fraction": fraction, "start": start, "runs": len(group),
                         "wa_mean": float(wa.mean()), "wa_sd": float(wa.std()),
                         "ua_mean": float(ua.mean()), "ua_sd": float(ua.std())})
    return rows


def plot(rows: list[dict], path: Path, *, title: str = "label efficiency",
         chance: float | None = None) -> Path:
    """Test UA (mean ± sd) against the label fraction, one line per start (scratch first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    starts = sorted({r["start"] for r in rows}, key=lambda s: (s != "scratch", s))
    for start, style in zip(starts, ("o--", "s-", "^-.", "d:")):
        mine = [r for r in rows if r["start"] == start]
        ax.errorbar([r["fraction"] * 100 for r in mine], [r["ua_mean"] for r in mine],
                    yerr=[r["ua_sd"] for r in mine], fmt=style, capsize=3, label=start)
    if chance is not None:
        ax.axhline(chance, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xscale("log")
    ax.set_xlabel("labeled training data (%)")
    ax.set_ylabel("test UA")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
