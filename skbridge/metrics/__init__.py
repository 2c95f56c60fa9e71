"""Sample-quality metrics for numeric arrays and mixed-type tables (pandas optional)."""

from ._distances import energy_distance, mmd_rbf
from ._scorers import make_sample_scorer
from ._tabular import c2st, column_shapes, correlation_similarity, dcr, ml_efficiency

__all__ = [
    "c2st",
    "column_shapes",
    "correlation_similarity",
    "dcr",
    "energy_distance",
    "make_sample_scorer",
    "ml_efficiency",
    "mmd_rbf",
]
