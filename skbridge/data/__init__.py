"""Modality codecs (user data <-> model vectors) and offline datasets."""

from ._datasets import make_gaussian_mixture, make_two_moons
from ._sequence import SequenceCodec
from ._sequence_datasets import dna_markov_chain, load_macrodata, make_dna, make_sines
from ._tabular import TabularCodec

__all__ = [
    "SequenceCodec",
    "TabularCodec",
    "dna_markov_chain",
    "load_macrodata",
    "make_dna",
    "make_gaussian_mixture",
    "make_sines",
    "make_two_moons",
]
