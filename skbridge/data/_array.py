"""The numeric-array codec: per-feature standardisation with its log-|det| kept."""

from __future__ import annotations

import numpy as np

__all__ = ["ArrayCodec"]


class ArrayCodec:
    """Standardise each feature to mean 0, variance 1, and undo it.

    ``log_det_`` is :math:`-\\sum_j \\log s_j`, the log-Jacobian of ``transform``; a density
    of the standardised data plus ``log_det_`` is a density in the user's units.
    """

    def fit(self, X: np.ndarray) -> ArrayCodec:
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        tiny = 1e-12 * np.maximum(1.0, np.abs(mean))
        constant = np.flatnonzero(scale <= tiny)
        if constant.size:
            raise ValueError(
                f"feature(s) {constant.tolist()} are constant in the training data; a density "
                "over a constant feature is degenerate. Drop them before the generator, e.g. "
                "with sklearn.feature_selection.VarianceThreshold() in a Pipeline."
            )
        self.mean_, self.scale_ = mean, scale
        self.log_det_ = float(-np.log(scale).sum())
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        return Z * self.scale_ + self.mean_
