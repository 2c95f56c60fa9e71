"""Two-sample distances between real and generated rows."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.utils.validation import check_array

__all__ = ["energy_distance"]


def _mean_dist(A, B, chunk=2048):
    total = 0.0
    for i in range(0, A.shape[0], chunk):
        total += cdist(A[i : i + chunk], B).sum()
    return total / (A.shape[0] * B.shape[0])


def energy_distance(X, Y, *, standardize=None):
    r"""Energy distance (Székely & Rizzo), the V-statistic form.

    .. math::
        \mathcal E(X, Y) = 2\,\overline{\|x - y\|} - \overline{\|x - x'\|} - \overline{\|y - y'\|},

    means over all pairs, the zero diagonals included: two finite samples of the *same*
    law give a small positive value of order :math:`\overline{\|x - x'\|}(1/n + 1/m)`, the
    noise level to compare a model against (e.g. train versus test).

    Parameters
    ----------
    X, Y : array-like of shape (n, d) and (m, d)
    standardize : array-like of shape (n_ref, d) or None
        If given, both samples are standardised by this reference's per-feature mean and
        std first (features on comparable scales).

    Returns
    -------
    float
    """
    X = check_array(X, dtype=np.float64)
    Y = check_array(Y, dtype=np.float64)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but Y has {Y.shape[1]}")
    if standardize is not None:
        R = check_array(standardize, dtype=np.float64)
        mu, sd = R.mean(0), R.std(0)
        sd[sd == 0] = 1.0
        X, Y = (X - mu) / sd, (Y - mu) / sd
    return float(2 * _mean_dist(X, Y) - _mean_dist(X, X) - _mean_dist(Y, Y))
