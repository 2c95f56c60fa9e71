"""One SB-VAE encoder step against closed forms: a linear-Gaussian encoder on Gaussian data.

Brownian reference (f = 0, g = σ), one grid step on [0, T], encoder drift h_φ(t, x) = b
(a learned constant, d numbers): X_T = x_0 + σTb + σ√T ξ. For x_0 ~ N(m, s²I) the latent is
p_φ = N(μ, vI) with μ = m + σTb, v = s² + σ²T, and against π = N(0, πᵥI)

    ∇_b KL(p_φ ‖ π) = σT μ / πᵥ.

The decoder is chosen so that its score estimate (h − k)(T, ·)/g is exactly ∇log p_φ, so the
prior-loss surrogate's gradient is an unbiased estimate of that closed form. Its Monte Carlo
standard error is computed from the same draws, and the tolerance is 5 of them.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from skbridge.models._sbvae import encoder_loss
from skbridge.sde import chain_elbo, make_reference_sde, time_grid

D, N, SIGMA, T = 3, 40000, 0.8, 0.5
M, S = np.array([0.7, -1.2, 0.3]), 0.6


class ConstantDrift(nn.Module):
    def __init__(self, b):
        super().__init__()
        self.b = nn.Parameter(torch.as_tensor(b, dtype=torch.float32))

    def forward(self, t, x):
        return self.b.expand_as(x)


class ExactScoreDecoder(nn.Module):
    """k(T, z) = b - g ∇log p_φ(z) at the encoder's b: (h - k)/g is the latent's exact
    score there. A fixed function of its own (it does not read the encoder)."""

    def __init__(self, b, mu, v, g):
        super().__init__()
        self.b = torch.as_tensor(b, dtype=torch.float32)
        self.mu, self.v, self.g = mu, v, g
        self.scale = nn.Parameter(torch.ones(()))  # a decoder parameter (kept fixed)

    def forward(self, t, z):
        return self.b.expand_as(z) + self.scale * self.g * (z - self.mu) / self.v


def _setup(b):
    sde = make_reference_sde("brownian", sigma=SIGMA, T=T)
    grid = time_grid(T, 1)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.as_tensor(M, dtype=torch.float32) + S * torch.randn(N, D, generator=gen)
    enc = ConstantDrift(b)
    mu = torch.as_tensor(M + SIGMA * T * np.asarray(b), dtype=torch.float32)
    dec = ExactScoreDecoder(b, mu, S**2 + SIGMA**2 * T, SIGMA)
    return sde, grid, x0, enc, dec


@pytest.mark.parametrize("b", [[0.0, 0.0, 0.0], [0.5, 1.0, -0.8]])
def test_prior_loss_gradient_is_the_closed_form_kl_gradient(b):
    sde, grid, x0, enc, dec = _setup(b)
    loss, path, _ = encoder_loss(
        sde, enc, dec, x0, grid, gradient="prior", generator=torch.Generator().manual_seed(1)
    )
    (grad,) = torch.autograd.grad(loss, enc.b)
    mu = M + SIGMA * T * np.asarray(b)
    expected = SIGMA * T * mu / sde.prior_var
    # per-row contributions of the surrogate's gradient, for its standard error:
    # σT (−(z − μ)/v + z/πᵥ)
    z = path[-1].detach().double().numpy()
    v = S**2 + SIGMA**2 * T
    rows = SIGMA * T * (-(z - mu) / v + z / sde.prior_var)
    se = rows.std(0, ddof=1) / math.sqrt(N)
    np.testing.assert_allclose(rows.mean(0), grad.numpy(), rtol=1e-4, atol=1e-6)
    assert np.all(np.abs(grad.numpy() - expected) < 5 * se + 1e-6), (grad, expected, se)
    # a step against the gradient lowers the KL
    kl = lambda mean: 0.5 * float(np.sum(mean**2)) / sde.prior_var  # noqa: E731 (μ-part)
    stepped = mu - SIGMA * T * 0.1 * grad.numpy()
    assert kl(stepped) < kl(mu)


def test_elbo_gradient_is_minus_the_chain_elbo_of_the_same_path():
    """encoder_gradient="elbo": the loss is −ELBO (the sign a minimiser needs), and its
    gradient is the gradient of the chain −ELBO computed independently on the same noise
    (checked by central finite differences); the decoder gets no gradient."""
    b = np.array([0.3, -0.4, 0.2])
    sde, grid, x0, enc, dec = _setup(b)
    x0 = x0[:4000]
    loss, _, _ = encoder_loss(
        sde, enc, dec, x0, grid, gradient="elbo", generator=torch.Generator().manual_seed(2)
    )
    ref = -chain_elbo(sde, enc, dec, x0, grid, generator=torch.Generator().manual_seed(2)).mean()
    assert float(loss.detach()) == pytest.approx(float(ref.detach()), rel=1e-6)
    (grad,) = torch.autograd.grad(loss, enc.b)

    def neg_elbo(bb):
        e = ConstantDrift(bb)
        with torch.no_grad():
            g = torch.Generator().manual_seed(2)
            return -float(chain_elbo(sde, e, dec, x0, grid, generator=g).double().mean())

    eps = 1e-2
    for j in range(D):
        up, down = b.copy(), b.copy()
        up[j] += eps
        down[j] -= eps
        fd = (neg_elbo(up) - neg_elbo(down)) / (2 * eps)
        assert float(grad[j]) == pytest.approx(fd, rel=2e-2, abs=2e-3)
    assert all(p.grad is None for p in dec.parameters())
