r"""VAE: a Gaussian variational autoencoder baseline, scored by the importance-weighted bound."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from .._base import as_numpy, torch_generator
from ..data._dequantize import dequantize
from ._base import NetworkGenerator, row_draws

__all__ = ["VAE"]

_MIN_DECODER_STD = 1e-2  # floor of the decoder's std, in standardised units
_MIN_DECODER_LOG_VAR = 2.0 * math.log(_MIN_DECODER_STD)
_LOG_2PI = math.log(2.0 * math.pi)
_MAX_LOG_VAR = 30.0
_SCORE_CHUNK = 65536  # (row, importance sample) pairs per forward pass
_SAMPLE_CHUNK = 65536
_VAL_SAMPLES = 64  # at most this many importance samples in the monitored validation bound


def _normal_log_pdf(x, mean, log_var):
    """Sum over the last axis of :math:`\\log N(x; \\mu, e^{\\text{log\\_var}})`."""
    return -0.5 * ((x - mean) ** 2 * torch.exp(-log_var) + log_var + _LOG_2PI).sum(-1)


class _GaussianMLP(nn.Module):
    """``x -> (mean, log_var)`` of a diagonal Gaussian: an MLP with SiLU activations.

    With ``min_log_var`` the log-variance is ``min_log_var + softplus(raw - min_log_var)``:
    bounded below, and almost the raw output well above the floor. It is bounded above by
    ``_MAX_LOG_VAR``.
    """

    def __init__(self, n_in, n_out, hidden, min_log_var=None):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_in
        for h in hidden:
            layers += [nn.Linear(width, h), nn.SiLU()]
            width = h
        layers.append(nn.Linear(width, 2 * n_out))
        self.net = nn.Sequential(*layers)
        self.n_out = n_out
        self.min_log_var = min_log_var

    def forward(self, x):
        mean, log_var = self.net(x).split(self.n_out, dim=-1)
        if self.min_log_var is not None:
            floor = self.min_log_var
            log_var = floor + nn.functional.softplus(log_var - floor)
        # a standard deviation beyond e^15 (reached only on rows far outside the training
        # data) would overflow float32 in z**2 and turn scores into NaN
        return mean, log_var.clamp(max=_MAX_LOG_VAR)


class _VAENet(nn.Module):
    """Encoder and decoder in one module (what the shared training loop optimises)."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder


def importance_weighted_bound(encoder, decoder, v, log_q, eps, n_samples):
    r"""IWAE bound per row: :math:`\log\frac1S\sum_s \frac{p(v_s, z_s)}{q(z_s|v_s)\,q(v_s|x)}`.

    ``v`` (S*n, d) are dequantised rows, sample-major (``v[s*n + i]`` is row ``i``'s draw
    ``s``), ``log_q`` (S*n,) their dequantisation log-density, ``eps`` (S*n, k) standard
    normals giving :math:`z_s = \mu_\phi(v_s) + \sigma_\phi(v_s)\,\varepsilon_s`. Returns (n,).
    """
    mean, log_var = encoder(v)
    z = mean + torch.exp(0.5 * log_var) * eps
    log_qz = -0.5 * (eps**2 + log_var + _LOG_2PI).sum(-1)
    log_pz = -0.5 * (z**2 + _LOG_2PI).sum(-1)
    log_pv = _normal_log_pdf(v, *decoder(z))
    log_w = (log_pv + log_pz - log_qz - log_q).reshape(n_samples, -1)
    return torch.logsumexp(log_w, 0) - math.log(n_samples)


