"""SER datasets: weak labels from ``label``, IEMOCAP, CREMA-D, tables; splits and fractions;
the training data path (seeded crops, CPU loader; DALI in ``dali_loader``).

Example::

    from lanser_fast.data import open_dataset, make_split, label_fraction, InputConfig
    data = open_dataset("iemocap:/data/IEMOCAP_full_release")  # or crema-d:PATH, table.csv,
                                                               # or a label output
    split = make_split(data, fold=1)                # leave-one-session-out: test = Session1
    train = label_fraction(split.train, 0.1, seed=0)  # stratified, nested, >= 1 per class
    inputs = InputConfig(crop_s=3.0)                # what the model is fed (preset, crop, masks)

Training on them: :mod:`lanser_fast.train`.

Datasets (``DATA`` on the command line; ``sources.py``)
-------------------------------------------------------
Readers record every line or file they skip (with ``file:line`` and the reason) and go on; a
missing root fails at once.

- Weak labels (``weak.py``): a ``label`` output folder or Parquet file. An utterance is a file
  region (``path``, ``offset_s``, ``duration_s``); classes are the labeling run's taxonomy (from
  its ``_run.json``, or ``--taxonomy``); error rows and unlabeled rows are left out;
  ``--min-score`` drops low-confidence labels.
- IEMOCAP (``iemocap.py``; ``iemocap:PATH``, or a folder with ``Session1..5``; the folder above
  ``IEMOCAP_full_release`` works too): labels from ``SessionN/dialog/EmoEvaluation/*.txt``
  summary lines, audio ``SessionN/sentences/wav/<dialog>/<turn>.wav``, transcripts from
  ``dialog/transcriptions/``. Four classes (neutral, happy = hap + exc, sad, angry); other codes
  are dropped. ``--iemocap-kind improvised|scripted``. Speaker = session + the turn's speaker
  letter; folds are sessions, so ``--fold k`` is leave-one-session-out.
- CREMA-D (``cremad.py``; ``crema-d:PATH``, or a folder with ``AudioWAV/``):
  ``ActorID_Sentence_Emotion_Level.wav``, six classes (anger, disgust, fear, happy, neutral,
  sad), transcript = the sentence code's text; badly named, unknown-code and empty files are
  reported. Folds deal the 91 actors into ``--n-folds`` groups: speaker-independent.
- Tables (``tables.py``): CSV/TSV/JSONL (also gzipped) with ``path``, ``label`` and optional
  ``split`` (train/valid/val/dev/test: kept as given), ``speaker``, ``id``, ``offset_s``,
  ``duration_s``, ``transcript``; relative paths are relative to the table.

Splits (``splits.py``): the validation set is drawn by speaker from the training folds
(``--valid-fraction`` for pre-training). Label fractions are stratified by class and nested
across fractions for one seed.

Data path (``crops.py``, ``loader.py``, ``dali_loader.py``)
------------------------------------------------------------
Every random choice of a training item (which item, its crop, its SpecAugment masks) comes from
``(seed, epoch, position)``, not from a global RNG: this makes resumption exact, lets DDP ranks
and a single accumulating process see the same items, and lets two loaders produce the same
crop. Crops are ``--crop-s`` long (shorter utterances are zero-padded at the end); evaluation
and ``predict`` average the logits of half-overlapping crop-length windows over the whole
utterance. ``--balance sampler`` draws classes evenly (with replacement), ``--balance loss``
weights the loss by inverse class frequency.

- CPU (``--loader torch``, ``loader.py``): a torch DataLoader whose worker processes decode with
  our decoder (seeking to the utterance's region) and compute ``ser-64`` log-mel with the
  compiled CPU op.
- GPU (``--loader dali``, the default on CUDA; ``dali_loader.py``): DALI decodes (its CPU
  decoder), moves samples to the GPU, resamples there where needed and crops with zero padding;
  our Triton log-mel computes the features on the GPU. Each item decodes its whole file, which
  suits per-utterance files (IEMOCAP, CREMA-D, short clips); for regions of long recordings the
  torch loader, which seeks, is the better choice. With ``--device cpu`` the same DALI graph
  runs CPU-only.
- Both give identical features for 16 kHz input (tested with DALI's CPU pipeline, and training
  on either gives bit-identical weights); for other rates DALI's resampler (no anti-aliasing
  low-pass) differs from soxr: measured ser-64 mean abs diff <= 0.006 (max 0.13) in the bands
  below 4 kHz, tested at 0.015 / 0.3.

Measured on the 2-core CI machine (benchmarks/README.md): the CPU DataLoader delivers about
1,000 crops/s with 2 workers (DALI's CPU pipeline 1,700/s) while a ResNet-50 step consumes 9-10,
so the loader is not the bottleneck there. DALI's GPU operators have not run (no GPU so far).
"""

from lanser_fast.data.examples import Example, LabeledSet, Problem
from lanser_fast.data.input_config import InputConfig
from lanser_fast.data.sources import DataOptions, data_taxonomy, dataset_kind, open_dataset
from lanser_fast.data.splits import Split, label_fraction, make_split, split_part
from lanser_fast.data.weak import weak_taxonomy

__all__ = ["DataOptions", "Example", "InputConfig", "LabeledSet", "Problem", "Split",
           "data_taxonomy", "dataset_kind", "label_fraction", "make_split", "open_dataset",
           "split_part", "weak_taxonomy"]
