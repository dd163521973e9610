"""``python -m lanser_fast.synth``: write the synthetic corpora, or compare a label run with the
truth they recorded (see :mod:`lanser_fast.synth.speech`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from lanser_fast.synth.speech import agreement, synthesize_cremad, synthesize_pretraining


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Synthetic emotional speech (espeak-ng).")
    sub = parser.add_subparsers(dest="what", required=True)
    pre = sub.add_parser("pretrain", help="unlabeled emotional speech (manifest + truth)")
    pre.add_argument("--out", required=True)
    pre.add_argument("--count", type=int, default=36)
    pre.add_argument("--match", type=float, default=0.7, help="P(voice emotion = text's)")
    pre.add_argument("--seed", type=int, default=0)
    crema = sub.add_parser("cremad", help="a CREMA-D-like labeled tree (AudioWAV/)")
    crema.add_argument("--out", required=True)
    crema.add_argument("--actors", type=int, default=8)
    crema.add_argument("--levels", default="LO,HI")
    crema.add_argument("--seed", type=int, default=1)
    agree = sub.add_parser("agreement", help="weak labels of a label run vs truth.jsonl")
    agree.add_argument("corpus", help="the pretrain corpus folder (holds truth.jsonl)")
    agree.add_argument("results", help="the label output of that corpus")
    args = parser.parse_args(argv)
    if args.what == "agreement":
        a = agreement(Path(args.corpus) / "truth.jsonl", args.results)
        print(f"{a['labeled']} of {a['clips']} clips labeled; weak label = the sentence's "
              f"emotion for {a['text_agreement']:.0%}, = the voice's for "
              f"{a['voice_agreement']:.0%} (chance 1/6 = 17%; voice = text for "
              f"{a['text_voice_match']:.0%} of the clips)")
        return
    if args.what == "pretrain":
        rows = synthesize_pretraining(args.out, args.count, match=args.match, seed=args.seed)
        minutes = sum(r["duration_s"] for r in rows) / 60
        print(f"wrote {len(rows)} clips ({minutes:.1f} min) to {args.out} (truth.jsonl beside)")
    else:
        files = synthesize_cremad(args.out, actors=args.actors, seed=args.seed,
                                  levels=tuple(args.levels.split(",")))
        print(f"wrote {len(files)} clips to {Path(args.out) / 'AudioWAV'}")


if __name__ == "__main__":
    main()
