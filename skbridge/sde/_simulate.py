r"""Time grid and the three simulators (docs/math.md): encoder chain, decoder chain, probability flow.

Drifts are passed as callables ``h(t, x)`` / ``k(t, x)`` returning a tensor shaped like ``x``;
``t`` is either a 0-d tensor or one time per row. ``h=None`` means the reference encoder
(:math:`h \equiv 0`). The full drifts are

.. math::
    u_\phi(t, x) = f(t, x) + g(t)\,h_\phi(t, x), \qquad s_\theta(t, x) = f(t, x) + g(t)\,k_\theta(t, x).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ._ode import integrate_ode
from ._reference import ReferenceSDE

__all__ = [
    "Drift",
    "time_grid",
    "encoder_drift",
    "decoder_drift",
    "encoder_chain",
    "decoder_chain",
    "predictor_corrector",
    "probability_flow",
    "exponential_integrator",
    "dpm_solver",
    "sampling_grid",
    "SAMPLERS",
    "rowwise",
]

Drift = Callable[[Tensor, Tensor], Tensor]
SAMPLERS = ("sde", "ode", "pc", "dpm", "dpm-sde")


TIME_GRIDS = ("uniform", "quadratic")


def time_grid(T: float, n_steps: int, *, spacing="uniform", device=None, dtype=None) -> Tensor:
    r"""The grid :math:`0 = t_0 < t_1 < \dots < t_K = T`.

    ``spacing="uniform"``: :math:`t_k = kT/K`. ``"quadratic"``: :math:`t_k = T(k/K)^2`, steps
    growing linearly from :math:`T/K^2` near the data to about :math:`2T/K` near the prior,
    so the last denoising steps of the sampler (and the first steps of the chain ELBO) are
    fine where the data's small-scale structure is resolved.

    Training, sampling and scoring share it, so the chain ELBO is the exact ELBO of the
    ``K``-step model that :func:`decoder_chain` samples from.
    """
    if int(n_steps) < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    if spacing not in TIME_GRIDS:
        raise ValueError(f"spacing must be one of {TIME_GRIDS}, got {spacing!r}")
    u = torch.linspace(0.0, 1.0, int(n_steps) + 1, device=device, dtype=torch.float64)
    if spacing == "quadratic":
        u = u * u
    return (float(T) * u).to(dtype or torch.get_default_dtype())


def rowwise(v: Tensor, x: Tensor) -> Tensor:
    """Reshape a per-row (or scalar) coefficient to broadcast against ``x``."""
    if v.dim() == 0:
        return v
    return v.reshape(-1, *([1] * (x.dim() - 1)))


def encoder_drift(sde: ReferenceSDE, h: Drift | None, t: Tensor, x: Tensor) -> Tensor:
    r""":math:`u_\phi(t, x) = f(t, x) + g(t)\,h_\phi(t, x)`."""
    f = sde.drift(t, x)
    if h is None:
        return f
    return f + rowwise(sde.diffusion(t), x) * h(t, x)


def decoder_drift(sde: ReferenceSDE, k: Drift, t: Tensor, x: Tensor) -> Tensor:
    r""":math:`s_\theta(t, x) = f(t, x) + g(t)\,k_\theta(t, x)`."""
    return sde.drift(t, x) + rowwise(sde.diffusion(t), x) * k(t, x)


def encoder_chain(
    sde: ReferenceSDE,
    h: Drift | None,
    x0: Tensor,
    grid: Tensor,
    *,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Euler–Maruyama encoder chain, forward in time.

    .. math::
        X_{k+1} = X_k + u_\phi(t_k, X_k)\,\Delta_k + g(t_k)\sqrt{\Delta_k}\,\xi_k,
        \qquad \xi_k \sim \mathcal N(0, I).

    Gradients flow through the whole path (reparameterisation), which the encoder's
    prior-loss gradient needs; wrap the call in ``torch.no_grad()`` when they are not wanted.

    Returns
    -------
    path : Tensor of shape ``(K + 1, *x0.shape)``
    noise : Tensor of shape ``(K, *x0.shape)``, the :math:`\xi_k` used.
    """
    K = grid.numel() - 1
    if noise is None:
        noise = torch.randn((K, *x0.shape), generator=generator, device=x0.device, dtype=x0.dtype)
    c, g, dt = _step_coefficients(sde, grid, grid[:-1])
    xs = [x0]
    x = x0
    for i in range(K):
        # X + (c X + g h) dt + g sqrt(dt) xi, with the step's coefficients as Python floats
        # (fewer tensor operations per step: the network dominates, not the bookkeeping)
        step = x * (1.0 + c[i] * dt[i]) + (g[i] * math.sqrt(dt[i])) * noise[i]
        x = step if h is None else step + (g[i] * dt[i]) * h(grid[i], x)
        xs.append(x)
    return torch.stack(xs), noise


