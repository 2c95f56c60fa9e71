"""The diffusion decoder and its training: denoising score matching and drift matching.

:class:`DecoderTraining` is one fit's decoder side, shared by ScoreSDE and SBVAE: the
training-time sampler, the DSM and drift-matching steps, drift matching on cached encoder
paths, and the monitored chain −ELBO. It owns a :class:`~skbridge.models._training.Trainer`
(optimiser, EMA, checks, early stopping, history) and reads no estimator attributes: the
estimator passes its settings in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._base import torch_generator
from ..data._dequantize import _HOT_MEAN, _HOT_STD, dequantize
from ..sde import (
    ReferenceChain,
    chain_elbo,
    denoising_score_matching,
    drift_matching_control_variate,
    drift_matching_loss,
    encoder_chain,
    rowwise,
)
from ._training import VAL_ROWS, FitData, Trainer

__all__ = [
    "NoiseDecoder",
    "OneHotBlocks",
    "LevelEntries",
    "DiscreteHeads",
    "DecoderSettings",
    "DecoderTraining",
]

CATEGORY_CE = 1.0  # weight of the levels' cross-entropy in denoising score matching
_CACHE_FLOATS = 2**26  # at most 256 MB of cached float32 encoder paths


class NoiseDecoder(nn.Module):
    r"""Decoder drift in noise-prediction form: :math:`k_\theta(t, x) = \frac{g(t)}{\sigma(t)}\,\hat\varepsilon_\theta(t, x)`.

    :math:`\sigma(t)` is the reference's transition std, so at the reference encoder
    :math:`\hat\varepsilon_\theta` predicts the noise added to :math:`x_0` (well-scaled at all t).

    In about 100 model dimensions (UCI Adult's one-hot blocks) a 128-wide network predicted
    :math:`\hat\varepsilon` too small at large ``t`` in a few coordinates, and the reverse
    chain expanded; ``hidden_layer_sizes="auto"`` widens the network with the dimension
    (docs/math.md). A skip term exact for standard Gaussian data,
    :math:`\hat\varepsilon = \sigma x / (\alpha^2 + \sigma^2) + \mathrm{net}`, also fixed
    Adult but made the 8-Gaussian ring much worse (C2ST AUC 0.94 against 0.56): not used.
    """

    def __init__(self, net: nn.Module, sde, blocks=None):
        super().__init__()
        self.net = net
        self.sde = sde
        # relaxed one-hot blocks predicted through level probabilities (OneHotBlocks)
        self.blocks = blocks

    def forward(self, t, x):
        sigma = self.sde.sigma(t).clamp_min(1e-4)
        scale = self.sde.diffusion(t) / sigma
        eps = self.net(t, x)
        blocks = getattr(self, "blocks", None)  # None in models pickled before it existed
        if blocks is not None:
            eps = blocks.noise(self.sde.alpha(t), sigma, x, eps)
        return rowwise(scale, x) * eps


class OneHotBlocks(nn.Module):
    r"""The noise of relaxed one-hot blocks, predicted through the levels' probabilities.

    Argmax dequantisation puts a category into its block as a hot coordinate about
    :math:`N(\mu, s^2)` and the others about :math:`N(0, s^2)` (``skbridge.data``; the
    others' truncation below the hot one is 4 standard deviations away and ignored). Under
    the reference's transition :math:`x_t = \alpha v + \sigma\varepsilon`, given level
    :math:`j` the block is :math:`N(\alpha\mu e_j, w I)` with
    :math:`w = \alpha^2 s^2 + \sigma^2`, so with level probabilities :math:`p(j | x_t)`
    the optimal noise prediction is

    .. math:: \hat\varepsilon = \sigma\,(x_t - \alpha\mu\,p) / w .

    The posterior :math:`p` is the softmax of
    :math:`\log\pi_j + \ell_j + \alpha\mu x_{t,j} / w`: the levels' training
    frequencies :math:`\pi`, the network's outputs :math:`\ell` on the block's coordinates
    as the log-weights the rest of the row adds, and the block's own likelihood in closed
    form. The
    network then only has to learn how the levels depend on the rest of the row and on
    the noise level; the block's geometry (sharp levels at small noise) is exact. The
    decoder is still a drift, so the chain ELBO and every sampler are unchanged.
    """

    def __init__(self, blocks, d, frequencies=None):
        super().__init__()
        idx, seg = [], []
        for b, (start, stop) in enumerate(blocks):
            idx.extend(range(start, stop))
            seg.extend([b] * (stop - start))
        self.d, self.n_blocks = int(d), len(blocks)
        self.register_buffer("idx", torch.tensor(idx, dtype=torch.long))
        self.register_buffer("seg", torch.tensor(seg, dtype=torch.long))
        # the levels' training log-frequencies, added to the network's log-weights: the
        # exact weights where the rest of the row says nothing (e.g. at large noise), so
        # the network learns only how the levels depend on the rest
        log_prior = torch.zeros(len(idx), dtype=torch.float32)
        if frequencies is not None:
            log_prior = torch.log(torch.as_tensor(np.concatenate(frequencies))).float()
        self.register_buffer("log_prior", log_prior)

    def _block_max(self, values):
        """Each block's largest value (n, coordinates of the blocks), at every coordinate."""
        seg = self.seg.expand(values.shape[0], -1)
        top = values.new_full((values.shape[0], self.n_blocks), -torch.inf)
        return top.scatter_reduce(1, seg, values, "amax", include_self=True).gather(1, seg)

    def _rows(self, alpha, sigma, x):
        """``alpha``, ``sigma`` (scalars or (n,)) as (n, 1) columns of ``x``'s dtype."""
        n = x.shape[0]
        return tuple(v.reshape(-1, 1).expand(n, 1).to(x.dtype) for v in (alpha, sigma))

    def probabilities(self, logits):
        """Softmax of ``logits`` (n, coordinates of the blocks) within each block."""
        n = logits.shape[0]
        seg = self.seg.expand(n, -1)
        z = torch.exp(logits - self._block_max(logits.detach()))
        total = z.new_zeros((n, self.n_blocks)).scatter_add(1, seg, z)
        return z / total.gather(1, seg)

    def posterior(self, alpha, sigma, x, out):
        """``(p, w)``: the levels' probabilities (n, coordinates of the blocks) given the
        network's outputs ``out`` at ``x``, and the blocks' variance ``w`` (n, 1)."""
        n = x.shape[0]
        x, out = x.reshape(n, -1), out.reshape(n, -1)
        a, s = self._rows(alpha, sigma, x)
        w = a**2 * _HOT_STD**2 + s**2
        xb = x.index_select(1, self.idx)
        logits = out.index_select(1, self.idx) + self.log_prior.to(x.dtype) + a * _HOT_MEAN * xb / w
        return self.probabilities(logits), w

    def levels(self, v):
        """One-hot (n, coordinates of the blocks) of each block's level in dequantised
        vectors ``v``: its largest coordinate (argmax dequantisation keeps it the hot one)."""
        vb = v.reshape(v.shape[0], -1).index_select(1, self.idx)
        return (vb == self._block_max(vb)).to(v.dtype)

    def noise(self, alpha, sigma, x, out):
        """``out`` (the network's noise prediction) with the blocks' coordinates replaced
        by the posterior noise; ``alpha``, ``sigma``: scalars or (n,). With ``record`` set
        (by :meth:`DecoderTraining.dsm_step`, for the levels' cross-entropy), the levels'
        probabilities are kept in ``last_p``."""
        n = x.shape[0]
        p, w = self.posterior(alpha, sigma, x, out)
        if getattr(self, "record", False):
            self.last_p = p
        a, s = self._rows(alpha, sigma, x)
        eps = s * (x.reshape(n, -1).index_select(1, self.idx) - a * _HOT_MEAN * p) / w
        return out.reshape(n, -1).index_copy(1, self.idx, eps).reshape(out.shape)


class LevelEntries(nn.Module):
    r"""The noise of scalar entries on ``B + 1`` evenly spaced levels, predicted through the
    levels' probabilities (a graph's adjacency entries: 0 for no edge, ``b / B`` for an edge
    of the ``b``-th category).

    An entry of level :math:`l_b = b / B` is dequantised about :math:`N(l_b, s^2)` (truncated
    at two standard deviations, ignored here as :class:`OneHotBlocks` ignores its blocks'
    truncation), so under the reference's transition it is :math:`N(\alpha l_b, w)` with
    :math:`w = \alpha^2 s^2 + \sigma^2`, and the optimal noise prediction is

    .. math:: \hat\varepsilon = \sigma\,(x_t - \alpha \textstyle\sum_b p_b l_b) / w

    with :math:`p` the softmax over ``b`` of :math:`\log\pi_b + b\,\ell
    + (\alpha l_b x_t - \alpha^2 l_b^2 / 2) / w`: the levels' training frequencies
    :math:`\pi` (over all entries, so the head treats every entry alike and keeps a
    graph network's permutation equivariance), the network's one output :math:`\ell` per
    entry as a log-odds tilt towards higher levels (for ``B = 1`` exactly the log-odds of an
    edge), and the entry's own likelihood in closed form. On QM9 (10000 steps, one seed) a
    network with ``B`` outputs per pair, one log-weight per level, sampled as valid
    molecules as the tilt (0.750 against 0.753): one output is kept.
    """

    def __init__(self, start, stop, n_levels, std, frequencies):
        super().__init__()
        self.start, self.stop = int(start), int(stop)
        self.B, self.std = int(n_levels), float(std)
        freq = torch.as_tensor(np.asarray(frequencies, dtype=np.float64))
        self.register_buffer("log_prior", torch.log(freq / freq.sum()))

    def _values(self, x):
        """The levels ``0, 1/B, ..., 1`` in ``x``'s dtype and device."""
        return torch.arange(self.B + 1, dtype=x.dtype, device=x.device) / self.B

    def posterior(self, alpha, sigma, x, out):
        """``(p, w)``: the levels' probabilities (n, entries, B + 1) and the variance (n, 1, 1)."""
        n = x.shape[0]
        a, s = (v.reshape(-1, 1, 1).expand(n, 1, 1).to(x.dtype) for v in (alpha, sigma))
        w = a**2 * self.std**2 + s**2
        xe = x.reshape(n, -1)[:, self.start : self.stop, None]
        lv = self._values(x)
        ell = out.reshape(n, -1)[:, self.start : self.stop, None]
        logits = (
            self.log_prior.to(x.dtype)
            + ell * (lv * self.B)
            + (a * lv * xe - 0.5 * (a * lv) ** 2) / w
        )
        return torch.softmax(logits, dim=2), w

    def levels(self, v):
        """One-hot (n, entries * (B + 1)) of each entry's level in dequantised vectors ``v``."""
        ve = v.reshape(v.shape[0], -1)[:, self.start : self.stop]
        b = torch.floor(ve * self.B + 0.5).clamp(0, self.B).long()
        return torch.nn.functional.one_hot(b, self.B + 1).to(v.dtype).reshape(v.shape[0], -1)

    def noise(self, alpha, sigma, x, out):
        """``out`` with the entries replaced by the posterior noise (see :class:`OneHotBlocks`
        for ``record`` and ``last_p``)."""
        n = x.shape[0]
        p, w = self.posterior(alpha, sigma, x, out)
        if getattr(self, "record", False):
            self.last_p = p.reshape(n, -1)
        s = sigma.reshape(-1, 1).expand(n, 1).to(x.dtype)
        a = alpha.reshape(-1, 1).expand(n, 1).to(x.dtype)
        mean = (p * self._values(x)).sum(2)
        xe = x.reshape(n, -1)[:, self.start : self.stop]
        eps = s * (xe - a * mean) / w[:, :, 0]
        flat = out.reshape(n, -1)
        return torch.cat([flat[:, : self.start], eps, flat[:, self.stop :]], 1).reshape(out.shape)


class DiscreteHeads(nn.Module):
    """Several heads (:class:`OneHotBlocks`, :class:`LevelEntries`) on disjoint coordinates,
    applied in turn; ``levels`` and the recorded ``last_p`` are the heads' concatenated."""

    def __init__(self, heads):
        super().__init__()
        self.heads = nn.ModuleList(heads)

    @property
    def record(self):
        return getattr(self, "_record", False)

    @record.setter
    def record(self, value):
        self._record = bool(value)
        for head in self.heads:
            head.record = bool(value)
            if not value:
                head.last_p = None

    @property
    def last_p(self):
        ps = [getattr(head, "last_p", None) for head in self.heads]
        return None if any(p is None for p in ps) else torch.cat(ps, 1)

    @last_p.setter
    def last_p(self, value):
        if value is None:
            for head in self.heads:
                head.last_p = None

    def levels(self, v):
        return torch.cat([head.levels(v) for head in self.heads], 1)

    def noise(self, alpha, sigma, x, out):
        for head in self.heads:
            out = head.noise(alpha, sigma, x, out)
        return out


@dataclass
class DecoderSettings:
    """The estimator's settings that the decoder's training reads."""

    max_iter: int
    batch_size: int
    learning_rate: float
    ema_decay: float
    tol: float
    n_iter_no_change: int
    verbose: int
    name: str
    monitor_train: bool = False
    control_variate: bool = False
    progress_total: int | None = None  # iterations the progress bar expects (max_iter)


class DecoderTraining:
    """One fit's decoder training. Works on its own copies; the estimator adopts them only
    on success. ``h`` is the encoder drift the decoder is trained against (None: the
    reference)."""

    def __init__(self, settings: DecoderSettings, sde, grid, decoder, fd: FitData):
        self.settings, self.sde, self.grid = settings, sde, grid
        self.K = grid.numel() - 1
        self.decoder, self.codec = decoder, fd.codec
        self.x_train = fd.x_train  # packed rows (see TabularCodec.encode), dequantised per batch
        self.dev = fd.x_train.device
        seeds = fd.seeds
        self.gen = torch_generator(seeds[0], self.dev)
        self.val_seed = int(seeds[1])
        # validation rows: one fixed dequantised draw, so the monitored -ELBO is comparable
        x_val = fd.x_val[:VAL_ROWS]
        self.x_val, self.val_log_q = dequantize(
            self.codec, x_val, generator=torch_generator(self.val_seed + 3, self.dev)
        )
        # the monitored -ELBO costs a K-step chain per row: fewer rows in high dimensions
        # (256 up to d = 64, e.g. 54 for 60-token DNA strings), the same rows every check;
        # at least 32, but never so many that a check costs more than a quarter of the
        # network evaluations of the training steps between two checks (3 per row and step:
        # forward and backward), and at least 4: large graphs trained in small batches (32
        # grids of 361 nodes are minutes of chains per check), and small graph sets, whose
        # batch is the whole set (ScoreSDE on Community-small: 71 rows a check took 90 s of
        # a 153 s fit; 30 rows)
        max_iter = int(settings.max_iter)
        self.check_every = max(1, max_iter // 20)
        self.batch = min(int(settings.batch_size), self.x_train.shape[0])
        affordable = max(4, 3 * self.check_every * self.batch // (4 * self.K))
        by_size = max(32, min(VAL_ROWS, 16384 // self.codec.n_latent_))
        m = min(x_val.shape[0], affordable, by_size)
        self.monitor_sets = {"val": (self.x_val[:m], self.val_log_q[:m], fd.offset_val[:m])}
        # the training -ELBO too, on as many fixed training rows (monitor_train: training
        # curves, e.g. for overfitting; it doubles the monitoring cost)
        if settings.monitor_train:
            x_tr, log_q_tr = dequantize(
                self.codec,
                self.x_train[:m],
                generator=torch_generator(self.val_seed + 4, self.dev),
            )
            self.monitor_sets["train"] = (x_tr, log_q_tr, fd.offset_train[:m])
        self.trainer = Trainer(
            decoder,
            learning_rate=settings.learning_rate,
            ema_decay=settings.ema_decay,
            total=settings.progress_total or max_iter,
            check_every=self.check_every,
            verbose=settings.verbose,
            name=settings.name,
            tol=settings.tol,
            n_iter_no_change=settings.n_iter_no_change,
            what="decoder",
            checkpoint=fd.checkpoint,
            generators=(self.gen,),
        )
        self.h = None  # None: the encoder is the reference (h = 0), so skip evaluating it
        self._build_time_sampler()

    @property
    def ema(self):
        """The kept decoder (EMA of the trained weights): what is monitored and adopted."""
        return self.trainer.ema

    @property
    def it(self):
        return self.trainer.it

    # ------------------------------------------------------------- time sampling
    def _build_time_sampler(self):
        r"""Training times: half uniform, half from the likelihood weighting :math:`g^2/\sigma^2`.

        With the noise-prediction loss, drawing ``t`` uniformly is the usual "simple" weighting
        (good samples, too little training near ``t = 0`` for a tight ELBO); drawing it with
        density proportional to :math:`g(t)^2/\sigma(t)^2` is maximum-likelihood weighting
        (Song et al., 2021). Both have the same minimiser. On two moons (3000 steps, one
        seed) uniform gave energy distance 0.0062 and held-out ELBO -1.94 nats, the mixture
        0.0036 / -1.70, pure likelihood weighting 0.0033 / -1.63. The half that stays uniform
        is a hedge for higher dimensions, where likelihood weighting is reported to cost
        sample quality (Song et al., 2021); that hedge is not measured here yet.
        """
        T = self.sde.T
        self.t_min = min(1e-3 * T, float(self.grid[1]))
        tt = torch.linspace(self.t_min, T, 4097, dtype=torch.float64)
        w = (self.sde.diffusion(tt) / self.sde.sigma(tt)) ** 2
        cdf = torch.cumsum(0.5 * (w[1:] + w[:-1]) * (tt[1:] - tt[:-1]), 0)
        self.t_table = tt.to(self.dev)
        self.t_cdf = torch.cat([torch.zeros(1, dtype=torch.float64), cdf / cdf[-1]]).to(self.dev)
        # the same mixture over grid steps, for drift matching on paths
        self.step_probs = self.grid_step_probs(self.grid)

    def grid_step_probs(self, grid):
        """Probabilities of the grid steps drawn for drift matching: half in proportion to
        the step length, half to its likelihood weight :math:`g^2\\Delta/\\sigma^2`. The step
        loss is weighted :math:`\\sigma^2/(g^2\\Delta)` without a :math:`1/p_k` correction,
        so drift matching follows the same time weighting as :meth:`dsm_step` (docs/math.md,
        "Which objective the decoder follows")."""
        g = grid.double()
        t1, dt = g[1:], g[1:] - g[:-1]
        wk = (self.sde.diffusion(t1) / self.sde.sigma(t1)) ** 2 * dt
        return (0.5 * dt / dt.sum() + 0.5 * wk / wk.sum()).float()

    def sample_times(self, n):
        u = torch.rand(n, generator=self.gen, device=self.dev, dtype=torch.float64)
        i = torch.searchsorted(self.t_cdf, u).clamp(1, self.t_cdf.numel() - 1)
        c0, c1 = self.t_cdf[i - 1], self.t_cdf[i]
        t0, t1 = self.t_table[i - 1], self.t_table[i]
        t_lik = t0 + (u - c0) / (c1 - c0).clamp_min(1e-300) * (t1 - t0)
        t_uni = self.t_min + (self.sde.T - self.t_min) * torch.rand(
            n, generator=self.gen, device=self.dev, dtype=torch.float64
        )
        pick = torch.rand(n, generator=self.gen, device=self.dev) < 0.5
        return torch.where(pick, t_lik, t_uni).to(torch.float32)

    def sample_steps(self, n, probs):
        return torch.multinomial(probs, n, replacement=True, generator=self.gen)

    # ------------------------------------------------------------------ batches
    def rows(self, n_rows, size):
        return torch.randint(0, n_rows, (size,), generator=self.gen, device=self.dev)

    def train_batch(self):
        """A dequantised mini-batch of training rows (fresh draws)."""
        return self.dequantize(self.x_train[self.rows(self.x_train.shape[0], self.batch)])

    def dequantize(self, P):
        return dequantize(self.codec, P, generator=self.gen)[0]

    # ------------------------------------------------------------ decoder steps
    def dsm_step(self):
        """Denoising score matching, noise-prediction weighting :math:`\\sigma^2/g^2`."""
        x0 = self.train_batch()
        t = self.sample_times(x0.shape[0])
        noise = torch.randn(x0.shape, generator=self.gen, device=self.dev)
        weight = (self.sde.sigma(t) / self.sde.diffusion(t)) ** 2
        blocks = getattr(self.decoder, "blocks", None)
        ce = blocks is not None and CATEGORY_CE > 0
        if ce:
            blocks.record = True  # keep the levels' probabilities of this forward pass
        try:
            dsm = denoising_score_matching(self.sde, self.decoder, x0, t, noise)
            loss = (weight * dsm).mean()
            if ce:
                # the levels' cross-entropy at x_t: its minimiser is the exact posterior,
                # which the noise-prediction loss reaches only through a weight that
                # vanishes at large and small noise
                log_p = torch.log(blocks.last_p.clamp_min(1e-12))
                loss = loss + CATEGORY_CE * (-(blocks.levels(x0) * log_p).sum(1)).mean()
        finally:
            if ce:
                blocks.record, blocks.last_p = False, None
        self.trainer.update(loss)

    def dm_step(self, grid, x_k, u_k, xi, ks, cv=None):
        """Drift matching at one grid step per path, weighted like :meth:`dsm_step`: the
        antithetic pair, or with ``cv`` one sign plus the control variate.

        ``cv = (chain, x0, xr_k)``: add the reference-path control variate
        (:func:`~skbridge.sde.drift_matching_control_variate`; same expected gradient, less
        noise).
        """
        t_k, t_k1 = grid[ks], grid[ks + 1]
        # with the control variate, one sign instead of the antithetic pair: the same cost
        # (two decoder evaluations per row) and, on graphs, a third of the gradient variance
        # of antithetic drift matching (both signs of both terms: half, at twice the cost)
        anti = cv is None
        loss = drift_matching_loss(self.sde, self.decoder, x_k, u_k, xi, t_k, t_k1, antithetic=anti)
        if cv is not None:
            chain, x0, xr_k = cv
            loss = loss + drift_matching_control_variate(
                self.sde, self.decoder, chain, ks, x0, xr_k, xi, t_k1, antithetic=False
            )
        weight = (self.sde.sigma(t_k1) / self.sde.diffusion(t_k1)) ** 2 / (t_k1 - t_k)
        self.trainer.update((weight * loss).mean())

    def step_slices(self, grid, path, noise, rows, ks):
        """``X_k``, ``u_k``, ``xi_k`` for path ``rows`` at steps ``ks`` (path is (n, K+1, ...))."""
        x_k, x_k1, xi = path[rows, ks], path[rows, ks + 1], noise[rows, ks]
        t_k, t_k1 = grid[ks], grid[ks + 1]
        dt = rowwise(t_k1 - t_k, x_k)
        u_k = (x_k1 - x_k - rowwise(self.sde.diffusion(t_k), x_k) * dt.sqrt() * xi) / dt
        return x_k, u_k, xi

    # --------------------------------------------------------------- monitoring
    def neg_elbo_rows(self, which="val"):
        """Per-row -ELBO (nats, data units) of the fixed monitoring rows, fixed noise."""
        x, log_q, offset = self.monitor_sets[which]
        gen = torch_generator(self.val_seed, self.dev)
        with torch.no_grad():
            elbo = chain_elbo(self.sde, self.h, self.ema, x, self.grid, generator=gen)
        return -(elbo - log_q).cpu().double().numpy() - offset

    def monitor(self):
        """What a check records about the decoder: held-out (and training) -ELBO."""
        out = {"val_neg_elbo": float(np.mean(self.neg_elbo_rows("val")))}
        if self.settings.monitor_train:
            out["train_neg_elbo"] = float(np.mean(self.neg_elbo_rows("train")))
        return out

    # ------------------------------------------------------------------- phases
    def run(self, n_iters, step, phase, early_stopping=False):
        """``n_iters`` decoder iterations of ``step`` with checks of the held-out -ELBO."""
        self.trainer.run(
            n_iters,
            step,
            phase=phase,
            monitor=self.monitor,
            key="val_neg_elbo",
            early_stopping=early_stopping,
        )

    def run_decoder(self, n_iters, phase, early_stopping=False):
        """Train the decoder against the current encoder: denoising score matching for the
        reference (``h`` None), drift matching on cached paths for a learned encoder."""
        if self.h is None:
            self.run(n_iters, self.dsm_step, phase, early_stopping)
        else:
            self.run_cached_drift_matching(n_iters, early_stopping)

    def run_cached_drift_matching(self, n_iters, early_stopping):
        """Drift matching on cached paths of the frozen encoder, refreshed once consumed."""
        x = self.x_train
        chain = ReferenceChain(self.sde, self.grid) if self.settings.control_variate else None
        per_row = (self.K + 1) * self.x_val[0].numel() * (2 if chain is None else 3)
        n_cache = max(1, min(x.shape[0], _CACHE_FLOATS // per_row))
        cache = {}
        # a checkpoint keeps the generator's state before the last refresh and the cache's
        # use: a resumed fit rebuilds the same cache (the encoder is frozen)
        saved_cache = {"gen": None, "used": 0}
        self.trainer.extra_state["drift_matching_cache"] = saved_cache

        def refresh():
            saved_cache["gen"] = self.gen.get_state()
            rows = (
                self.rows(x.shape[0], n_cache)
                if n_cache < x.shape[0]
                else torch.arange(n_cache, device=self.dev)
            )
            with torch.no_grad():
                path, noise = encoder_chain(
                    self.sde, self.h, self.dequantize(x[rows]), self.grid, generator=self.gen
                )
            cache["path"], cache["noise"] = path.transpose(0, 1), noise.transpose(0, 1)
            if chain is not None:  # the reference path on the same x0 and noise
                cache["ref"] = chain.path(cache["path"][:, 0], cache["noise"])
            cache["used"] = 0

        refresh_every = max(1, math.ceil(n_cache * self.K / self.batch))

        def resume():
            resumed = self.trainer.restored_extra.pop("drift_matching_cache", None)
            if resumed is None or resumed["gen"] is None:
                return
            now = self.gen.get_state()
            self.gen.set_state(resumed["gen"])
            refresh()
            self.gen.set_state(now)
            cache["used"] = resumed["used"]

        def step():
            if not cache:
                resume()
            if not cache or cache["used"] >= refresh_every:
                refresh()
            cache["used"] += 1
            saved_cache["used"] = cache["used"]
            rows = self.rows(n_cache, self.batch)
            ks = self.sample_steps(self.batch, self.step_probs)
            path, noise = cache["path"], cache["noise"]
            cv = None if chain is None else (chain, path[rows, 0], cache["ref"][rows, ks])
            self.dm_step(self.grid, *self.step_slices(self.grid, path, noise, rows, ks), ks, cv)

        self.run(n_iters, step, "decoder", early_stopping)
