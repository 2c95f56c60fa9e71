r"""Closed forms for Gaussian data and linear (diagonal) drifts, for the SDE property tests.

Everything is per dimension (diagonal covariances, diagonal linear maps), in float64 NumPy,
and independent of the code under test except for building the matching skbridge objects.

Setting (skbridge's conventions, see ``skbridge/sde/_simulate.py``):

* reference ``f(t, x) = c(t) x``, diffusion ``g(t)``; grid ``t_k = kT/K``, ``Δ = T/K``;
* encoder ``h(t, x) = a x + b`` (constants), ``u = f + g h``; Euler chain
  ``X_{k+1} = F_k X_k + e_k + √q_k ξ``, ``F_k = 1 + (c_k + g_k a)Δ``, ``e_k = g_k b Δ``,
  ``q_k = g_k² Δ``;
* decoder ``k(t, x) = A(t) x + B(t)``, ``s = f + g k``; chain
  ``X_k = G_k X_{k+1} + o_k + √q_k ζ`` with ``G_k = 1 − (c_{k+1} + g_{k+1} A_{k+1})Δ``,
  ``o_k = −g_{k+1} B_{k+1} Δ`` and the *encoder's* step-k variance ``q_k = g(t_k)² Δ``;
* prior ``π = N(0, p I)``.

The whole discrete path law is Gaussian, so the expected chain ELBO, the prior loss
``PL = KL(p_K ‖ π)`` and the discrete drift matching
``DM = Σ_k E KL(P(X_k | X_{k+1}) ‖ p_θ(X_k | X_{k+1}))`` are all closed form, and
``E[−ELBO] = H(μ) + PL + DM`` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import cumulative_simpson, simpson

from skbridge.sde import make_reference_sde

LOG2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Schedule:
    """A reference SDE's coefficients, computed independently of skbridge."""

    kind: str  # "vp" or "brownian"
    T: float
    beta_min: float = 0.1
    beta_max: float = 20.0
    sigma: float = 1.0

    def beta(self, t):
        return self.beta_min + (self.beta_max - self.beta_min) * np.asarray(t, dtype=float)

    def c(self, t):
        if self.kind == "vp":
            return -0.5 * self.beta(t)
        return np.zeros_like(np.asarray(t, dtype=float))

    def g(self, t):
        if self.kind == "vp":
            return np.sqrt(self.beta(t))
        return np.full_like(np.asarray(t, dtype=float), self.sigma)

    @property
    def prior_var(self) -> float:
        # VP: alpha^2 + sigma^2 = 1 exactly; Brownian: 1 + sigma^2 T.
        return 1.0 if self.kind == "vp" else 1.0 + self.sigma**2 * self.T

    def alpha_sigma2(self, t):
        """Transition ``X_t | X_0 = x ~ N(α x, σ² I)`` of the reference (closed form)."""
        t = np.asarray(t, dtype=float)
        if self.kind == "vp":
            ib = self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t
            return np.exp(-0.5 * ib), -np.expm1(-ib)
        return np.ones_like(t), self.sigma**2 * t

    def grid(self, K: int) -> np.ndarray:
        return np.linspace(0.0, self.T, K + 1)

    def make(self):
        return make_reference_sde(
            self.kind, beta_min=self.beta_min, beta_max=self.beta_max, sigma=self.sigma, T=self.T
        )

    def max_rate(self, a=0.0) -> float:
        """Upper bound of |c(t) + g(t) a| on [0, T] (both are monotone in t)."""
        ts = np.array([0.0, self.T])
        return float(np.max(np.abs(self.c(ts)) + self.g(ts) * np.max(np.abs(a))))

    def stable_K(self, K: int, a=0.0, rate_dt: float = 0.5) -> int:
        """Smallest K' >= K with |c + g a| Δ <= rate_dt (keeps the Euler chains tame)."""
        return max(int(K), math.ceil(self.T * self.max_rate(a) / rate_dt))


