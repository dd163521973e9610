"""The report of ``lanser-fast experiment lanser-mini``: ``results.csv`` (one row per fine-tuning
cell), ``summary.csv``, ``figures.json``, ``label_efficiency.png`` and ``report.md`` (the tables
and each of the paper's claims, checked against the figures measured)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from lanser_fast.train.experiment import plot

RESULTS_CSV, SUMMARY_CSV, FIGURES_JSON, PLOT_PNG, REPORT_MD = (
    "results.csv", "summary.csv", "figures.json", "label_efficiency.png", "report.md")


def summarize(cells: list[dict]) -> list[dict]:
    """Mean and standard deviation of WA and UA per (start, fraction) over its seeds."""
    rows = []
    for start in sorted({c["start"] for c in cells}, key=lambda s: (s != "scratch", s)):
        for fraction in sorted({c["fraction"] for c in cells}):
            group = [c for c in cells if c["start"] == start and c["fraction"] == fraction]
            if not group:
                continue
            wa, ua = np.array([c["wa"] for c in group]), np.array([c["ua"] for c in group])
            rows.append({"start": start, "fraction": fraction, "runs": len(group),
                         "train_examples": float(np.mean([c["train_examples"] for c in group])),
                         "wa_mean": float(wa.mean()), "wa_sd": float(wa.std()),
                         "ua_mean": float(ua.mean()), "ua_sd": float(ua.std())})
    return rows


def claims(figures: dict, rows: list[dict]) -> list[tuple[str, bool, str]]:
    """Each claim of the paper that the miniature can test: (claim, holds, the figures)."""
    chance = figures["chance"]
    main = f"m{figures['config']['match']:g}"
    found = []
    for match, agree in figures["agreement"].items():
        found.append((f"weak labels (match {float(match):g}) agree with the text's emotion well "
                      "above chance", agree["text"] > chance + 0.15,
                      f"{agree['text']:.1%} vs chance {chance:.1%}"))
        # a label equal to the text emotion t of the time, voice = text for m of the clips: it
        # equals the voice for m t, plus (1 - m)(1 - t)/5 when a wrong label hits the voice
        m, t = agree["text_voice_match"], agree["text"]
        expected = m * t + (1 - m) * (1 - t) / 5
        found.append((f"weak labels (match {float(match):g}) agree with the voice's emotion at "
                      "about what the match implies", abs(agree["voice"] - expected) <= 0.05,
                      f"{agree['voice']:.1%} vs {expected:.1%} expected from text agreement "
                      f"{t:.1%} and voice = text for {m:.1%}"))
    smallest = min(r["fraction"] for r in rows)
    scratch = _row(rows, "scratch", smallest)
    pre = _row(rows, f"pretrained {main}", smallest)
    gap = pre["ua_mean"] - scratch["ua_mean"]
    spread = max(pre["ua_sd"], scratch["ua_sd"])
    found.append((f"pre-trained beats scratch at the smallest fraction ({smallest:g}) by more "
                  "than the seeds' spread", gap > spread,
                  f"UA {pre['ua_mean']:.3f} ± {pre['ua_sd']:.3f} vs {scratch['ua_mean']:.3f} ± "
                  f"{scratch['ua_sd']:.3f} (gap {gap:+.3f})"))
    text = _mean_ua(figures["baselines"]["text"])
    found.append(("the text-only baseline is at chance on the fixed sentences",
                  abs(text - chance) <= 0.1, f"UA {text:.3f} vs chance {chance:.3f}"))
    zero = _mean_ua(figures["zeroshot"][main])
    found.append(("zero-shot with the cremad6 head is above chance", zero > chance,
                  f"UA {zero:.3f} vs chance {chance:.3f}"))
    contrast = [m for m in figures["zeroshot"] if m != main]
    if contrast:
        other = _row(rows, f"pretrained {contrast[0]}", smallest)
        found.append((f"pre-training on acted-like speech ({main}) helps more than on read-like "
                      f"speech ({contrast[0]})", pre["ua_mean"] > other["ua_mean"],
                      f"UA at fraction {smallest:g}: {pre['ua_mean']:.3f} vs "
                      f"{other['ua_mean']:.3f}; mean over fractions "
                      f"{_over_fractions(rows, f'pretrained {main}'):.3f} vs "
                      f"{_over_fractions(rows, f'pretrained {contrast[0]}'):.3f}"))
    return found


def write_report(out: Path, figures: dict, cells: list[dict]) -> Path:
    rows = summarize(cells)
    _csv(out / RESULTS_CSV, cells)
    _csv(out / SUMMARY_CSV, rows)
    found = claims(figures, rows)
    figures = {**figures, "claims": [{"claim": c, "holds": h, "figures": f}
                                     for c, h, f in found]}
    (out / FIGURES_JSON).write_text(json.dumps(figures, indent=2))
    plot(rows, out / PLOT_PNG, title="LanSER in miniature: label efficiency",
         chance=figures["chance"])
    (out / REPORT_MD).write_text(report_text(figures, rows, found))
    return out / REPORT_MD


def report_text(figures: dict, rows: list[dict], found) -> str:
    recipe, config = figures["recipe"], figures["config"]
    minutes = sum(figures["total_timings_s"].values()) / 60
    matches = ", ".join(f"{float(m):g}" for m in figures["agreement"])
    lines = [f"# LanSER in miniature ({config['scale']} scale)", "",
             f"Pre-training speech: {recipe['pretrain_clips']} clips per corpus, voice emotion = "
             f"text emotion with probability {matches}; "
             f"CREMA-D-like set: {recipe['actors']} actors x {recipe['sentences']} sentences, "
             f"levels {', '.join(recipe['levels'])}; ResNet-18 (width {recipe['width']}) on "
             f"{recipe['crop_s']:g} s log-mel crops; weak labels from {config['asr_model']} + "
             f"the similarity labeler on {config['text_model']} (cremad6). Seed s tests speaker "
             f"fold s mod {recipe['n_folds']} + 1. Chance UA 1/6 = {figures['chance']:.3f}. "
             f"Run time {minutes:.1f} min here (all invocations on this folder).", "",
             "## Weak labels against the truth the pipeline never read", "",
             "| corpus | clips | labeled | = text emotion | = voice emotion | voice = text |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| match {float(m):g} | {a['clips']} | {a['labeled']} | {a['text']:.1%} | "
              f"{a['voice']:.1%} | {a['text_voice_match']:.1%} |"
              for m, a in figures["agreement"].items()]
    lines += ["", "## Label efficiency (test UA and WA, mean ± sd over seeds)", "",
              "| start | fraction | labels | runs | UA | WA |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['start']} | {r['fraction']:g} | {r['train_examples']:.0f} | {r['runs']} | "
              f"{r['ua_mean']:.3f} ± {r['ua_sd']:.3f} | {r['wa_mean']:.3f} ± {r['wa_sd']:.3f} |"
              for r in rows]
    lines += ["", "## Without fine-tuning, and the baselines (test folds, mean UA)", "",
              "| model | UA | WA |", "|---|---:|---:|"]
    for match, folds in figures["zeroshot"].items():
        lines.append(f"| zero-shot, pre-trained {match} | {_mean_ua(folds):.3f} | "
                     f"{_mean(folds, 'wa'):.3f} |")
    for name in ("text", "majority"):
        lines.append(f"| baseline {name} | {_mean_ua(figures['baselines'][name]):.3f} | "
                     f"{_mean(figures['baselines'][name], 'wa'):.3f} |")
    lines += ["", "## The paper's claims, checked", ""]
    lines += [f"- **{'holds' if holds else 'does not hold'}**: {claim}: {text}"
              for claim, holds, text in found]
    lines += ["", "Step times (s, all invocations): " + ", ".join(
        f"{k} {v:.0f}" for k, v in figures["total_timings_s"].items()), ""]
    return "\n".join(lines)


def _row(rows: list[dict], start: str, fraction: float) -> dict:
    return next(r for r in rows if r["start"] == start and r["fraction"] == fraction)


def _over_fractions(rows: list[dict], start: str) -> float:
    return float(np.mean([r["ua_mean"] for r in rows if r["start"] == start]))


def _mean(folds: dict, key: str) -> float:
    return float(np.mean([f[key] for f in folds.values()]))


def _mean_ua(folds: dict) -> float:
    return _mean(folds, "ua")


def _csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
