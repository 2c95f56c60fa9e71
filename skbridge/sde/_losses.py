r"""The losses of SB-VAE and its chain ELBO (docs/math.md), one function per formula.

Notation: grid :math:`0 = t_0 < \dots < t_K = T`, :math:`\Delta_k = t_{k+1} - t_k`,
:math:`g_k = g(t_k)`, :math:`u_k = u_\phi(t_k, X_k)`, :math:`s_{k+1} = s_\theta(t_{k+1}, X_{k+1})`,
:math:`\bar g_k` the decoder's step-k noise scale and :math:`r = g_k / \bar g_k`. The paper's chain has
:math:`\bar g_k = g_{k+1}`; skbridge uses :math:`\bar g_k = g_k` (:math:`r = 1`, see
:func:`~skbridge.sde.decoder_chain`), and the step functions below keep :math:`r` general.
All per-row quantities sum over the event dimensions.

References
----------
K. Kaba, R. Shimizu, M. Ohzeki, Y. Sughiyama, "Schrödinger bridge-type diffusion models as
an extension of variational autoencoders", Phys. Rev. Research (2025), arXiv:2412.18237.
C.-W. Huang, J. H. Lim, A. Courville, "A variational perspective on diffusion-based
generative models and score matching", NeurIPS 2021, arXiv:2106.02808.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._divergence import divergence
from ._reference import ReferenceSDE
from ._simulate import Drift, decoder_drift, encoder_chain, encoder_drift, rowwise

__all__ = [
    "ELBO_FORMS",
    "chain_step_realised",
    "chain_step_stein",
    "chain_elbo",
    "drift_matching_loss",
    "ReferenceChain",
    "drift_matching_control_variate",
    "denoising_score_matching",
    "decoder_prior_score",
    "prior_loss_surrogate",
    "plugin_diagnostics",
]

ELBO_FORMS = ("realised", "antithetic", "stein")


def _rowsum(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1).sum(-1)


def chain_step_realised(g_k, g_k1, dt, xi, u_k, s_k1) -> Tensor:
    r"""One step of the chain ELBO at the simulated noise (no divergence).

    .. math::
        \log p_\theta(X_k \mid X_{k+1}) - \log q_\phi(X_{k+1} \mid X_k)
        = d\log r + \tfrac12\|\xi_k\|^2
          - \frac{\|(s_{k+1} - u_k)\sqrt{\Delta_k} - g_k\,\xi_k\|^2}{2 \bar g_k^2},

    exact for the two Gaussian transition densities, with
    :math:`X_{k+1} = X_k + u_k\Delta_k + g_k\sqrt{\Delta_k}\,\xi_k`.
    """
    d = xi[0].numel()
    g_k, g_k1, dt = rowwise(g_k, xi), rowwise(g_k1, xi), rowwise(dt, xi)
    resid = (s_k1 - u_k) * dt.sqrt() - g_k * xi
    log_r = torch.log(g_k / g_k1).reshape(-1)
    return d * log_r + 0.5 * _rowsum(xi * xi) - _rowsum(resid * resid / (2 * g_k1 * g_k1))


def chain_step_stein(g_k, g_k1, dt, u_k, s_k1, div_s_k1) -> Tensor:
    r"""One step of the chain ELBO in Stein form (same expectation as the realised form).

    .. math::
        d\big(\tfrac12 - \tfrac{r^2}{2} + \log r\big) + r^2\Delta_k\,\nabla\cdot s_\theta(t_{k+1}, X_{k+1})
        - \frac{\Delta_k\,\|u_k - s_{k+1}\|^2}{2 \bar g_k^2}.

    It follows from :math:`\mathbb E[\xi\cdot F(X_{k+1})] = g_k\sqrt{\Delta_k}\,\mathbb E[\nabla\cdot F]`
    (Stein's lemma).
    """
    d = u_k[0].numel()
    r = (g_k / g_k1).reshape(-1)
    dt_ = dt.reshape(-1)
    quad = _rowsum((u_k - s_k1) ** 2) / (2 * g_k1 * g_k1).reshape(-1)
    return d * (0.5 - 0.5 * r * r + torch.log(r)) + r * r * dt_ * div_s_k1 - dt_ * quad


def chain_elbo(
    sde: ReferenceSDE,
    h: Drift | None,
    k: Drift,
    x0: Tensor,
    grid: Tensor,
    *,
    form: str = "realised",
    generator: torch.Generator | None = None,
    divergence_method: str = "auto",
    n_probes: int = 1,
    noise: Tensor | None = None,
    probes: Tensor | None = None,
    return_path: bool = False,
):
    r"""Per-row exact ELBO of the ``K``-step chain, one encoder path per row.

    .. math::
        \log q_\theta^K(x) \ge \mathbb E\Big[\log\pi(X_K) + \sum_{k=0}^{K-1}
        \big(\log p_\theta(X_k \mid X_{k+1}) - \log q_\phi(X_{k+1} \mid X_k)\big)
        \,\Big|\, X_0 = x\Big].

    ``form`` picks the step estimator: ``"realised"`` (:func:`chain_step_realised`),
    ``"antithetic"`` (the realised step averaged over :math:`\pm\xi_k`) or ``"stein"``
    (:func:`chain_step_stein`, divergence exact or Hutchinson). All three are unbiased for
    the same bound. ``noise`` (shape ``(K, *x0.shape)``) fixes the encoder's
    :math:`\xi_k`; otherwise they are drawn from ``generator``. With ``form="stein"`` and a
    Hutchinson divergence, ``probes`` (shape ``(K, n_probes, *x0.shape)``) fixes the
    Rademacher probes of each step (else they come from ``generator``). The path is streamed (memory does not grow with ``K``) unless
    ``return_path=True``, which returns ``(elbo, path, noise)`` shaped as
    :func:`~skbridge.sde.encoder_chain`'s output. Gradients flow to whatever requires them
    (for the encoder's ELBO gradient through the path).
    """
    if form not in ELBO_FORMS:
        raise ValueError(f"unknown ELBO form {form!r}; valid: {ELBO_FORMS}")
    K = grid.numel() - 1
    x = x0
    total = torch.zeros(x0.shape[0], dtype=x0.dtype, device=x0.device)
    xs, xis = [x0], []
    for i in range(K):
        t, t1 = grid[i], grid[i + 1]
        dt = t1 - t
        # the decoder's step-k noise uses g(t_k), the encoder's step-k noise scale (r = 1);
        # see decoder_chain for why.
        g_k = g_k1 = sde.diffusion(t)
        if noise is None:
            xi = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        else:
            xi = noise[i]
        u = encoder_drift(sde, h, t, x)
        mean = x + u * dt
        x_next = mean + g_k * dt.sqrt() * xi
        if form == "stein":

            def s_fn(y, t1=t1):
                return decoder_drift(sde, k, t1, y)

            create = torch.is_grad_enabled()
            s1, div_s = divergence(
                s_fn,
                x_next,
                method=divergence_method,
                n_probes=n_probes,
                generator=generator,
                create_graph=create,
                probes=None if probes is None else probes[i],
            )
            if not create:
                s1, div_s = s1.detach(), div_s.detach()
            total = total + chain_step_stein(g_k, g_k1, dt, u, s1, div_s)
        else:
            s1 = decoder_drift(sde, k, t1, x_next)
            step = chain_step_realised(g_k, g_k1, dt, xi, u, s1)
            if form == "antithetic":
                x_anti = mean - g_k * dt.sqrt() * xi
                s1_anti = decoder_drift(sde, k, t1, x_anti)
                step = 0.5 * (step + chain_step_realised(g_k, g_k1, dt, -xi, u, s1_anti))
            total = total + step
        x = x_next
        if return_path:
            xs.append(x)
            xis.append(xi)
    total = total + sde.prior_log_prob(x)
    if return_path:
        return total, torch.stack(xs), torch.stack(xis)
    return total


def drift_matching_loss(
    sde: ReferenceSDE,
    k: Drift,
    x_k: Tensor,
    u_k: Tensor,
    xi: Tensor,
    t_k: Tensor,
    t_k1: Tensor,
    *,
    antithetic: bool = True,
) -> Tensor:
    r"""θ-dependent part of one step's :math:`-\log p_\theta(X_k \mid X_{k+1})` (drift matching).

    With :math:`m = X_k + u_k\Delta_k` and :math:`X^\pm = m \pm g_k\sqrt{\Delta_k}\,\xi_k`,

    .. math::
        \ell_k = \frac12\sum_\pm \frac{\|(s_\theta(t_{k+1}, X^\pm) - u_k)\sqrt{\Delta_k}
        \mp g_k\,\xi_k\|^2}{2 \bar g_k^2}

    (only the ``+`` term if ``antithetic=False``). Its expectation is
    :math:`\mathrm{DM}_k(\phi, \theta)` plus a θ-independent constant, so its θ-gradient is the
    drift-matching gradient. Inputs are detached encoder quantities; ``t_k``, ``t_k1`` hold
    one time per row (a random grid step per path is unbiased for the sum up to a factor K).
    """
    n = x_k.shape[0]
    if antithetic:
        # both signs in one decoder call: the + and - rows stacked (one network evaluation
        # on 2n rows costs less than two on n)
        def both(v):
            return torch.cat([v, v]) if v.dim() else v

        x_k, u_k, t_k, t_k1, xi = both(x_k), both(u_k), both(t_k), both(t_k1), torch.cat([xi, -xi])
    g_k = g_k1 = rowwise(sde.diffusion(t_k), x_k)  # decoder noise scale = encoder's (r = 1)
    dt = rowwise(t_k1 - t_k, x_k)
    x1 = x_k + u_k * dt + g_k * dt.sqrt() * xi
    resid = (decoder_drift(sde, k, t_k1, x1) - u_k) * dt.sqrt() - g_k * xi
    loss = _rowsum(resid * resid / (2 * g_k1 * g_k1))
    return 0.5 * (loss[:n] + loss[n:]) if antithetic else loss


class ReferenceChain:
    r"""The reference encoder's Euler chain on a grid, in closed form.

    With :math:`h = 0` a step is linear, :math:`X_{k+1} = a_k X_k + b_k \xi_k`,
    :math:`a_k = 1 + c(t_k)\Delta_k`, :math:`b_k = g_k\sqrt{\Delta_k}`, so given :math:`x_0`
    the chain is Gaussian: :math:`X_k \mid x_0 \sim N(A_k x_0, V_k I)` with
    :math:`A_{k+1} = a_k A_k`, :math:`V_{k+1} = a_k^2 V_k + b_k^2` (:math:`A_0 = 1, V_0 = 0`).
    Coefficients are float64 tensors indexed by step.
    """

    def __init__(self, sde: ReferenceSDE, grid: Tensor):
        self.sde, self.grid = sde, grid
        g64 = grid.double()
        t_k, dt = g64[:-1], g64[1:] - g64[:-1]
        self.c = sde.drift_coef(t_k).double()
        self.g = sde.diffusion(t_k).double()
        self.dt = dt
        self.a = 1.0 + self.c * dt
        self.b = self.g * dt.sqrt()
        K = dt.numel()
        A, V = [torch.ones((), dtype=torch.float64)], [torch.zeros((), dtype=torch.float64)]
        for i in range(K):
            A.append(self.a[i] * A[-1])
            V.append(self.a[i] ** 2 * V[-1] + self.b[i] ** 2)
        self.A, self.V = torch.stack(A), torch.stack(V)

    def path(self, x0: Tensor, noise: Tensor) -> Tensor:
        """The reference path driven by ``noise`` (n, K, ...) from ``x0`` (n, ...):
        (n, K + 1, ...), :func:`encoder_chain` with ``h=None``, rows first."""
        path, _ = encoder_chain(self.sde, None, x0, self.grid, noise=noise.transpose(0, 1))
        return path.transpose(0, 1)

    def target(self, ks: Tensor, x0: Tensor, y: Tensor) -> Tensor:
        r""":math:`E[u_k + g_k\xi_k/\sqrt{\Delta_k} \mid x_0, X_{k+1} = y]` (Gaussian bridge):
        with :math:`r = y - A_{k+1}x_0`, :math:`E[X_k\mid\cdot] = A_k x_0 + a_k V_k r / V_{k+1}`
        and :math:`E[\xi_k\mid\cdot] = b_k r / V_{k+1}`; :math:`u_k = c(t_k) X_k`."""

        def per_row(v):
            return rowwise(v.to(device=y.device, dtype=y.dtype)[ks], y)

        r = y - per_row(self.A[1:]) * x0
        inv = per_row(1.0 / self.V[1:])
        x_k = per_row(self.A[:-1]) * x0 + per_row(self.a * self.V[:-1]) * inv * r
        # g_k / sqrt(dt_k) * b_k = g_k^2
        return per_row(self.c) * x_k + per_row(self.g**2) * inv * r


def drift_matching_control_variate(
    sde: ReferenceSDE,
    k: Drift,
    chain: ReferenceChain,
    ks: Tensor,
    x0: Tensor,
    xr_k: Tensor,
    xi: Tensor,
    t_k1: Tensor,
    *,
    antithetic: bool = True,
) -> Tensor:
    r"""Zero-mean control variate for :func:`drift_matching_loss`, per row.

    Drift matching regresses :math:`s_\theta(t_{k+1}, X_{k+1})` on the one-step target
    :math:`T = u_k + g_k\xi_k/\sqrt{\Delta_k}`, whose noise is large wherever
    :math:`X_{k+1}` says little about :math:`\xi_k` (all but the first steps): the gradient is
    noisier than denoising score matching's by about :math:`\sigma_t^2/(g^2\Delta)`. The
    reference chain driven by the *same* :math:`x_0` and noises (``xr_k`` at step ``k``,
    :math:`Y^\pm = a_k X^r_k \pm b_k\xi_k`) has the same kind of target :math:`T^\pm` and,
    being Gaussian, its Rao–Blackwellised version
    :math:`R^\pm = E[T^\pm \mid x_0, Y^\pm]` (:meth:`ReferenceChain.target`). The returned

    .. math::
        c = \tfrac12\sum_\pm \Delta_k\, s_\theta(t_{k+1}, Y^\pm)\cdot(T^\pm - R^\pm)/g_k^2

    has zero expectation for every θ (:math:`E[T - R \mid Y] = 0`), so adding it to the
    drift-matching loss leaves the gradient's expectation, and the SB-VAE objective, as
    they are, whatever the encoder. It cancels the noise: with :math:`h = 0` the two paths
    coincide and the sum is the Rao–Blackwellised (DDPM-like) loss
    :math:`\tfrac12\sum_\pm\Delta_k\|s_\theta - R^\pm\|^2/(2g_k^2)` up to a constant;
    for a learned encoder close to the reference most of the cancellation remains.
    """
    n = x0.shape[0]
    a, b = rowwise(chain.a.to(x0)[ks], x0), rowwise(chain.b.to(x0)[ks], x0)
    c_k = rowwise(chain.c.to(x0)[ks], x0)
    g_k = rowwise(chain.g.to(x0)[ks], x0)
    dt = rowwise(chain.dt.to(x0)[ks], x0)
    signs = (1.0, -1.0) if antithetic else (1.0,)

    def both(v):
        return torch.cat([v] * len(signs))

    m, u = a * xr_k, c_k * xr_k
    y = torch.cat([m + sign * b * xi for sign in signs])
    T = torch.cat([u + sign * g_k / dt.sqrt() * xi for sign in signs])
    R = chain.target(both(ks), both(x0), y)
    s = decoder_drift(sde, k, both(t_k1), y)
    c = _rowsum(s * (T - R).detach() * both(dt) / both(g_k) ** 2)
    return 0.5 * (c[:n] + c[n:]) if antithetic else c


def denoising_score_matching(
    sde: ReferenceSDE, k: Drift, x0: Tensor, t: Tensor, noise: Tensor
) -> Tensor:
    r"""Denoising score matching for the frozen reference encoder, per row, per unit time.

    With :math:`X_t = \alpha(t)x_0 + \sigma(t)\varepsilon` and
    :math:`g\nabla\log\rho_{t|0}(X_t \mid x_0) = -g\,\varepsilon/\sigma`,

    .. math::
        \mathcal L_{\mathrm{DSM}}(t) = \tfrac12\,\big\|k_\theta(t, X_t) - g(t)\,\varepsilon/\sigma(t)\big\|^2 .

    Its expectation equals the drift-matching rate
    :math:`\mathbb E\|u - g^2\nabla\log\rho - s_\theta\|^2/(2g^2)` at time ``t`` up to a
    θ-independent constant (Vincent, 2011). Keep ``t`` away from 0: the target's variance
    grows like :math:`1/t`.
    """
    xt = sde.marginal(x0, t, noise)
    target = rowwise(sde.diffusion(t) / sde.sigma(t), x0) * noise
    diff = k(t, xt) - target
    return 0.5 * _rowsum(diff * diff)


def decoder_prior_score(sde: ReferenceSDE, h: Drift | None, k: Drift, z: Tensor) -> Tensor:
    r"""The decoder's estimate of the aggregate latent's score at :math:`T`.

    .. math:: \nabla\log\hat p_\phi(z) = \big(h_\phi(T, z) - k_\theta(T, z)\big) / g(T),

    from :math:`k^* = h - g\nabla\log\rho_\phi` at the decoder optimum.
    """
    T = torch.as_tensor(sde.T, dtype=z.dtype, device=z.device)
    hk = -k(T, z) if h is None else h(T, z) - k(T, z)
    return hk / sde.diffusion(T)


def prior_loss_surrogate(z: Tensor, score_estimate: Tensor, prior_score: Tensor) -> Tensor:
    r"""Surrogate whose φ-gradient estimates :math:`\nabla_\phi \mathrm{KL}(p_\phi \,\|\, \pi)`.

    .. math::
        \nabla_\phi \mathrm{KL} = \mathbb E\big[(\partial X_T/\partial\phi)^\top
        (\nabla\log p_\phi - \nabla\log\pi)(X_T)\big]
        \;\approx\; \nabla_\phi\, \mathrm{mean}\big(X_T\cdot
        \mathrm{stopgrad}(\nabla\log\hat p_\phi(X_T) - \nabla\log\pi(X_T))\big),

    with :math:`X_T` simulated by the reparameterised encoder chain (the score-function term
    has zero mean). Its *value* is not the KL.
    """
    return _rowsum(z * (score_estimate - prior_score).detach()).mean()


def plugin_diagnostics(
    sde: ReferenceSDE,
    h: Drift | None,
    k: Drift,
    x0: Tensor,
    grid: Tensor,
    *,
    generator: torch.Generator | None = None,
    divergence_method: str = "auto",
) -> Tensor:
    r"""Plug-in *prior term* :math:`\hat P \approx H(\mu) + \mathrm{PL}(\phi)` (a diagnostic).

    From the entropy balance
    :math:`H(p_\phi) = H(\mu) + \int_0^T \big(\mathbb E[\nabla\cdot u_\phi] +
    \tfrac{g^2}{2}\mathbb E\|\nabla\log\rho_\phi\|^2\big)dt` and
    :math:`g\nabla\log\rho_\phi \approx h_\phi - k_\theta`:

    .. math::
        \hat P = -\mathbb E\log\pi(X_T) - \sum_k \Delta_k\,\mathbb E\big[\nabla\cdot u_\phi
        + \tfrac12\|h_\phi - k_\theta\|^2\big](t_{k+1}, X_{k+1}).

    Its error is first order in the decoder's error; it is **not** a bound. The drift
    diagnostic is :math:`\hat D = -\mathrm{ELBO} - \hat P` (may be negative). Returns the
    scalar :math:`\hat P`.
    """
    K = grid.numel() - 1
    d = x0[0].numel()
    with torch.no_grad():
        path, _ = encoder_chain(sde, h, x0, grid, generator=generator)
    acc = torch.zeros((), dtype=x0.dtype, device=x0.device)
    for i in range(K):
        t1, dt = grid[i + 1], grid[i + 1] - grid[i]
        x = path[i + 1]
        div_u = sde.drift_divergence(t1, d) * torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
        if h is not None:
            _, div_h = divergence(
                lambda y, t1=t1: h(t1, y), x, method=divergence_method, generator=generator
            )
            div_u = div_u + sde.diffusion(t1) * div_h.detach()
            with torch.no_grad():
                hk = h(t1, x) - k(t1, x)
        else:
            with torch.no_grad():
                hk = -k(t1, x)
        acc = acc + dt * (div_u + 0.5 * _rowsum(hk * hk)).mean()
    return -sde.prior_log_prob(path[-1]).mean() - acc