def _step_coefficients(sde: ReferenceSDE, grid: Tensor, at: Tensor):
    """``c(at)``, ``g(at)`` and the step sizes of ``grid``, as lists of Python floats."""
    c = sde.drift_coef(at).double().tolist()
    g = sde.diffusion(at).double().tolist()
    dt = (grid[1:].double() - grid[:-1].double()).tolist()
    return c, g, dt


def decoder_chain(
    sde: ReferenceSDE,
    k: Drift,
    z: Tensor,
    grid: Tensor,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Euler–Maruyama decoder chain, backward in time from :math:`X_K = z \sim \pi`.

    .. math::
        X_k = X_{k+1} - s_\theta(t_{k+1}, X_{k+1})\,\Delta_k + g(t_k)\sqrt{\Delta_k}\,\zeta_k.

    Returns :math:`X_0`, a draw from the ``K``-step model :math:`q_\theta^K`.

    The step-k noise scale is :math:`g(t_k)`, the same as the encoder's step k, so the
    Gaussian transition variances of the two chains match (as in DDPM). With
    :math:`g(t_{k+1})` instead, the linear VP schedule's first step has
    :math:`\beta(t_1)/\beta(t_0) \approx 3` at ``K = 100``, and the chain ELBO of the *exact*
    reverse drift loses about 0.35 nats per dimension to that variance mismatch alone.
    """
    return predictor_corrector(sde, None, k, z, grid, snr=0.0, generator=generator)


def predictor_corrector(
    sde: ReferenceSDE,
    h: Drift | None,
    k: Drift,
    z: Tensor,
    grid: Tensor,
    *,
    snr: float = 0.2,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""The decoder chain with one Langevin corrector step before each predictor step
    (predictor–corrector sampling, Song et al., ICLR 2021; GDSS samples graphs this way).

    At each grid time :math:`t = t_{k+1}`, before the Euler–Maruyama step of
    :func:`decoder_chain`, the state moves one unadjusted Langevin step on the decoder's
    estimate of the marginal score,

    .. math::
        x \leftarrow x + \varepsilon\, \hat s(t, x) + \sqrt{2\varepsilon}\, \xi, \qquad
        \hat s = \big(h_\phi(t, x) - k_\theta(t, x)\big) / g(t), \qquad
        \varepsilon = 2\,\big(\mathrm{snr}\; \lVert\xi\rVert / \lVert\hat s\rVert\big)^2,

    (:math:`k^* = h - g\nabla\log\rho` at the decoder optimum; :math:`h = 0` for the
    reference encoder), with the step size set by the signal-to-noise ratio ``snr`` of the
    update, the norms :math:`\lVert\xi\rVert, \lVert\hat s\rVert` averaged over the rows
    of the batch (as Song et al.; a row's own norms make the step blow up where its score
    nearly vanishes, near a mode, in few dimensions). It costs two network evaluations per
    grid step. The corrector pulls each state back towards the marginal the next predictor
    step assumes, undoing part of the discretisation and network error that the chain
    accumulates; there is no corrector at :math:`t_0` (the last step ends there). The chain ELBO (``score_samples``) is the one
    of the plain decoder chain, not of this sampler. ``snr=0`` is the plain chain,
    :func:`decoder_chain`, which is implemented this way.
    """
    if snr < 0:
        raise ValueError(f"snr must be >= 0, got {snr}")
    x = z
    K = grid.numel() - 1
    c1, g1, dt = _step_coefficients(sde, grid, grid[1:])
    g0 = sde.diffusion(grid[:-1]).double().tolist()
    dims = tuple(range(1, x.dim()))
    for i in range(K - 1, -1, -1):
        t = grid[i + 1]
        if snr > 0:
            hk = -k(t, x) if h is None else h(t, x) - k(t, x)
            score = hk / g1[i]
            xi = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            # batch means of the norms, as Song et al.: a row's own norm would make the step
            # blow up where its score nearly vanishes (near a mode), in few dimensions
            # (a zero score, e.g. an untrained decoder, gets no corrector step)
            s_norm = score.square().sum(dims).sqrt().mean()
            ratio = xi.square().sum(dims).sqrt().mean() / s_norm.clamp_min(1e-30)
            eps = torch.where(s_norm > 0, 2.0 * (snr * ratio) ** 2, 0.0)
            x = x + eps * score + (2.0 * eps).sqrt() * xi
        zeta = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = (
            x * (1.0 - c1[i] * dt[i])
            - (g1[i] * dt[i]) * k(t, x)
            + (g0[i] * math.sqrt(dt[i])) * zeta
        )
    return x


def probability_flow(
    sde: ReferenceSDE,
    h: Drift | None,
    k: Drift,
    z: Tensor,
    grid: Tensor,
    *,
    method: str = "heun",
) -> Tensor:
    r"""Integrate the probability-flow ODE backwards from :math:`z` at :math:`T` to time 0.

    .. math::
        \frac{dx}{dt} = \tfrac12\big(u_\phi(t, x) + s_\theta(t, x)\big)
        \;=\; u_\phi - \tfrac{g^2}{2}\nabla\log\rho_\phi \text{ at the decoder optimum.}

    ``method`` is ``"euler"`` or ``"heun"`` (second order, two drift evaluations a step; the
    final step into :math:`t = 0` is an Euler step).
    """

    def v(t, x):
        return 0.5 * (encoder_drift(sde, h, t, x) + decoder_drift(sde, k, t, x))

    # backwards from T; the last step stays Euler: drifts are not evaluated at t = 0, where
    # the decoder's noise-prediction parametrisation is singular
    return integrate_ode(v, z, grid.flip(0), method=method, euler_last=True)


def _time_of_ratio(sde: ReferenceSDE, rho: Tensor, T: float) -> Tensor:
    r"""Times at which :math:`\sigma(t)/\alpha(t)` (increasing in ``t``) equals ``rho``."""
    lo, hi = torch.zeros_like(rho), torch.full_like(rho, float(T))
    for _ in range(64):  # bisection, float64: to machine precision
        mid = 0.5 * (lo + hi)
        below = sde.sigma(mid) / sde.alpha(mid) < rho
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return 0.5 * (lo + hi)


def exponential_integrator(
    sde: ReferenceSDE,
    h: Drift | None,
    k: Drift,
    z: Tensor,
    grid: Tensor,
    *,
    order: int = 2,
) -> Tensor:
    r"""The probability-flow ODE solved backwards from :math:`z` at :math:`T` with the
    reference's linear part integrated exactly (an exponential integrator, as DDIM and
    DPM-Solver: Song et al., ICLR 2021; Lu et al., NeurIPS 2022).

    The ODE :math:`dx/dt = c(t)\,x + \tfrac12 g(t)\big(h_\phi + k_\theta\big)(t, x)` reads
    :math:`dx/dt = c\,x + \frac{g^2}{2\sigma}\hat\varepsilon(t, x)` with the noise prediction
    :math:`\hat\varepsilon = \sigma\,(h_\phi + k_\theta)/g` (for ScoreSDE's decoder, the
    network's output itself). In the variables :math:`y = x/\alpha(t)` and
    :math:`\rho = \sigma(t)/\alpha(t)` it is :math:`dy/d\rho = \hat\varepsilon`: the linear
    part is gone, so with :math:`h + k \equiv 0` the solution :math:`z\,\alpha(0)/\alpha(T)`
    is exact. ``order=1`` takes Euler steps in :math:`\rho` (DDIM's deterministic step,
    DPM-Solver-1): :math:`y_t = y_s + (\rho_t - \rho_s)\,\hat\varepsilon_s`. ``order=2`` takes
    midpoint steps: :math:`\hat\varepsilon` is evaluated again at
    :math:`\rho_m = (\rho_s + \rho_t)/2` (its time found by bisection) from the Euler
    half-step, and :math:`y_t = y_s + (\rho_t - \rho_s)\,\hat\varepsilon_m`; no evaluation
    falls on :math:`t = 0`, where :math:`\sigma = 0`. Network evaluations: ``K`` or ``2K``.

    On Gaussian data with the exact score and the VP reference (``beta_max=20``) the mean
    error at ``K = 8 / 16`` steps is 0.011 / 0.0011 for ``order=2`` against 0.066 / 0.030
    for :func:`probability_flow`'s Heun steps (tests/test_sde_properties.py measures the
    order). The estimators' few-step samplers use the multistep :func:`dpm_solver` (one
    evaluation a step) on :func:`sampling_grid` instead: with a trained network on the
    uniform grid this single-step solver was no better than Heun at 5-20 steps (docs/math.md).
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    g64 = grid.double()
    alpha = sde.alpha(g64)
    rho = sde.sigma(g64) / alpha
    rho_m = 0.5 * (rho[1:] + rho[:-1])
    t_m = _time_of_ratio(sde, rho_m, float(g64[-1]))
    alpha_m = sde.alpha(t_m).tolist()
    t_m = t_m.to(grid.dtype)
    alpha, rho, rho_m = alpha.tolist(), rho.tolist(), rho_m.tolist()

    def eps(t, x):
        hk = k(t, x) if h is None else h(t, x) + k(t, x)
        return (sde.sigma(t) / sde.diffusion(t)) * hk

    y = z / alpha[-1]
    for i in range(grid.numel() - 2, -1, -1):  # from t_{i+1} down to t_i
        e = eps(grid[i + 1], alpha[i + 1] * y)
        if order == 2:
            y_m = y + (rho_m[i] - rho[i + 1]) * e
            e = eps(t_m[i], alpha_m[i] * y_m)
        y = y + (rho[i] - rho[i + 1]) * e
    return alpha[0] * y


def _log_ratio(sde: ReferenceSDE, t: Tensor) -> Tensor:
    r""":math:`\log(\sigma(t)/\alpha(t))`, the negative half log-SNR (float64)."""
    t = t.double()
    return torch.log(sde.sigma(t)) - torch.log(sde.alpha(t))


def sampling_grid(
    sde: ReferenceSDE, n_steps: int, *, rho_min: float = 0.02, device=None, dtype=None
) -> Tensor:
    r"""A few-step grid for the ODE samplers: :math:`0 = t_0 < t_1 < \dots < t_K = T` with
    :math:`t_1, \dots, t_K` uniform in the log noise-to-signal ratio
    :math:`\log(\sigma/\alpha)` (uniform in log-SNR, as DPM-Solver) from
    :math:`\sigma(t_1)/\alpha(t_1) = \rho_{\min}` to :math:`T`; the last step, into
    :math:`t_0 = 0`, is the denoising step. ``n_steps = 1``: :math:`\{0, T\}`.
    """
    K = int(n_steps)
    if K < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    T = float(sde.T)
    top = _log_ratio(sde, torch.tensor(T, dtype=torch.float64))
    lo = max(math.log(rho_min), float(_log_ratio(sde, torch.tensor(1e-3 * T))))
    if K == 1 or lo >= float(top):  # a reference that stays near the data: uniform
        inner = torch.linspace(0.0, T, K + 1, dtype=torch.float64)[1:]
    else:
        levels = torch.linspace(lo, float(top), K, dtype=torch.float64)
        inner = _time_of_ratio(sde, levels.exp(), T)
        inner[-1] = T
    t = torch.cat([torch.zeros(1, dtype=torch.float64), inner])
    return t.to(device=device, dtype=dtype or torch.get_default_dtype())


def dpm_solver(
    sde: ReferenceSDE,
    h: Drift | None,
    k: Drift,
    z: Tensor,
    grid: Tensor,
    *,
    order: int = 2,
    stochastic: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Exponential-integrator sampler from :math:`z` at :math:`T` back to time 0: the
    multistep DPM-Solver++(2M) of Lu et al. (2022) in data-prediction form, one network
    evaluation per step, for the probability-flow ODE or (``stochastic=True``) the reverse
    SDE.

    Write :math:`\lambda = \log(\alpha/\sigma)` and the data prediction
    :math:`\hat x_0(t, x) = (x - \sigma\,\hat\varepsilon)/\alpha`. The probability-flow
    ODE :math:`dx/dt = c\,x + \tfrac12 g\,(h_\phi + k_\theta)` has
    :math:`\hat\varepsilon = \sigma (h_\phi + k_\theta)/g` (for SB-VAE the learned encoder
    drift is part of it) and is solved, with the reference's linear part exact, by

    .. math::
        x_t = \frac{\sigma_t}{\sigma_s}\,x_s - \alpha_t\,(e^{-h} - 1)\,D,
        \qquad h = \lambda_t - \lambda_s.

    The reverse SDE :math:`dx = (c\,x + g\,k_\theta)\,dt + g\,d\bar W` (the decoder
    chain's) has :math:`\hat\varepsilon = \sigma k_\theta / g` and the step

    .. math::
        x_t = \frac{\sigma_t}{\sigma_s}e^{-h}\,x_s + \alpha_t\,(1 - e^{-2h})\,D
        + \sigma_t\sqrt{1 - e^{-2h}}\;\xi,

    which with :math:`D = \hat x_0` is DDPM's ancestral step. ``order=1`` holds
    :math:`D = \hat x_0(s, x_s)` over the step (DDIM for the ODE); ``order=2`` extrapolates
    linearly in :math:`\lambda` through the previous step's prediction,
    :math:`D = (1 + \tfrac1{2r})\hat x_0^{(s)} - \tfrac1{2r}\hat x_0^{(s')}`,
    :math:`r = h_{\text{prev}}/h`. The last step, into :math:`\sigma(t_0) = 0`, returns
    :math:`\alpha(t_0)\,\hat x_0(t_1, x_1)` (the denoising step). Meant for
    :func:`sampling_grid`.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    g64 = grid.double()
    alpha = sde.alpha(g64).tolist()
    sigma = sde.sigma(g64).tolist()
    lam = [
        math.log(a) - math.log(s) if s > 0 else math.inf for a, s in zip(alpha, sigma, strict=True)
    ]

    def data_prediction(i, x):
        t = grid[i]
        hk = k(t, x) if h is None or stochastic else h(t, x) + k(t, x)
        eps = (sde.sigma(t) / sde.diffusion(t)) * hk
        return (x - sigma[i] * eps) / alpha[i]

    x, previous = z, None
    for i in range(grid.numel() - 1, 0, -1):  # from t_i down to t_{i-1}
        x0 = data_prediction(i, x)
        if sigma[i - 1] == 0.0:
            return alpha[i - 1] * x0
        step = lam[i - 1] - lam[i]
        d = x0
        if order == 2 and previous is not None:
            r = (lam[i] - lam[i + 1]) / step
            d = (1.0 + 0.5 / r) * x0 - (0.5 / r) * previous
        if stochastic:
            xi = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x = (
                (sigma[i - 1] / sigma[i] * math.exp(-step)) * x
                - (alpha[i - 1] * math.expm1(-2.0 * step)) * d
                + (sigma[i - 1] * math.sqrt(-math.expm1(-2.0 * step))) * xi
            )
        else:
            x = (sigma[i - 1] / sigma[i]) * x - (alpha[i - 1] * math.expm1(-step)) * d
        previous = x0
    return x
