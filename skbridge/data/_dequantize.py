"""Dequantisation: discrete parts of packed rows become continuous model vectors.

Integer columns are spread uniformly over their intervals; one-hot blocks (categorical
columns, tokens, node categories) are relaxed by argmax dequantisation. Each draw comes
with its exact log-density ``log q(v | x)``, which the generators subtract from their
scores so that a score stays a lower bound on the log-probability of the discrete data.
"""

from __future__ import annotations

import math

import torch

__all__ = ["relaxed_onehot", "uniform_in_intervals", "dequantize"]

_HOT_MEAN = 1.0  # mean of the hot coordinate of a relaxed one-hot block
_HOT_STD = 0.25  # std of every coordinate of the block (the others are N(0, s^2) truncated)


def uniform_in_intervals(low: torch.Tensor, width: torch.Tensor, u: torch.Tensor):
    r"""Integer values spread over their intervals: ``(v, log_q)`` for interval lower ends
    ``low`` (m, k), widths ``width`` (m, k) and uniforms ``u`` (m, k), in float64.

    ``v = low + u * width`` is uniform on each interval, so :math:`\log q(v \mid x)` (m,)
    is minus the sum of the intervals' log widths.
    """
    width = width.double()
    v = low.double() + u.double().clamp(1e-7, 1 - 1e-7) * width
    return v, -torch.log(width).sum(1)


def relaxed_onehot(block: torch.Tensor, u: torch.Tensor):
    r"""Argmax dequantisation of one-hot rows: ``(v, log_q)`` for ``block`` (m, c), ``u`` (m, c).

    The hot coordinate is :math:`N(\mu, s^2)` and the others :math:`N(0, s^2)` truncated
    below it, drawn by inversion from the uniforms ``u`` (float64 inside), so ``argmax v``
    is the hot index for every draw; ``log_q`` (m,) is the exact log-density of the draw.
    """
    s, mu = _HOT_STD, _HOT_MEAN
    u = u.double().clamp(1e-7, 1 - 1e-7)
    hot = block.argmax(1, keepdim=True)
    u_hot = u.gather(1, hot)
    v_hot = mu + s * torch.special.ndtri(u_hot)
    cap = torch.special.ndtr(v_hot / s)  # P(N(0, s^2) < v_hot)
    vb = s * torch.special.ndtri((u * cap).clamp_min(1e-300))
    vb = vb.scatter(1, hot, v_hot)
    # log q: N(v_hot; mu, s^2) times the others' N(0, s^2) truncated at v_hot
    c = vb.shape[1]
    log_norm = -0.5 * math.log(2 * math.pi) - math.log(s)
    lq = -0.5 * ((v_hot - mu) / s) ** 2 + log_norm
    others = -0.5 * (vb / s) ** 2 + log_norm
    others = others.sum(1, keepdim=True) - (-0.5 * (v_hot / s) ** 2 + log_norm)
    lq = lq + others - (c - 1) * torch.special.log_ndtr(v_hot / s)
    return vb, lq[:, 0]


def dequantize(codec, P: torch.Tensor, u: torch.Tensor | None = None, generator=None):
    """Dequantised model vectors ``v`` and ``log q(v|x)`` (n,) for packed rows ``P``.

    ``u`` (n, d) fixes the uniforms; otherwise they are drawn from ``generator``. Without
    discrete parts ``v`` is ``P`` and ``log q`` is 0.
    """
    if not codec.has_discrete_:
        return P, torch.zeros(P.shape[0], dtype=P.dtype, device=P.device)
    if u is None:
        u = torch.rand(
            (P.shape[0], codec.n_latent_), generator=generator, device=P.device, dtype=P.dtype
        )
    return codec.perturb(P, u)
