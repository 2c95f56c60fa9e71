"""Drift networks: time-conditioned backbones for each modality."""

from ._factory import auto_hidden, drift_network
from ._graph import GraphDriftNet
from ._mlp import DriftMLP, TimeEmbedding
from ._temporal import TemporalConvNet

__all__ = [
    "DriftMLP",
    "GraphDriftNet",
    "TemporalConvNet",
    "TimeEmbedding",
    "auto_hidden",
    "drift_network",
]
