"""Two-sample distances between real and generated rows."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.spatial.distance import cdist, pdist

from ._tabular import _encode_prepared, _prepare

__all__ = ["energy_distance", "mmd_rbf"]

# kernel blocks hold at most this many entries (32 MiB of float64)
_CHUNK_ENTRIES = 2**22
# rows used by the median-distance bandwidth heuristic
_MEDIAN_ROWS = 2000


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
    noise level to compare a model against (e.g. train versus test). 0 is ideal.

    Parameters
    ----------
    X, Y : array-like or DataFrame of shape (n, d) and (m, d)
        Purely numeric inputs are used as they are. With categorical columns (bool, object,
        string, category), both samples are encoded as in the metrics' shared encoding:
        numeric columns standardised by ``standardize`` (or ``X`` when it is None),
        categorical columns one-hot scaled so two categories are at distance 1.
    standardize : array-like or DataFrame of shape (n_ref, d) or None
        If given, both samples are standardised by this reference's per-feature mean and
        std first (features on comparable scales).

    Returns
    -------
    float
    """
    if standardize is None:
        prep = _prepare(X, Y, labels=("X", "Y"))
        if all(kind == "num" for kind in prep.kinds):
            A, B = (np.column_stack(table) for table in prep.tables)
        else:
            A, B = _encode_prepared(prep)
    else:
        _, A, B = _encode_prepared(_prepare(standardize, X, Y, labels=("standardize", "X", "Y")))
    return float(2 * _mean_dist(A, B) - _mean_dist(A, A) - _mean_dist(B, B))


def _kernel_sum(A, B, gamma):
    """:math:`\\sum_{ij} \\exp(-\\gamma \\|a_i - b_j\\|^2)`, in row blocks of bounded size."""
    rows = max(1, _CHUNK_ENTRIES // max(1, B.shape[0]))
    total = 0.0
    for i in range(0, A.shape[0], rows):
        D = cdist(A[i : i + rows], B, "sqeuclidean")
        np.multiply(D, -gamma, out=D)
        np.exp(D, out=D)
        total += D.sum()
    return total


def _median_bandwidth(A, B):
    """Median pairwise distance of the pooled sample (at most 2000 rows, seeded)."""
    pooled = np.vstack([A, B])
    if len(pooled) > _MEDIAN_ROWS:
        rows = np.random.RandomState(0).choice(len(pooled), _MEDIAN_ROWS, replace=False)
        pooled = pooled[rows]
    dist = pdist(pooled)
    med = float(np.median(dist)) if dist.size else 0.0
    if not med > 0:  # mostly tied rows (discrete data): the median of the positive distances
        positive = dist[dist > 0]
        med = float(np.median(positive)) if positive.size else 1.0
    return med


def mmd_rbf(X, Y, *, bandwidth="median", unbiased=True, standardize=True):
    r"""Squared maximum mean discrepancy with a Gaussian (RBF) kernel.

    .. math::
        \mathrm{MMD}^2 = \overline{k(x, x')} + \overline{k(y, y')} - 2\,\overline{k(x, y)},
        \qquad k(a, b) = \exp\!\left(-\frac{\|a - b\|^2}{2\sigma^2}\right),

    the ``X``–``X`` and ``Y``–``Y`` means excluding the diagonal when ``unbiased`` (then the
    value is an unbiased estimate that fluctuates around 0 for two samples of the same law and
    can be slightly negative), including it otherwise. 0 is ideal.

    Parameters
    ----------
    X, Y : array-like or DataFrame of shape (n, d) and (m, d)
        ``X`` is the reference (the real rows). Categorical columns are one-hot encoded,
        scaled so two different categories are at distance 1.
    bandwidth : "median" or float, default="median"
        The kernel's :math:`\sigma`. ``"median"``: the median pairwise Euclidean distance of
        the pooled sample (on at most 2000 rows drawn with a fixed seed), computed after the
        standardisation.
    unbiased : bool, default=True
        The U-statistic (diagonals excluded) or the V-statistic (always >= 0).
    standardize : bool, default=True
        Standardise numeric columns by ``X``'s mean and std first.

    Returns
    -------
    float

    Notes
    -----
    The kernel sums are computed in row blocks, so memory stays bounded (tens of MiB) for
    large samples; the time is :math:`O((n + m)^2 d)`.
    """
    A, B = _encode_prepared(_prepare(X, Y, labels=("X", "Y")), standardize=standardize)
    n, m = len(A), len(B)
    if unbiased and min(n, m) < 2:
        raise ValueError("the unbiased MMD needs at least 2 rows in each sample")
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise ValueError(f"bandwidth must be 'median' or a positive number, got {bandwidth!r}")
        sigma = _median_bandwidth(A, B)
    elif isinstance(bandwidth, numbers.Real) and bandwidth > 0:
        sigma = float(bandwidth)
    else:
        raise ValueError(f"bandwidth must be 'median' or a positive number, got {bandwidth!r}")
    gamma = 1.0 / (2.0 * sigma**2)
    kxx, kyy, kxy = _kernel_sum(A, A, gamma), _kernel_sum(B, B, gamma), _kernel_sum(A, B, gamma)
    if unbiased:  # the diagonal terms are exp(0) = 1
        value = (kxx - n) / (n * (n - 1)) + (kyy - m) / (m * (m - 1)) - 2 * kxy / (n * m)
    else:
        value = kxx / n**2 + kyy / m**2 - 2 * kxy / (n * m)
    return float(value)
