r"""ODE solvers on a time grid, and the log-likelihood of a flow by the change of variables.

The probability-flow sampler of the diffusion models and the flow-matching baseline both
integrate :math:`dx/dt = v(t, x)` with Euler or Heun steps; the flow's likelihood integrates
the same ODE backwards with the divergence alongside (Chen et al., 2018).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ._divergence import exact_divergence, hutchinson_divergence

__all__ = ["ODE_METHODS", "integrate_ode", "ode_log_likelihood"]

ODE_METHODS = ("heun", "euler")
_LOG_2PI = math.log(2.0 * math.pi)

Velocity = Callable[[Tensor, Tensor], Tensor]


def _check(method):
    if method not in ODE_METHODS:
        raise ValueError(f"unknown ODE method {method!r}; valid: {ODE_METHODS}")


def integrate_ode(
    velocity: Velocity, x: Tensor, times: Tensor, *, method: str = "heun", euler_last=False
) -> Tensor:
    r"""Integrate :math:`dx/dt = v(t, x)` from ``x`` at ``times[0]`` through ``times[-1]``.

    ``times`` may decrease (backwards in time). With :math:`\Delta = t_{j+1} - t_j`, Euler:
    :math:`x_{j+1} = x_j + \Delta\, v(t_j, x_j)`; Heun (second order, two evaluations a
    step): :math:`\tilde x = x_j + \Delta\, v(t_j, x_j)`,
    :math:`x_{j+1} = x_j + \tfrac\Delta2\big(v(t_j, x_j) + v(t_{j+1}, \tilde x)\big)`.
    ``euler_last=True`` makes the last step an Euler step, so the field is never evaluated
    at ``times[-1]`` (where a noise-prediction parametrisation may be singular).
    """
    _check(method)
    n = times.numel() - 1
    for j in range(n):
        t0, t1 = times[j], times[j + 1]
        dt = t1 - t0
        v0 = velocity(t0, x)
        x_e = x + v0 * dt
        if method == "euler" or (euler_last and j == n - 1):
            x = x_e
        else:
            x = x + 0.5 * (v0 + velocity(t1, x_e)) * dt
    return x


def ode_log_likelihood(
    velocity: Velocity,
    x: Tensor,
    grid: Tensor,
    method: str = "heun",
    probes: Tensor | None = None,
) -> Tensor:
    r"""Log-density at ``x`` of the flow :math:`dx/dt = v(t, x)` that carries
    :math:`N(0, I)` at ``grid[0]`` to the model at ``grid[-1]``.

    Instantaneous change of variables (Chen et al., 2018):
    :math:`\log p_1(x_1) = \log N(x_0; 0, I) - \int_0^1 \nabla\cdot v(t, x_t)\,dt`. The
    augmented state :math:`(x_t, \int \nabla\cdot v)` is integrated backwards from
    ``grid[-1]`` to ``grid[0]`` by the steps of :func:`integrate_ode`.

    ``probes=None`` takes the exact divergence (``d`` backward passes per evaluation);
    otherwise ``probes`` (E, n, d), E = ``K`` (Euler) or ``2K`` (Heun) evaluations, are
    Rademacher vectors for Hutchinson's estimator :math:`\varepsilon^\top J\varepsilon`, a
    fresh probe per evaluation. Returns (n,); no gradients are kept.
    """
    _check(method)
    evals = [0]

    def field(t, y):
        def fn(z):
            return velocity(t, z)

        if probes is None:
            out, div = exact_divergence(fn, y)
        else:
            out, div = hutchinson_divergence(fn, y, probes=probes[evals[0]][None])
        evals[0] += 1
        return out.detach(), div.detach()

    x = x.detach()
    integral = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for i in range(grid.numel() - 2, -1, -1):
        t1, t0 = grid[i + 1], grid[i]
        dt = t1 - t0
        v1, div1 = field(t1, x)
        x_e = x - v1 * dt
        if method == "euler":
            x, integral = x_e, integral + div1 * dt
        else:
            v0, div0 = field(t0, x_e)
            x = x - 0.5 * (v1 + v0) * dt
            integral = integral + 0.5 * (div1 + div0) * dt
    log_p0 = -0.5 * (x**2).sum(-1) - 0.5 * x.shape[-1] * _LOG_2PI
    return log_p0 - integral
