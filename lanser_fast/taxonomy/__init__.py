"""Emotion taxonomies: built-ins, taxonomy files, mappings onto coarser taxonomies."""

from lanser_fast.taxonomy.builtin import BUILTIN
from lanser_fast.taxonomy.taxonomy import (
    Taxonomy,
    TaxonomyError,
    builtin_taxonomy,
    load_taxonomy,
)

DEFAULT_TAXONOMY = "goemotions28"  # the finest built-in (LanSER's default for weak labels)
DEFAULT_TEMPLATE = "The emotion of the conversation is {}."  # the paper's prompt

__all__ = ["BUILTIN", "DEFAULT_TAXONOMY", "DEFAULT_TEMPLATE", "Taxonomy", "TaxonomyError",
           "builtin_taxonomy", "load_taxonomy"]
