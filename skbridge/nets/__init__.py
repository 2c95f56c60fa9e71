"""Drift networks: time-conditioned backbones for each modality."""

from ._mlp import DriftMLP, TimeEmbedding

__all__ = ["DriftMLP", "TimeEmbedding"]
