r"""Reference SDEs: the linear forward processes an untrained SB-VAE encoder starts from.

Both references have a *linear* drift :math:`f(t, x) = c(t)\,x` and a state-independent
diffusion :math:`g(t)`, so the law of :math:`X_t` given :math:`X_0 = x` is Gaussian,

.. math::
    X_t \mid X_0 = x \sim \mathcal N\big(\alpha(t)\,x,\ \sigma(t)^2 I\big),

which is what denoising score matching needs. The prior :math:`\pi` of each reference is the
law of :math:`X_T` when :math:`X_0 \sim \mathcal N(0, I)` (standardised data), i.e.
:math:`\mathcal N(0, (\alpha(T)^2 + \sigma(T)^2) I)`: exactly :math:`\mathcal N(0, I)` for VP.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["ReferenceSDE", "VPSDE", "BrownianSDE", "make_reference_sde", "REFERENCE_SDES"]

REFERENCE_SDES = ("vp", "brownian")


def _as_tensor(t: Tensor | float, like: Tensor | None = None) -> Tensor:
    if isinstance(t, Tensor):
        return t
    if like is not None:
        return torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return torch.as_tensor(t, dtype=torch.get_default_dtype())


class ReferenceSDE:
    r"""Base class of a linear reference SDE :math:`dX = c(t) X dt + g(t) dW` on :math:`[0, T]`.

    Subclasses define :meth:`drift_coef` (:math:`c`), :meth:`diffusion` (:math:`g`),
    :meth:`alpha` and :meth:`sigma` (the Gaussian transition from time 0).
    """

    T: float

    def drift_coef(self, t: Tensor) -> Tensor:  # pragma: no cover - abstract
        r"""The drift coefficient :math:`c(t)` of :math:`f(t, x) = c(t)\,x`."""
        raise NotImplementedError

    def diffusion(self, t: Tensor) -> Tensor:  # pragma: no cover - abstract
        r"""The diffusion coefficient :math:`g(t)`."""
        raise NotImplementedError

    def alpha(self, t: Tensor) -> Tensor:  # pragma: no cover - abstract
        r"""The mean factor :math:`\alpha(t)` of the transition :math:`X_t \mid X_0 \sim
        \mathcal N(\alpha(t) X_0, \sigma(t)^2 I)`."""
        raise NotImplementedError

    def sigma(self, t: Tensor) -> Tensor:  # pragma: no cover - abstract
        r"""The standard deviation :math:`\sigma(t)` of the transition from time 0."""
        raise NotImplementedError

    def drift(self, t: Tensor, x: Tensor) -> Tensor:
        r""":math:`f(t, x) = c(t)\,x` (``t`` a scalar or one time per row)."""
        c = _as_tensor(t, x)
        c = self.drift_coef(c)
        if c.dim() > 0:
            c = c.reshape(-1, *([1] * (x.dim() - 1)))
        return c * x

    def drift_divergence(self, t: Tensor, dim: int) -> Tensor:
        r""":math:`\nabla\cdot f = d\,c(t)`."""
        return dim * self.drift_coef(t)

    @property
    def prior_var(self) -> float:
        r"""Variance of the prior :math:`\pi = \mathcal N(0, v I)`, :math:`v = \alpha(T)^2 + \sigma(T)^2`."""
        T = torch.tensor(self.T, dtype=torch.float64)
        return float(self.alpha(T) ** 2 + self.sigma(T) ** 2)

    def prior_log_prob(self, z: Tensor) -> Tensor:
        r""":math:`\log \pi(z)` summed over the event dimensions (one value per row)."""
        v = self.prior_var
        d = z[0].numel()
        sq = z.reshape(z.shape[0], -1).pow(2).sum(-1)
        return -0.5 * sq / v - 0.5 * d * math.log(2 * math.pi * v)

    def prior_score(self, z: Tensor) -> Tensor:
        r""":math:`\nabla \log \pi(z) = -z / v`."""
        return -z / self.prior_var

    def prior_sample(self, shape, generator=None, device=None, dtype=None) -> Tensor:
        """Draw from the prior."""
        z = torch.randn(shape, generator=generator, device=device, dtype=dtype)
        return z * math.sqrt(self.prior_var)

    def marginal(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        r"""Sample :math:`X_t = \alpha(t) x_0 + \sigma(t)\,\varepsilon` (``t`` one value per row)."""
        shape = (-1,) + (1,) * (x0.dim() - 1)
        return self.alpha(t).reshape(shape) * x0 + self.sigma(t).reshape(shape) * noise


class VPSDE(ReferenceSDE):
    r"""Variance-preserving (Ornstein–Uhlenbeck) reference of Song et al. (2021).

    .. math::
        \beta(t) = \beta_{\min} + (\beta_{\max} - \beta_{\min})\,t,\quad
        f = -\tfrac12 \beta(t) x,\quad g = \sqrt{\beta(t)},\quad
        \alpha(t) = e^{-\frac12\int_0^t\beta},\quad \sigma(t)^2 = 1 - \alpha(t)^2.

    With the usual ``T = 1`` and ``beta_max = 20`` the reference carries any standardised data
    law to :math:`\pi = \mathcal N(0, I)` almost exactly; a small ``beta_max`` or ``T`` leaves a
    prior mismatch that a learned encoder can remove.
    """

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, T: float = 1.0):
        if not (beta_min > 0 and beta_max >= beta_min):
            raise ValueError(f"need 0 < beta_min <= beta_max, got {beta_min}, {beta_max}")
        if not T > 0:
            raise ValueError(f"T must be positive, got {T}")
        self.beta_min, self.beta_max, self.T = float(beta_min), float(beta_max), float(T)

    def beta(self, t: Tensor) -> Tensor:
        return self.beta_min + (self.beta_max - self.beta_min) * t

    def int_beta(self, t: Tensor) -> Tensor:
        r""":math:`\int_0^t \beta(s)\,ds`."""
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def drift_coef(self, t):
        return -0.5 * self.beta(_as_tensor(t))

    def diffusion(self, t):
        return torch.sqrt(self.beta(_as_tensor(t)))

    def alpha(self, t):
        return torch.exp(-0.5 * self.int_beta(_as_tensor(t)))

    def sigma(self, t):
        return torch.sqrt(-torch.expm1(-self.int_beta(_as_tensor(t))))

    def __repr__(self):
        return f"VPSDE(beta_min={self.beta_min}, beta_max={self.beta_max}, T={self.T})"


class BrownianSDE(ReferenceSDE):
    r"""Brownian reference :math:`dX = \sigma\,dW`: :math:`f = 0`, :math:`g = \sigma`.

    :math:`\alpha = 1`, :math:`\sigma(t)^2 = \sigma^2 t`, prior
    :math:`\mathcal N(0, (1 + \sigma^2 T) I)`.
    """

    def __init__(self, sigma: float = 1.0, T: float = 1.0):
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        if not T > 0:
            raise ValueError(f"T must be positive, got {T}")
        self.sigma_, self.T = float(sigma), float(T)

    def drift_coef(self, t):
        return torch.zeros_like(_as_tensor(t))

    def diffusion(self, t):
        return torch.full_like(_as_tensor(t), self.sigma_)

    def alpha(self, t):
        return torch.ones_like(_as_tensor(t))

    def sigma(self, t):
        return self.sigma_ * torch.sqrt(_as_tensor(t))

    def __repr__(self):
        return f"BrownianSDE(sigma={self.sigma_}, T={self.T})"


def make_reference_sde(name: str, *, beta_min=0.1, beta_max=20.0, sigma=1.0, T=1.0):
    """Build a reference SDE by name (one of :data:`REFERENCE_SDES`)."""
    if name == "vp":
        return VPSDE(beta_min=beta_min, beta_max=beta_max, T=T)
    if name == "brownian":
        return BrownianSDE(sigma=sigma, T=T)
    raise ValueError(f"unknown reference SDE {name!r}; valid names: {REFERENCE_SDES}")