# --------------------------------------------------------------------------- Gaussians


def gauss_kl(m1, v1, m2, v2) -> float:
    """KL(N(m1, diag v1) ‖ N(m2, diag v2)), summed over dimensions."""
    m1, v1, m2, v2 = (np.asarray(z, dtype=float) for z in (m1, v1, m2, v2))
    return float(np.sum(0.5 * (v1 / v2 + (m1 - m2) ** 2 / v2 - 1.0 - np.log(v1 / v2))))


def gauss_entropy(v) -> float:
    """Differential entropy of N(·, diag v)."""
    return float(np.sum(0.5 * (LOG2PI + 1.0 + np.log(np.asarray(v, dtype=float)))))


def gauss_logpdf(x, m, v) -> np.ndarray:
    """log N(x; m, diag v), summed over the last axis."""
    x, m, v = (np.asarray(z, dtype=float) for z in (x, m, v))
    return np.sum(-0.5 * (LOG2PI + np.log(v) + (x - m) ** 2 / v), axis=-1)


# ------------------------------------------------------------------------ linear drifts


class LinearDrift:
    r"""``(t, x) -> A(t) ⊙ x + B(t)``, tabulated on the grid ``t_j = jT/K`` (``j = 0..K``).

    ``A``, ``B`` are arrays of shape ``(K + 1, d)`` (or ``(d,)`` for constants). As a torch
    callable it accepts a 0-d ``t`` or one time per row; a time off the grid is an error.
    """

    def __init__(self, T: float, K: int, A, B):
        d = np.broadcast_shapes(np.shape(A), np.shape(B), (1,))[-1]
        self.T, self.K, self.d = float(T), int(K), d
        self.A = np.broadcast_to(np.asarray(A, dtype=float), (K + 1, d)).copy()
        self.B = np.broadcast_to(np.asarray(B, dtype=float), (K + 1, d)).copy()
        self._At = torch.as_tensor(self.A, dtype=torch.float64)
        self._Bt = torch.as_tensor(self.B, dtype=torch.float64)

    def _index(self, t: torch.Tensor) -> torch.Tensor:
        j = torch.round(t.to(torch.float64) * self.K / self.T)
        if not torch.allclose(j * self.T / self.K, t.to(torch.float64), atol=1e-9, rtol=0):
            raise ValueError("LinearDrift evaluated off its grid")
        return j.long()

    def __call__(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        j = self._index(t)
        A = self._At.to(x.dtype)[j]
        B = self._Bt.to(x.dtype)[j]
        return A * x + B  # 0-d t: (d,) broadcasts; per-row t: (n, d)


# ---------------------------------------------------------------------- Euler chains


def euler_moments(s: Schedule, K: int, m0, v0, a=0.0, b=0.0):
    """Moments ``m_k, v_k`` (arrays ``(K + 1, d)``) of the encoder chain with ``h = a x + b``."""
    t = s.grid(K)
    m = [np.asarray(m0, dtype=float) * np.ones(1)]
    v = [np.asarray(v0, dtype=float) * np.ones(1)]
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    for k in range(K):
        dt = t[k + 1] - t[k]
        ck, gk = s.c(t[k]), s.g(t[k])
        F = 1.0 + (ck + gk * a) * dt
        m.append(F * m[-1] + gk * b * dt)
        v.append(F * F * v[-1] + gk * gk * dt)
    d = np.broadcast(m[-1], v[-1]).shape
    return np.array([np.broadcast_to(z, d) for z in m]), np.array(
        [np.broadcast_to(z, d) for z in v]
    )


def chain_kl(s: Schedule, K: int, m0, v0, a=0.0, b=0.0) -> float:
    """PL of the Euler chain: KL(law of X_K ‖ π)."""
    m, v = euler_moments(s, K, m0, v0, a, b)
    return gauss_kl(m[-1], v[-1], 0.0, s.prior_var)


def _encoder_step(s, K, k, a, b):
    t = s.grid(K)
    dt = t[k + 1] - t[k]
    gk = s.g(t[k])
    return 1.0 + (s.c(t[k]) + gk * a) * dt, gk * b * dt, gk * gk * dt


def _decoder_step(s, K, k, dec: LinearDrift):
    t = s.grid(K)
    dt = t[k + 1] - t[k]
    g1 = s.g(t[k + 1])
    G = 1.0 - (s.c(t[k + 1]) + g1 * dec.A[k + 1]) * dt
    o = -g1 * dec.B[k + 1] * dt
    q = s.g(t[k]) ** 2 * dt  # decoder step-k noise: g(t_k), as the encoder's
    return G, o, q


def decoder_law(s: Schedule, K: int, dec: LinearDrift):
    """Mean and variance of the decoder chain's X_0 (the K-step model q_θ), per dimension."""
    M = np.zeros(dec.d)
    V = np.full(dec.d, s.prior_var)
    for k in range(K - 1, -1, -1):
        G, o, q = _decoder_step(s, K, k, dec)
        M, V = G * M + o, G * G * V + q
    return M, V


def expected_chain_elbo(s: Schedule, K: int, m0, v0, a, b, dec: LinearDrift) -> float:
    r"""``E[chain ELBO]`` for ``X_0 ~ N(m0, diag v0)``; ``v0 = 0`` gives ``E[ELBO | X_0 = m0]``.

    ``E[log π(X_K)] + Σ_k (½ − E[(X_k − G_k X_{k+1} − o_k)²] / (2 q_k))`` per dimension: the
    encoder transition contributes its entropy ``½ log(2πe q_k)``, the decoder transition
    ``−½ log(2π q_k) − E[resid²]/(2 q_k)``, both with the same ``q_k``.
    """
    m, v = euler_moments(s, K, m0, v0, a, b)
    p = s.prior_var
    total = np.sum(-0.5 * (LOG2PI + math.log(p)) - (m[-1] ** 2 + v[-1]) / (2 * p))
    for k in range(K):
        F, e, q = _encoder_step(s, K, k, a, b)
        G, o, qd = _decoder_step(s, K, k, dec)
        assert np.allclose(q, qd)
        lin = 1.0 - G * F
        mean = lin * m[k] - G * e - o
        var = lin * lin * v[k] + G * G * q
        total += np.sum(0.5 - (mean * mean + var) / (2 * q))
    return float(total)


def discrete_pl_dm(s: Schedule, K: int, m0, v0, a, b, dec: LinearDrift):
    r"""``(PL, DM)`` of the discrete chains (needs ``v0 > 0``).

    The encoder's reverse conditional is ``X_k | X_{k+1} ~ N(α X_{k+1} + β, v_k q_k / v_{k+1})``
    with ``α = F_k v_k / v_{k+1}``, ``β = m_k − α m_{k+1}``; DM sums its expected KL to the
    decoder's ``N(G_k X_{k+1} + o_k, q_k)``.
    """
    m, v = euler_moments(s, K, m0, v0, a, b)
    pl = gauss_kl(m[-1], v[-1], 0.0, s.prior_var)
    dm = 0.0
    for k in range(K):
        F, _, q = _encoder_step(s, K, k, a, b)
        G, o, _ = _decoder_step(s, K, k, dec)
        alpha = F * v[k] / v[k + 1]
        beta = m[k] - alpha * m[k + 1]
        var_p = v[k] * q / v[k + 1]
        dlin, doff = alpha - G, beta - o
        sq = (dlin * m[k + 1] + doff) ** 2 + dlin * dlin * v[k + 1]
        dm += float(np.sum(0.5 * (var_p / q - 1.0 - np.log(var_p / q) + sq / q)))
    return pl, dm


# ------------------------------------------------------------------- continuous time


def _int_rates(s: Schedule, t: np.ndarray):
    """``(∫_0^t c, ∫_0^t g)`` in closed form."""
    if s.kind == "vp":
        beta = s.beta(t)
        int_c = -0.5 * (s.beta_min * t + 0.5 * (s.beta_max - s.beta_min) * t * t)
        # ∫ √β = (2/3)(β^{3/2} − β_min^{3/2})/β' written without the cancellation at β' → 0
        sb, sb0 = np.sqrt(beta), math.sqrt(s.beta_min)
        int_g = (2.0 / 3.0) * t * (beta + sb * sb0 + s.beta_min) / (sb + sb0)
        return int_c, int_g
    return np.zeros_like(t), s.sigma * t


def continuous_moments(s: Schedule, K: int, m0, v0, a=0.0, b=0.0, dA=0.0, dB=0.0, n_fine=8000):
    r"""Moments at the grid times of the linear encoder SDE ``dX = (c + g a) X + g b dt + g dW``,

    i.e. the solutions of ``m' = r m + g b``, ``v' = 2 r v + g²`` (``r = c + g a``), by the
    integrating factor ``Φ = exp ∫ r`` (closed form) and Simpson quadrature on a fine grid:
    ``m = Φ (m0 + ∫ Φ⁻¹ g b)``, ``v = Φ² (v0 + ∫ Φ⁻² g²)``. Also returns the continuous drift
    matching ``∫_0^T E‖k* − k‖²/2 dt = ∫ Σ ((dA m + dB)² + dA² v)/2 dt`` of the decoder
    ``k = k* + dA x + dB`` (``k*`` the exact reverse drift).

    Returns ``m, v`` (arrays ``(K + 1, d)``) and the DM integral.
    """
    a, b, dA, dB = (np.atleast_1d(np.asarray(z, dtype=float)) for z in (a, b, dA, dB))
    m0, v0 = np.atleast_1d(np.asarray(m0, dtype=float)), np.atleast_1d(np.asarray(v0, dtype=float))
    sub = max(2, math.ceil(n_fine / K))
    t = np.linspace(0.0, s.T, K * sub + 1)[:, None]
    int_c, int_g = _int_rates(s, t)
    R = int_c + a * int_g
    g = s.g(t)
    inv = np.exp(-R)
    Im = cumulative_simpson(inv * g * b + 0 * m0, x=t[:, 0], axis=0, initial=0.0)
    Iv = cumulative_simpson(inv * inv * g * g + 0 * v0, x=t[:, 0], axis=0, initial=0.0)
    m = np.exp(R) * (m0 + Im)
    v = np.exp(2 * R) * (v0 + Iv)
    integrand = np.sum(0.5 * ((dA * m + dB) ** 2 + dA * dA * v), axis=1)
    dm = float(simpson(integrand, x=t[:, 0]))
    return m[::sub], v[::sub], dm


def exact_reverse_decoder(s: Schedule, K: int, m0, v0, a=0.0, b=0.0, dA=0.0, dB=0.0):
    r"""The exact (continuous-time) reverse drift of the linear encoder, plus a perturbation.

    ``k*(t, x) = h(t, x) − g ∇log ρ_t(x) = (a + g/v(t)) x + b − g m(t)/v(t)``, tabulated on
    the grid, and ``k = k* + dA x + dB``. Returns ``(decoder, PL_cont, DM_cont)`` with
    ``PL_cont = KL(N(m(T), v(T)) ‖ π)`` and ``DM_cont`` the continuous drift matching of ``k``.
    """
    m, v, dm = continuous_moments(s, K, m0, v0, a, b, dA, dB)
    g = s.g(s.grid(K))[:, None]
    A = a + g / v + dA
    B = b - g * m / v + dB
    pl = gauss_kl(m[-1], v[-1], 0.0, s.prior_var)
    return LinearDrift(s.T, K, A, B), pl, dm
