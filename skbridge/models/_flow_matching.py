r"""FlowMatching: a continuous normalising flow trained by conditional flow matching (baseline)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from .._base import as_numpy, torch_generator
from ..data._dequantize import dequantize
from ..nets import drift_network
from ..sde import ODE_METHODS, integrate_ode, ode_log_likelihood, time_grid
from ._base import NetworkGenerator, row_draws

__all__ = ["FlowMatching"]

SOLVERS = ODE_METHODS
_SCORE_FLOATS = 2**24  # probe floats per scoring chunk (Hutchinson)
_SCORE_CHUNK = 4096
_SAMPLE_CHUNK = 65536


class FlowMatching(NetworkGenerator):
    r"""Conditional flow matching / rectified flow as a scikit-learn density estimator.

    A baseline with the same interface as :class:`ScoreSDE`: a continuous normalising flow
    (Chen et al., 2018) whose velocity field :math:`v_\theta(t, x)` (a
    :class:`~skbridge.nets.DriftMLP` with a sinusoidal time embedding) is trained by
    regression on the straight-line interpolation between noise and data (Lipman et al.,
    2023; Liu et al., 2023):

    .. math::
        x_t = (1 - t)\,x_0 + t\,x_1, \quad x_0 \sim N(0, I),\ x_1 \sim \text{data},\
        t \sim U(0, 1), \qquad
        \min_\theta\ \mathbb E\,\big\|v_\theta(t, x_t) - (x_1 - x_0)\big\|^2 .

    Each batch gets fresh noise, times and dequantisation draws; the fitted field is an
    exponential moving average of the weights (``ema_decay``), as in the diffusion models.

    ``sample`` integrates :math:`dx/dt = v_\theta(t, x)` from :math:`x_0 \sim N(0, I)` at
    :math:`t = 0` to :math:`t = 1` with ``n_steps`` Heun (or Euler) steps.
    ``score_samples`` is the log-likelihood of the flow by the instantaneous change of
    variables,

    .. math::
        \log p_1(x_1) = \log N(x_0; 0, I) - \int_0^1 \nabla\cdot v_\theta(t, x_t)\,dt,

    integrated backwards from the row at :math:`t = 1` on the same grid and solver. The
    divergence is exact (``d`` backward passes per evaluation) when the model vectors have
    ``d <= exact_divergence_max_dim`` dimensions; above, Hutchinson's estimator with one
    fresh Rademacher probe per evaluation makes the score an *unbiased estimate of the log-
    likelihood* of the flow, which is neither a lower nor an upper bound (its exponential
    is biased). The score is that of the ODE solved on the grid: it converges to the
    continuous flow's as ``n_steps`` grows, and the samples (forward solve) come from the
    same flow up to the solver's error.

    Integer and categorical columns are dequantised (see
    :class:`~skbridge.data.TabularCodec`): the score subtracts :math:`\log q(v|x)`,
    averaged over ``n_dequantization_samples`` draws per row (the variational
    dequantisation bound, Ho et al., 2019). The probes and draws of a row come from a hash of
    its values, so a row's score does not depend on the other rows.

    Parameters
    ----------
    data : "auto", "tabular" or a codec, default="auto"
        As in :class:`ScoreSDE`.
    n_steps : int, default=100
        Solver steps on the uniform grid of [0, 1], shared by sampling and scoring.
    solver : {"heun", "euler"}, default="heun"
        ODE solver of sampling and scoring (Heun: two field evaluations a step).
    exact_divergence_max_dim : int, default=16
        Largest model dimension ``d`` scored with the exact divergence; above it, the
        Hutchinson estimate (one backward pass per evaluation instead of ``d``). The
        default is the ``"auto"`` rule of :func:`skbridge.sde.divergence`; on one CPU core
        an evaluation of the default field on 256 rows takes about 1.6 ms exact at
        ``d = 2``, 19 ms exact at ``d = 32`` and 1 ms by Hutchinson.
    n_dequantization_samples : int, default=1
        Dequantisation draws averaged per row by ``score_samples`` (only with integer or
        categorical columns).
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Widths of the velocity MLP, chosen as in :class:`ScoreSDE` (a
        :class:`~skbridge.nets.TemporalConvNet` on sequences).
    max_iter : int, default=3000
        Optimisation steps (mini-batches).
    batch_size : int, default=256
    learning_rate : float, default=2e-3
        Adam step size.
    ema_decay : float, default=0.995
        The fitted field is an exponential moving average of the trained weights; 0 keeps
        the last iterate.
    early_stopping : bool, default=False
        Stop when the held-out negative log-likelihood (fixed noise) has not improved by
        ``tol`` nats for ``n_iter_no_change`` checks (one every ``max_iter // 20``
        iterations), and restore the best field.
    validation_fraction : float, default=0.1
        Share of rows held out for monitoring (at most 128 are scored).
    n_iter_no_change : int, default=5
    tol : float, default=1e-3
    warm_start : bool, default=False
        Continue from the previous fit's field and codec.
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
    velocity_ : torch.nn.Module
        The fitted field :math:`(t, x) \mapsto v_\theta(t, x)` (EMA weights).
    n_iter_ : int
        Iterations run (across warm-started fits).
    history_ : list of dict
        At each check: iteration, time, loss (mean flow-matching loss of the training
        batches since the last check), val_neg_log_lik (negative log-likelihood of the
        validation rows, user's units, one fixed dequantisation draw).

    See Also
    --------
    VAE : a variational autoencoder baseline.
    ScoreSDE : the diffusion model these baselines are compared with.

    References
    ----------
    Y. Lipman, R. T. Q. Chen, H. Ben-Hamu, M. Nickel, M. Le, "Flow matching for generative
    modeling", ICLR (2023), https://arxiv.org/abs/2210.02747

    X. Liu, C. Gong, Q. Liu, "Flow straight and fast: learning to generate and transfer data
    with rectified flow", ICLR (2023), https://arxiv.org/abs/2209.03003

    R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud, "Neural ordinary differential
    equations", NeurIPS (2018), https://arxiv.org/abs/1806.07366

    W. Grathwohl, R. T. Q. Chen, J. Bettencourt, I. Sutskever, D. Duvenaud, "FFJORD:
    free-form continuous dynamics for scalable reversible generative models", ICLR (2019),
    https://arxiv.org/abs/1810.01367

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skbridge import FlowMatching
    >>> X, _ = make_moons(500, noise=0.05, random_state=0)
    >>> model = FlowMatching(max_iter=200, random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    """

    _torch_attributes = ("velocity_",)
    _val_rows = 128  # the likelihood costs a solve with d backward passes per evaluation

    _parameter_constraints: dict = {
        **NetworkGenerator._parameter_constraints,
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions(set(SOLVERS))],
        "exact_divergence_max_dim": [Interval(Integral, 0, None, closed="left")],
        "n_dequantization_samples": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [StrOptions({"auto"}), tuple],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "ema_decay": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        data="auto",
        n_steps=100,
        solver="heun",
        exact_divergence_max_dim=16,
        n_dequantization_samples=1,
        hidden_layer_sizes="auto",
        max_iter=3000,
        batch_size=256,
        learning_rate=2e-3,
        ema_decay=0.995,
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
        self.n_steps = n_steps
        self.solver = solver
        self.exact_divergence_max_dim = exact_divergence_max_dim
        self.n_dequantization_samples = n_dequantization_samples
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.ema_decay = ema_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ training hooks
    def _ema_decay(self):
        return float(self.ema_decay)

    def _build(self, codec):
        return drift_network(codec, self.hidden_layer_sizes, T=1.0)

    def _module(self):
        return self.velocity_

    def _adopt(self, module):
        self.velocity_ = module

    def _loss(self, module, x1, gen):
        """Conditional flow matching on the straight path from noise to the batch ``x1``."""
        n = x1.shape[0]
        x0 = torch.randn(x1.shape, generator=gen, device=x1.device, dtype=x1.dtype)
        t = torch.rand(n, generator=gen, device=x1.device, dtype=x1.dtype)
        xt = (1.0 - t)[:, None] * x0 + t[:, None] * x1
        return (module(t, xt) - (x1 - x0)).pow(2).mean()

    def _grid(self, device):
        return time_grid(1.0, self.n_steps, device=device, dtype=torch.float32)

    def _n_evals(self):
        return int(self.n_steps) * (2 if self.solver == "heun" else 1)

    def _exact(self, d):
        return d <= int(self.exact_divergence_max_dim)

    def _validator(self, codec, P_val, seed):
        gen = torch_generator(seed, P_val.device)
        v, log_q = dequantize(codec, P_val, generator=gen)
        d, dev = codec.n_latent_, P_val.device
        probes = None
        if not self._exact(d):
            probes = torch.randint(0, 2, (self._n_evals(), *v.shape), generator=gen, device=dev)
            probes = probes.to(v.dtype) * 2 - 1
        grid = self._grid(dev)

        def log_density(module):
            ll = ode_log_likelihood(module, v, grid, self.solver, probes)
            return as_numpy(ll - log_q)

        return log_density

    # --------------------------------------------------------------- inference
    def _generate(self, n, gen):
        """Solve the flow from :math:`x_0 \\sim N(0, I)` at t = 0 to t = 1."""
        grid = self._grid(self.device_)
        d = self.codec_.n_latent_
        out = []
        for start in range(0, n, _SAMPLE_CHUNK):
            m = min(_SAMPLE_CHUNK, n - start)
            x0 = torch.randn((m, d), generator=gen, device=self.device_)
            velocity = self._sampling_net(self.velocity_)  # bounded input: see _sampling_net
            out.append(integrate_ode(velocity, x0, grid, method=self.solver))
        return torch.cat(out)

    def _log_density(self, P):
        """Flow log-likelihood minus the dequantisation log-density, noise hashed per row."""
        grid = self._grid(self.device_)
        S, d, E = int(self.n_dequantization_samples), self.codec_.n_latent_, self._n_evals()
        discrete, exact = self.codec_.has_discrete_, self._exact(d)
        chunk = _SCORE_CHUNK if exact else _SCORE_FLOATS // (E * d)
        chunk = max(1, chunk // S)
        out = []
        for start in range(0, P.shape[0], chunk):
            p = P[start : start + chunk]
            n = p.shape[0]
            draws = ([("uniform", (S, d))] if discrete else []) + (
                [] if exact else [("sign", (E, S, d))]
            )
            got = row_draws(p.cpu().numpy(), self._score_seed, *draws)
            unif = probes = None
            if discrete:
                unif = torch.from_numpy(got.pop(0).transpose(1, 0, 2).reshape(S * n, d))
                unif = unif.to(p.device)
            if not exact:
                signs = got.pop(0).transpose(1, 2, 0, 3).reshape(E, S * n, d)
                probes = torch.from_numpy(np.ascontiguousarray(signs)).to(p.device)
                probes = probes.to(torch.float32)
            v, log_q = dequantize(self.codec_, p.repeat(S, 1), u=unif)
            ll = ode_log_likelihood(self.velocity_, v, grid, self.solver, probes)
            out.append(as_numpy((ll - log_q).reshape(S, n).mean(0)))
        return np.concatenate(out)
