"""Time-conditioned MLP drift networks for flat (tabular) events."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["TimeEmbedding", "DriftMLP"]


class TimeEmbedding(nn.Module):
    r"""Sinusoidal features of :math:`t/T`: :math:`[\sin(\omega_i t/T), \cos(\omega_i t/T)]`,
    :math:`\omega_i` log-spaced in :math:`[1, 1000]` (Vaswani et al., 2017; Song et al., 2021).
    """

    def __init__(self, dim: int = 16, T: float = 1.0):
        super().__init__()
        if dim % 2:
            raise ValueError(f"time embedding dim must be even, got {dim}")
        freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), dim // 2))
        self.register_buffer("freqs", freqs / T)

    def forward(self, t: Tensor, n: int) -> Tensor:
        t = t.to(self.freqs.dtype)
        t = t.expand(n) if t.dim() == 0 else t.reshape(n)
        arg = t[:, None] * self.freqs[None, :]
        return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)


class DriftMLP(nn.Module):
    """``(t, x) -> R^d``: an MLP on ``[x, embed(t)]`` with SiLU activations.

    ``zero_init=True`` zeroes the last layer, so the network starts as the zero function
    (an untrained SB-VAE encoder is then exactly the reference SDE).
    """

    def __init__(
        self,
        dim: int,
        hidden: tuple[int, ...] = (128, 128, 128),
        *,
        time_dim: int = 16,
        T: float = 1.0,
        zero_init: bool = False,
    ):
        super().__init__()
        self.embed = TimeEmbedding(time_dim, T)
        layers: list[nn.Module] = []
        width = dim + time_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.SiLU()]
            width = h
        out = nn.Linear(width, dim)
        if zero_init:
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)
        layers.append(out)
        self.net = nn.Sequential(*layers)

    def forward(self, t: Tensor, x: Tensor) -> Tensor:
        n = x.shape[0]
        flat = x.reshape(n, -1)
        out = self.net(torch.cat([flat, self.embed(t, n).to(flat.dtype)], dim=-1))
        return out.reshape(x.shape)