class VAE(NetworkGenerator):
    r"""Gaussian variational autoencoder (Kingma & Welling, 2014) as a density estimator.

    A baseline with the same interface as :class:`ScoreSDE`. One Gaussian latent
    :math:`z \in \mathbb R^k` with prior :math:`p(z) = N(0, I)`; an MLP encoder
    :math:`q_\phi(z|v) = N(\mu_\phi(v), \operatorname{diag}\sigma_\phi^2(v))` and an MLP
    decoder :math:`p_\theta(v|z) = N(\mu_\theta(z), \operatorname{diag}\sigma_\theta^2(z))`
    with a learned variance, bounded below by :math:`\sigma_\theta \ge 10^{-2}` (in the
    codec's standardised units) so that the likelihood cannot blow up on a collapsed
    variance. ``v`` is the codec's model vector of a row (standardised floats, dequantised
    integers and categories, see :class:`~skbridge.data.TabularCodec`).

    Training maximises the (:math:`\beta`-)ELBO with Adam on mini-batches, one
    reparameterised latent draw and a fresh dequantisation draw per row and step:

    .. math::
        \mathcal L(v) = \mathbb E_{q_\phi(z|v)}\big[\log p_\theta(v|z)\big]
        - \beta\,\mathrm{KL}\big(q_\phi(z|v)\,\|\,N(0, I)\big).

    ``score_samples`` is the importance-weighted bound (IWAE, Burda et al., 2016) with
    :math:`S` = ``n_importance_samples`` joint draws :math:`v_s \sim q(v|x)` (the
    dequantisation) and :math:`z_s \sim q_\phi(z|v_s)`:

    .. math::
        \log P(x) \;\ge\; \mathbb E\Big[\log \frac1S \sum_{s=1}^S
        \frac{p(z_s)\,p_\theta(v_s|z_s)}{q_\phi(z_s|v_s)\,q(v_s|x)}\Big],

    which increases with :math:`S` and tends to :math:`\log P(x)` (for float columns only,
    :math:`\log p_\theta(v)`). It is a lower bound in expectation; each row's draws come
    from a hash of its values, so a row's score does not depend on the other rows.
    It holds for any :math:`\beta`; with :math:`\beta \ne 1` training no longer maximises
    a bound on the likelihood.

    ``sample`` draws :math:`z \sim N(0, I)` and :math:`v = \mu_\theta(z) +
    \sigma_\theta(z)\,\varepsilon`, :math:`\varepsilon \sim N(0, I)`: a draw from the model
    whose likelihood is scored (not the decoder mean, which would be too smooth).

    Parameters
    ----------
    data : "auto", "tabular" or a codec, default="auto"
        As in :class:`ScoreSDE`.
    latent_dim : int or None, default=None
        Size ``k`` of the latent. None: ``max(2, min(d, 16))`` for ``d``-dimensional model
        vectors (``latent_dim_`` holds the value used).
    beta : float, default=1.0
        Weight of the KL term in training (1: the ELBO).
    n_importance_samples : int, default=64
        Importance samples ``S`` per row of ``score_samples`` (the monitored validation
        bound uses at most 64).
    hidden_layer_sizes : tuple of int, default=(128, 128)
        Widths of the encoder MLP; the decoder has the same widths.
    max_iter : int, default=3000
        Optimisation steps (mini-batches).
    batch_size : int, default=256
    learning_rate : float, default=1e-3
        Adam step size.
    early_stopping : bool, default=False
        Stop when the held-out negative IWAE bound (fixed noise) has not improved by
        ``tol`` nats for ``n_iter_no_change`` checks (one every ``max_iter // 20``
        iterations), and restore the best networks.
    validation_fraction : float, default=0.1
        Share of rows held out for monitoring (at most 256 are scored).
    n_iter_no_change : int, default=5
    tol : float, default=1e-3
    warm_start : bool, default=False
        Continue from the previous fit's networks and codec.
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, …
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, training and ``score_samples``.
    verbose : int, default=0
        0 silent; 1 a progress bar (tqdm if installed) with the losses.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.
    device_ : torch.device
    codec_ : TabularCodec
        The fitted codec.
    latent_dim_ : int
    encoder_, decoder_ : torch.nn.Module
        ``v -> (mean, log_var)`` of :math:`q_\phi(z|v)`; ``z -> (mean, log_var)`` of
        :math:`p_\theta(v|z)`.
    n_iter_ : int
        Iterations run (across warm-started fits).
    history_ : list of dict
        At each check: iteration, time, loss (mean negative ELBO of the training batches
        since the last check, model units), val_neg_log_lik (negative IWAE bound of the
        validation rows, user's units).

    See Also
    --------
    FlowMatching : a continuous normalising flow baseline with exact likelihoods.
    ScoreSDE : the diffusion model these baselines are compared with.

    References
    ----------
    D. P. Kingma, M. Welling, "Auto-encoding variational Bayes", ICLR (2014),
    https://arxiv.org/abs/1312.6114

    Y. Burda, R. Grosse, R. Salakhutdinov, "Importance weighted autoencoders", ICLR (2016),
    https://arxiv.org/abs/1509.00519

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skbridge import VAE
    >>> X, _ = make_moons(500, noise=0.05, random_state=0)
    >>> model = VAE(max_iter=200, random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    """

    _torch_attributes = ("encoder_", "decoder_")

    _parameter_constraints: dict = {
        **NetworkGenerator._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left"), None],
        "beta": [Interval(Real, 0, None, closed="left")],
        "n_importance_samples": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [tuple],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        data="auto",
        latent_dim=None,
        beta=1.0,
        n_importance_samples=64,
        hidden_layer_sizes=(128, 128),
        max_iter=3000,
        batch_size=256,
        learning_rate=1e-3,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-3,
        warm_start=False,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.data = data
        self.latent_dim = latent_dim
        self.beta = beta
        self.n_importance_samples = n_importance_samples
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ training hooks
    def _latent_dim(self, d):
        return int(self.latent_dim) if self.latent_dim is not None else max(2, min(d, 16))

    def _build(self, codec):
        d = codec.n_latent_
        k = self._latent_dim(d)
        hidden = tuple(int(h) for h in self.hidden_layer_sizes)
        encoder = _GaussianMLP(d, k, hidden)
        decoder = _GaussianMLP(k, d, hidden[::-1], min_log_var=_MIN_DECODER_LOG_VAR)
        return _VAENet(encoder, decoder)

    def _module(self):
        return _VAENet(self.encoder_, self.decoder_)

    def _adopt(self, module):
        self.encoder_, self.decoder_ = module.encoder, module.decoder
        self.latent_dim_ = int(module.decoder.net[0].in_features)

    def _loss(self, module, v, gen):
        """Negative (beta-)ELBO per row with one reparameterised latent draw, batch mean."""
        mean, log_var = module.encoder(v)
        eps = torch.randn(mean.shape, generator=gen, device=v.device, dtype=v.dtype)
        z = mean + torch.exp(0.5 * log_var) * eps
        rec = _normal_log_pdf(v, *module.decoder(z))
        kl = 0.5 * (mean**2 + torch.exp(log_var) - 1.0 - log_var).sum(-1)
        return -(rec - float(self.beta) * kl).mean()

    def _validator(self, codec, P_val, seed):
        S = min(int(self.n_importance_samples), _VAL_SAMPLES)
        gen = torch_generator(seed, P_val.device)
        rep = P_val.repeat(S, 1)
        v, log_q = dequantize(codec, rep, generator=gen)
        k = self._latent_dim(codec.n_latent_)
        eps = torch.randn((rep.shape[0], k), generator=gen, device=rep.device, dtype=rep.dtype)

        def log_density(module):
            with torch.no_grad():
                bound = importance_weighted_bound(module.encoder, module.decoder, v, log_q, eps, S)
            return as_numpy(bound)

        return log_density

    # --------------------------------------------------------------- inference
    def _generate(self, n, gen):
        """:math:`z \\sim N(0, I)`, :math:`v = \\mu_\\theta(z) + \\sigma_\\theta(z)\\varepsilon`."""
        out = []
        for start in range(0, n, _SAMPLE_CHUNK):
            m = min(_SAMPLE_CHUNK, n - start)
            z = torch.randn((m, self.latent_dim_), generator=gen, device=self.device_)
            mean, log_var = self.decoder_(z)
            eps = torch.randn(mean.shape, generator=gen, device=self.device_)
            out.append(mean + torch.exp(0.5 * log_var) * eps)
        return torch.cat(out)

    def _log_density(self, P):
        """IWAE bound per row, noise (latents and dequantisation uniforms) hashed per row."""
        S, k = int(self.n_importance_samples), self.latent_dim_
        d = self.codec_.n_latent_
        discrete = self.codec_.has_discrete_
        chunk = max(1, _SCORE_CHUNK // S)
        out = []
        with torch.no_grad():
            for start in range(0, P.shape[0], chunk):
                p = P[start : start + chunk]
                n = p.shape[0]
                draws = [("normal", (S, k))] + ([("uniform", (S, d))] if discrete else [])
                eps, *unif_rows = row_draws(p.cpu().numpy(), self._score_seed, *draws)
                eps = torch.from_numpy(eps.transpose(1, 0, 2).reshape(S * n, k)).to(p.device)
                unif = None
                if discrete:
                    unif = torch.from_numpy(unif_rows[0].transpose(1, 0, 2).reshape(S * n, d))
                    unif = unif.to(p.device)
                v, log_q = dequantize(self.codec_, p.repeat(S, 1), u=unif)
                bound = importance_weighted_bound(self.encoder_, self.decoder_, v, log_q, eps, S)
                out.append(as_numpy(bound))
        return np.concatenate(out)
