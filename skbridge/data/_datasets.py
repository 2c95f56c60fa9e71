"""Offline datasets for examples, tests and benchmarks (generated in code, seeded)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_moons
from sklearn.utils import check_random_state

__all__ = ["make_two_moons", "make_gaussian_mixture"]


def make_two_moons(n_samples=2000, *, noise=0.05, standardize=True, random_state=None):
    """Two interleaving half circles (sklearn's ``make_moons``), standardised by default.

    Returns an ndarray of shape ``(n_samples, 2)``.
    """
    X, _ = make_moons(n_samples, noise=noise, random_state=random_state)
    if standardize:
        X = (X - X.mean(0)) / X.std(0)
    return X


def make_gaussian_mixture(
    n_samples=2000, n_features=16, *, n_components=8, separation=4.0, scale=1.0, random_state=None
):
    """Equal-weight isotropic Gaussian mixture with well-separated random means.

    Means are drawn on a sphere of radius ``separation``; each component has std ``scale``.
    Returns ``(X, means)``: the data and the component means.
    """
    rng = check_random_state(random_state)
    means = rng.normal(size=(n_components, n_features))
    means *= separation / np.linalg.norm(means, axis=1, keepdims=True)
    labels = rng.randint(n_components, size=n_samples)
    X = means[labels] + scale * rng.normal(size=(n_samples, n_features))
    return X, means
