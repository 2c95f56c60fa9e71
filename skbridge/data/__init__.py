"""Modality codecs (user data <-> model vectors) and offline datasets."""

from ._codec import Codec
from ._datasets import make_gaussian_mixture, make_two_moons
from ._graph import GraphCodec  # imports networkx only when used
from ._graph_datasets import (
    erdos_renyi_like,
    make_community_small,
    make_grid_graphs,
    train_test_split_graphs,
)
from ._molecules import graphs_from_smiles, load_qm9, qm9_smiles, smiles_from_graphs
from ._sequence import SequenceCodec
from ._sequence_datasets import dna_markov_chain, load_macrodata, make_dna, make_sines
from ._tabular import TabularCodec

__all__ = [
    "Codec",
    "GraphCodec",
    "SequenceCodec",
    "TabularCodec",
    "dna_markov_chain",
    "erdos_renyi_like",
    "graphs_from_smiles",
    "load_qm9",
    "load_macrodata",
    "make_community_small",
    "make_dna",
    "make_gaussian_mixture",
    "make_grid_graphs",
    "make_sines",
    "make_two_moons",
    "qm9_smiles",
    "smiles_from_graphs",
    "train_test_split_graphs",
]
