"""SER datasets: weak labels from ``label``, IEMOCAP, CREMA-D, tables; splits and fractions;
the training data path (seeded crops, CPU loader; DALI in ``dali_loader``)."""

from lanser_fast.data.crops import InputConfig
from lanser_fast.data.examples import Example, LabeledSet, Problem
from lanser_fast.data.sources import DataOptions, dataset_kind, open_dataset
from lanser_fast.data.splits import Split, label_fraction, make_split

__all__ = ["DataOptions", "Example", "InputConfig", "LabeledSet", "Problem", "Split",
           "dataset_kind", "label_fraction", "make_split", "open_dataset"]
