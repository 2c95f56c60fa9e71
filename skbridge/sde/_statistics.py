r"""Two-sample statistics on tensors: the prior-mismatch statistics of SB-VAE's encoder phase.

:func:`mmd2_multiscale` is a squared MMD with a fixed sum of RBF kernels whose bandwidths
scale with :math:`\sqrt d` (no data-dependent bandwidth, so values are comparable across
checks of one fit); :func:`moment_matched_kl` compares the first two moments only. These
are training statistics; the sample-quality metrics users compare generators with
(median-heuristic MMD, energy distance, ...) are in :mod:`skbridge.metrics`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "mmd2_multiscale",
    "mmd2_multiscale_to",
    "kernel_mean_multiscale",
    "moment_matched_kl",
]


def mmd2_multiscale(
    x: Tensor, y: Tensor, bandwidths=(0.5, 1.0, 2.0), *, unbiased: bool = False
) -> Tensor:
    r"""Squared MMD with a sum of RBF kernels, bandwidths relative to :math:`\sqrt d`.

    .. math::
        \mathrm{MMD}^2 = \overline{k(x, x')} + \overline{k(y, y')} - 2\,\overline{k(x, y)},\quad
        k(a, b) = \sum_\ell \exp(-\|a - b\|^2 / (2\ell^2 d)).

    ``unbiased=False``: the V-statistic (diagonals included; positive, biased upward by
    :math:`O(1/n)`). ``unbiased=True``: the U-statistic (diagonals excluded; mean zero when
    the two laws agree). SB-VAE's decoder-independent prior-mismatch statistic compares
    encoded validation latents with draws from :math:`\pi` this way.
    """
    x = x.reshape(x.shape[0], -1)
    y = y.reshape(y.shape[0], -1)
    return (
        kernel_mean_multiscale(x, bandwidths, unbiased=unbiased)
        + kernel_mean_multiscale(y, bandwidths, unbiased=unbiased)
        - 2 * _rbf_kernel(x, y, bandwidths).mean()
    )


def _rbf_kernel(a: Tensor, b: Tensor, bandwidths) -> Tensor:
    r"""Sum of RBF kernels (bandwidths relative to :math:`\sqrt d`) on flattened rows."""
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad):
        # differentiable (an encoder trained on the MMD): no in-place ops, and squared
        # distances whose gradient is finite at zero distance (cdist's is not)
        sq = (a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2.0 * a @ b.T).clamp_min(0.0)
        sq = sq * (-1.0 / (2 * a.shape[1]))
        return sum(torch.exp(sq / (bw * bw)) for bw in bandwidths)
    sq = torch.cdist(a, b).pow_(2).mul_(-1.0 / (2 * a.shape[1]))
    out = torch.zeros_like(sq)
    for bw in bandwidths:
        out.add_(torch.exp(sq / (bw * bw)))
    return out


def kernel_mean_multiscale(
    a: Tensor, bandwidths=(0.5, 1.0, 2.0), *, unbiased: bool = False
) -> Tensor:
    """Mean kernel value within one sample (diagonal left out if ``unbiased``): the term of
    :func:`mmd2_multiscale` that a fixed reference sample contributes, computable once."""
    k = _rbf_kernel(a, a, bandwidths)
    if not unbiased:
        return k.mean()
    n = a.shape[0]
    return (k.sum() - k.diagonal().sum()) / (n * (n - 1))


def mmd2_multiscale_to(
    x: Tensor, y: Tensor, y_within: Tensor, bandwidths=(0.5, 1.0, 2.0)
) -> Tensor:
    """Unbiased :func:`mmd2_multiscale` against a fixed sample ``y`` whose within term is given."""
    x = x.reshape(x.shape[0], -1)
    within = kernel_mean_multiscale(x, bandwidths, unbiased=True)
    return within + y_within - 2 * _rbf_kernel(x, y, bandwidths).mean()


def moment_matched_kl(z: Tensor, prior_var: float) -> float:
    r"""KL from the moment-matched Gaussian of the rows of ``z`` to :math:`\mathcal N(0, vI)`.

    .. math:: \tfrac12\big(\mathrm{tr}\,S/v + \|m\|^2/v - d + d\log v - \log\det S\big)

    with the sample mean :math:`m` and covariance :math:`S` (its diagonal only when the
    dimension exceeds a quarter of the rows, where the full estimate is too noisy).
    """
    z = z.reshape(z.shape[0], -1).double()
    n, d = z.shape
    m = z.mean(0)
    zc = z - m
    if d <= n // 4:
        cov = zc.T @ zc / (n - 1)
        trace, logdet = cov.trace(), torch.linalg.slogdet(cov)[1]
    else:
        var = zc.pow(2).sum(0) / (n - 1)
        trace, logdet = var.sum(), var.log().sum()
    v = float(prior_var)
    kl = 0.5 * (trace / v + m.dot(m) / v - d + d * math.log(v) - logdet)
    return float(kl)
