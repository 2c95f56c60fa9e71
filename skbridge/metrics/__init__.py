"""Sample-quality metrics for numeric arrays and mixed-type tables (pandas optional)."""

from ._distances import energy_distance, mmd_rbf
from ._graph import (
    clustering_mmd,
    degree_mmd,
    graph_mmd,
    orbit_counts,
    orbit_mmd,
    spectral_mmd,
)
from ._molecules import molecule_metrics
from ._scorers import make_sample_scorer
from ._sequence import (
    autocorrelation_error,
    discriminative_score,
    kmer_jsd,
    nearest_hamming,
    predictive_score,
    smiles_validity,
)
from ._tabular import c2st, column_shapes, correlation_similarity, dcr, ml_efficiency

__all__ = [
    "autocorrelation_error",
    "c2st",
    "clustering_mmd",
    "column_shapes",
    "correlation_similarity",
    "dcr",
    "degree_mmd",
    "discriminative_score",
    "energy_distance",
    "graph_mmd",
    "kmer_jsd",
    "make_sample_scorer",
    "ml_efficiency",
    "molecule_metrics",
    "mmd_rbf",
    "nearest_hamming",
    "orbit_counts",
    "orbit_mmd",
    "predictive_score",
    "smiles_validity",
    "spectral_mmd",
]
