"""The diffusion estimators' shared machinery: fit schedule, sampling and chain-ELBO scoring.

:class:`~skbridge.SBVAE` and :class:`~skbridge.ScoreSDE` differ only in what they do with the
encoder; everything else (validation, standardisation, the decoder, the time grid, sampling,
``score_samples``) lives here so that both run exactly the same code.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._base import Progress, TrainingError, as_numpy, resolve_device, seed_from, torch_generator
from ..nets import drift_network
from ..sde import (
    ELBO_FORMS,
    REFERENCE_SDES,
    SAMPLERS,
    TIME_GRIDS,
    ReferenceChain,
    chain_elbo,
    decoder_chain,
    decoder_prior_score,
    denoising_score_matching,
    drift_matching_control_variate,
    drift_matching_loss,
    encoder_chain,
    make_reference_sde,
    mmd_rbf_to,
    plugin_diagnostics,
    predictor_corrector,
    prior_loss_surrogate,
    probability_flow,
    rbf_within_mean,
    time_grid,
)
from ..sde._simulate import _bcast
from ._base import GeneratorEstimator, dequantize, row_generators

__all__ = ["DiffusionEstimator"]

_SCORE_CHUNK = 4096
_SAMPLE_CHUNK = 65536
_VAL_ROWS = 256  # validation rows used for the monitored -ELBO and the prior mismatch
_LATENTS = 1024  # encoded validation latents (several paths per row) for the prior mismatch
_CACHE_FLOATS = 2**26  # at most 256 MB of cached float32 encoder paths


def _row_noise(rows: np.ndarray, seed: int, S: int, K: int, d: int, uniforms: bool, device):
    """Encoder noise (and dequantisation uniforms) for scoring, drawn per row from a hash.

    ``rows`` are the packed float32 rows, so a row's score does not depend on the other
    rows passed with it, their order, the chunking, or the units of the features (only
    float32 rounding remains). Returns the noise of shape ``(K, S * n, d)``, path-major like
    ``z.repeat(S, 1)``, and the uniforms ``(S * n, d)`` (or None).
    """
    n = rows.shape[0]
    noise = np.empty((S, K, n, d), dtype=np.float32)
    unif = np.empty((S, n, d), dtype=np.float32) if uniforms else None
    for i, rng in enumerate(row_generators(rows, seed)):
        noise[:, :, i, :] = rng.standard_normal((S, K, d), dtype=np.float32)
        if uniforms:
            unif[:, i, :] = rng.random((S, d), dtype=np.float32)
    noise = noise.transpose(1, 0, 2, 3).reshape(K, S * n, d)
    noise = torch.from_numpy(np.ascontiguousarray(noise)).to(device)
    if uniforms:
        unif = torch.from_numpy(unif.reshape(S * n, d)).to(device)
    return noise, unif


# SBVAE's encoder_criterion -> the history_ key of its statistic
_CRITERIA = {"mmd": "prior_mismatch", "gaussian_kl": "prior_kl", "elbo": "val_neg_elbo"}


def _gaussian_kl(z: torch.Tensor, prior_var: float) -> float:
    r"""KL from the moment-matched Gaussian of the rows of ``z`` to :math:`\mathcal N(0, vI)`.

    .. math:: \tfrac12\big(\mathrm{tr}\,S/v + \|m\|^2/v - d + d\log v - \log\det S\big)

    with the sample mean :math:`m` and covariance :math:`S` (its diagonal only when the
    dimension exceeds a quarter of the rows, where the full estimate is too noisy).
    """
    z = z.reshape(z.shape[0], -1).double()
    n, d = z.shape
    m = z.mean(0)
    zc = z - m
    if d <= n // 4:
        cov = zc.T @ zc / (n - 1)
        trace, logdet = cov.trace(), torch.linalg.slogdet(cov)[1]
    else:
        var = zc.pow(2).sum(0) / (n - 1)
        trace, logdet = var.sum(), var.log().sum()
    v = float(prior_var)
    kl = 0.5 * (trace / v + m.dot(m) / v - d + d * math.log(v) - logdet)
    return float(kl)


class _NoiseDecoder(nn.Module):
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

    def __init__(self, net: nn.Module, sde):
        super().__init__()
        self.net = net
        self.sde = sde

    def forward(self, t, x):
        scale = self.sde.diffusion(t) / self.sde.sigma(t).clamp_min(1e-4)
        return _bcast(scale, x) * self.net(t, x)


class _Fit:
    """One training run. Works on its own copies; the estimator adopts them only on success."""

    def __init__(self, est, sde, grid, encoder, decoder, codec, x_train, x_val, offsets, seeds):
        self.est, self.sde, self.grid = est, sde, grid
        self.K = grid.numel() - 1
        self.encoder, self.decoder = encoder, decoder
        self.codec = codec
        self.x_train = x_train  # packed rows (see TabularCodec.encode), dequantised per batch
        self.dev = x_train.device
        self.gen = torch_generator(seeds[0], self.dev)
        self.val_seed = int(seeds[1])
        # validation rows: one fixed dequantised draw, so the monitored -ELBO is comparable
        val_offset, train_offset = offsets
        x_val = x_val[:_VAL_ROWS]
        self.x_val, self.val_log_q = dequantize(
            codec, x_val, generator=torch_generator(self.val_seed + 3, self.dev)
        )
        # the monitored -ELBO costs a K-step chain per row: fewer rows in high dimensions
        # (256 up to d = 64, e.g. 54 for 60-token DNA strings), the same rows every check;
        # at least 32, unless a check would then cost more than a quarter of the network
        # evaluations of the training steps between two checks (3 per row and step: forward
        # and backward), but at least 4: large graphs trained in small batches (32 grids of
        # 361 nodes are minutes of chains per check)
        check_every = max(1, int(est.max_iter) // 20)
        batch = min(int(est.batch_size), x_train.shape[0])
        affordable = 3 * check_every * batch // (4 * self.K)
        floor = min(32, max(4, affordable))
        self.n_monitor = min(x_val.shape[0], max(floor, min(_VAL_ROWS, 16384 // codec.n_latent_)))
        m = self.n_monitor
        self.monitor_sets = {"val": (self.x_val[:m], self.val_log_q[:m], val_offset[:m])}
        # the training -ELBO too, on as many fixed training rows (est._monitor_train, set by
        # benchmarks/paper.py for its overfitting curves; it doubles the monitoring cost)
        self.monitor_train = bool(getattr(est, "_monitor_train", False))
        if self.monitor_train:
            x_tr, log_q_tr = dequantize(
                codec, x_train[:m], generator=torch_generator(self.val_seed + 4, self.dev)
            )
            self.monitor_sets["train"] = (x_tr, log_q_tr, train_offset[:m])
        self.dec_opt = torch.optim.Adam(decoder.parameters(), lr=est.learning_rate)
        # exponential moving average of the decoder's weights: what is monitored and kept
        self.ema = copy.deepcopy(decoder).requires_grad_(False)
        self.ema_decay = float(est.ema_decay)
        self.enc_opt = None
        self.h = None  # None: the encoder is the reference (h = 0), so skip evaluating it
        self.it = 0
        self.t_start = time.perf_counter()
        self.monitor_s = 0.0  # seconds spent on checks (monitoring), recorded in history
        self.history: list[dict] = []
        self.loss_sum, self.loss_n = 0.0, 0
        self.best_val, self.best_dec_state, self.no_improve = math.inf, None, 0
        self.stopped_early = False
        n_enc_steps = getattr(est, "encoder_n_steps", None)
        self.enc_grid = (
            grid
            if n_enc_steps is None or n_enc_steps >= self.K
            else time_grid(
                sde.T, n_enc_steps, spacing=est.time_grid, device=grid.device, dtype=grid.dtype
            )
        )
        self._build_time_sampler()
        # drift matching's reference-path control variate (SBVAE's control_variate)
        self.control_variate = bool(getattr(est, "control_variate", False))
        self._enc_chain = ReferenceChain(sde, self.enc_grid) if self.control_variate else None
        n = x_train.shape[0]
        self.batch = min(int(est.batch_size), n)
        self.check_every = check_every
        self.progress = Progress(int(est.max_iter), int(est.verbose), type(est).__name__)

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
        self.step_probs = self._step_probs(self.grid)
        self.enc_step_probs = self._step_probs(self.enc_grid)

    def _step_probs(self, grid):
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
    def _rows(self, n_rows, size):
        return torch.randint(0, n_rows, (size,), generator=self.gen, device=self.dev)

    def _train_batch(self):
        return self.dequantize(self.x_train[self._rows(self.x_train.shape[0], self.batch)])

    def dequantize(self, P):
        return dequantize(self.codec, P, generator=self.gen)[0]

    # ------------------------------------------------------------ decoder steps
    def _decoder_update(self, loss):
        value = float(loss.detach())
        if not math.isfinite(value):
            raise TrainingError(
                f"non-finite decoder loss at iteration {self.it + 1}; the model was left as it "
                "was before this fit. Try a smaller learning_rate, or check the data scale."
            )
        self.dec_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.dec_opt.step()
        with torch.no_grad():
            for p_ema, p in zip(self.ema.parameters(), self.decoder.parameters(), strict=True):
                p_ema.lerp_(p, 1.0 - self.ema_decay)
        self.loss_sum += value
        self.loss_n += 1

    def dsm_step(self):
        """Denoising score matching, noise-prediction weighting :math:`\\sigma^2/g^2`."""
        x0 = self._train_batch()
        t = self.sample_times(x0.shape[0])
        noise = torch.randn(x0.shape, generator=self.gen, device=self.dev)
        weight = (self.sde.sigma(t) / self.sde.diffusion(t)) ** 2
        loss = (weight * denoising_score_matching(self.sde, self.decoder, x0, t, noise)).mean()
        self._decoder_update(loss)

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
        self._decoder_update((weight * loss).mean())

    def _step_slices(self, grid, path, noise, rows, ks):
        """``X_k``, ``u_k``, ``xi_k`` for path ``rows`` at steps ``ks`` (path is (n, K+1, ...))."""
        x_k, x_k1, xi = path[rows, ks], path[rows, ks + 1], noise[rows, ks]
        t_k, t_k1 = grid[ks], grid[ks + 1]
        dt = _bcast(t_k1 - t_k, x_k)
        u_k = (x_k1 - x_k - _bcast(self.sde.diffusion(t_k), x_k) * dt.sqrt() * xi) / dt
        return x_k, u_k, xi

    # --------------------------------------------------------------- monitoring
    def neg_elbo_rows(self, which="val"):
        """Per-row -ELBO (nats, data units) of the fixed monitoring rows, fixed noise."""
        x, log_q, offset = self.monitor_sets[which]
        gen = torch_generator(self.val_seed, self.dev)
        with torch.no_grad():
            elbo = chain_elbo(self.sde, self.h, self.ema, x, self.grid, generator=gen)
        return -(elbo - log_q).cpu().double().numpy() - offset

    def val_neg_elbo(self):
        return float(np.mean(self.neg_elbo_rows("val")))

    def monitor(self):
        """What a check records about the decoder: held-out (and training) -ELBO."""
        t0 = time.perf_counter()
        out = {"val_neg_elbo": self.val_neg_elbo()}
        if self.monitor_train:
            out["train_neg_elbo"] = float(np.mean(self.neg_elbo_rows("train")))
        self.monitor_s += time.perf_counter() - t0
        return out

    def record(self, phase, **extra):
        entry = {
            "iteration": self.it,
            "time": time.perf_counter() - self.t_start,
            "phase": phase,
            "loss": self.loss_sum / max(self.loss_n, 1),
            "monitor_time": self.monitor_s,
        }
        entry.update(extra)
        self.history.append(entry)
        self.loss_sum, self.loss_n = 0.0, 0
        return entry

    def run_decoder(self, n_iters, step, phase, early_stopping):
        """``n_iters`` decoder iterations with checks, history and (optional) early stopping."""
        done = 0
        while done < n_iters and not self.stopped_early:
            step()
            self.it += 1
            done += 1
            if self.it % self.check_every == 0 or done == n_iters:
                entry = self.record(phase, **self.monitor())
                val = entry["val_neg_elbo"]
                self.progress.update(
                    self.check_every, {"phase": phase, "loss": entry["loss"], "val_-elbo": val}
                )
                if early_stopping:
                    self._early_stopping_check(val)
        if early_stopping and self.best_dec_state is not None:
            self.ema.load_state_dict(self.best_dec_state)
            self.decoder.load_state_dict(self.best_dec_state)

    def _early_stopping_check(self, val):
        est = self.est
        if val < self.best_val - est.tol:
            self.no_improve = 0
        else:
            self.no_improve += 1
        if val < self.best_val:
            self.best_val = val
            self.best_dec_state = copy.deepcopy(self.ema.state_dict())
        if self.no_improve >= est.n_iter_no_change:
            self.stopped_early = True

    # ------------------------------------------------------------ encoder phase
    def encoder_statistics(self, prior_draws, gen_seed, criterion):
        r"""The decoder-independent prior-mismatch statistics of the current encoder.

        The validation rows are encoded (several paths each, fixed noise) to :math:`X_T`:
        ``prior_mismatch`` is their unbiased RBF-MMD² to fixed draws from :math:`\pi`,
        ``prior_kl`` the KL from the moment-matched Gaussian of :math:`X_T` to :math:`\pi`,
        ``energy`` :math:`\tfrac12 E\|X_T\|^2` (the runaway check). With ``criterion="elbo"``
        (or the training curves monitored) the held-out -ELBO is added.
        """
        t0 = time.perf_counter()
        x = self.x_val
        x = x.repeat(max(1, _LATENTS // x.shape[0]), *([1] * (x.dim() - 1)))
        gen = torch_generator(gen_seed, self.dev)
        with torch.no_grad():
            path, _ = encoder_chain(self.sde, self.h, x, self.grid, generator=gen)
            z = path[-1]
            out = {
                "prior_mismatch": float(mmd_rbf_to(z, prior_draws, self.prior_within)),
                "prior_kl": _gaussian_kl(z, self.sde.prior_var),
                "energy": float(0.5 * z.pow(2).reshape(z.shape[0], -1).sum(-1).mean()),
            }
        self.monitor_s += time.perf_counter() - t0
        if criterion == "elbo" or self.monitor_train:
            out.update(self.monitor())
        return out

    def encoder_step(self):
        """One encoder update by the prior-loss surrogate (or the chain -ELBO), then decoder steps."""
        est, sde = self.est, self.sde
        x0 = self._train_batch()
        if est.encoder_gradient == "prior":
            path, noise = encoder_chain(sde, self.encoder, x0, self.enc_grid, generator=self.gen)
            z = path[-1]
            with torch.no_grad():
                score_hat = decoder_prior_score(sde, self.encoder, self.decoder, z)
            loss = prior_loss_surrogate(z, score_hat, sde.prior_score(z))
        else:
            self.decoder.requires_grad_(False)
            try:
                elbo, path, noise = chain_elbo(
                    sde,
                    self.encoder,
                    self.decoder,
                    x0,
                    self.enc_grid,
                    generator=self.gen,
                    return_path=True,
                )
            finally:
                self.decoder.requires_grad_(True)
            loss = -elbo.mean()
        if not math.isfinite(float(loss.detach())):
            return False
        self.enc_opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.encoder.parameters(), 1.0)
        self.enc_opt.step()
        path, noise = path.detach().transpose(0, 1), noise.transpose(0, 1)
        n = path.shape[0]
        rows = torch.arange(n, device=self.dev)
        chain = self._enc_chain
        ref = None if chain is None else chain.path(path[:, 0], noise)
        for _ in range(est.n_decoder_steps):
            # every fourth path trains k at t = T, the decoder's score estimate the encoder uses
            ks = self.sample_steps(n, self.enc_step_probs)
            at_T = torch.rand(n, generator=self.gen, device=self.dev) < 0.25
            ks = torch.where(at_T, torch.full_like(ks, self.enc_grid.numel() - 2), ks)
            cv = None if chain is None else (chain, path[:, 0], ref[rows, ks])
            self.dm_step(
                self.enc_grid, *self._step_slices(self.enc_grid, path, noise, rows, ks), ks, cv
            )
            self.it += 1
        return True

    def run_encoder_phase(self, budget):
        """Alternate encoder and decoder steps; interrupt on the stopping statistic."""
        est, sde = self.est, self.sde
        mode = est.encoder
        criterion = est.encoder_criterion
        key = _CRITERIA[criterion]
        d = self.x_val[0].numel()
        n_val = self.x_val.shape[0]
        n_lat = n_val * max(1, _LATENTS // n_val)
        event = tuple(self.x_val.shape[1:])
        pg = torch_generator(self.val_seed + 1, self.dev)
        prior_a = sde.prior_sample((2 * _LATENTS, *event), generator=pg, device=self.dev)
        self.prior_within = rbf_within_mean(prior_a, unbiased=True)  # fixed: computed once
        stats = self.encoder_statistics(prior_a, self.val_seed + 2, criterion)
        ref_stat = stats[key]
        # noise floor of the statistic: twice its spread between independent prior draws of
        # the validation latents' size (MMD, KL), or twice the standard error of the
        # held-out -ELBO's mean (elbo)
        if criterion == "elbo":
            rows = self.neg_elbo_rows("val")
            floor = 2.0 * float(np.std(rows, ddof=1) / np.sqrt(rows.size))
        else:
            nulls = []
            for _ in range(8):
                draws = sde.prior_sample((n_lat, *event), generator=pg, device=self.dev)
                nulls.append(
                    float(mmd_rbf_to(draws, prior_a, self.prior_within))
                    if criterion == "mmd"
                    else _gaussian_kl(draws, sde.prior_var)
                )
            floor = 2.0 * float(np.std(nulls, ddof=1))
        stats.pop("energy")
        self.record("encoder", encoder_iter=0, **stats)
        # the decoder as warm-up left it: restored if the reference encoder is kept, so that
        # the decoder then gets exactly ScoreSDE's training (max_iter DSM steps)
        warm_state = (
            copy.deepcopy(self.decoder.state_dict()),
            copy.deepcopy(self.ema.state_dict()),
            copy.deepcopy(self.dec_opt.state_dict()),
            self.it,
        )
        self.h = self.encoder
        self.enc_opt = torch.optim.Adam(self.encoder.parameters(), lr=est.encoder_learning_rate)
        ref_state = copy.deepcopy(self.encoder.state_dict())
        best_stat, best_iter, best_state = ref_stat, 0, ref_state
        patience_ref, no_improve, n_enc, diverged = ref_stat, 0, 0, False
        interval = est.validation_interval
        while self.it + est.n_decoder_steps <= budget:
            if mode == "interrupt" and n_enc >= est.encoder_max_iter:
                break
            if not self.encoder_step():
                diverged = True
                break
            n_enc += 1
            if n_enc % interval:
                continue
            stats = self.encoder_statistics(prior_a, self.val_seed + 2, criterion)
            stat, energy = stats[key], stats.pop("energy")
            entry = self.record("encoder", encoder_iter=n_enc, **stats)
            self.progress.update(
                interval * est.n_decoder_steps,
                {"phase": "encoder", key: stat, "loss": entry["loss"]},
            )
            runaway = energy > 100.0 * d * sde.prior_var or (
                criterion != "elbo" and stat > 4.0 * max(ref_stat, floor)
            )
            if not math.isfinite(stat) or runaway:
                diverged = True  # the encoder ran away (SPEC §3): stop and restore the best
                break
            if stat < best_stat:
                best_stat, best_iter = stat, n_enc
                best_state = copy.deepcopy(self.encoder.state_dict())
            if stat < patience_ref - est.encoder_tol * abs(patience_ref):
                patience_ref, no_improve = stat, 0
            else:
                no_improve += 1
            if (
                mode == "interrupt"
                and n_enc >= est.encoder_min_iter
                and no_improve >= est.encoder_n_iter_no_change
            ):
                break
        if diverged:
            warnings.warn(
                f"the encoder diverged after {n_enc} encoder steps; the best encoder seen "
                f"(step {best_iter}) was restored. A smaller encoder_learning_rate may help.",
                RuntimeWarning,
                stacklevel=4,
            )
        if mode == "joint" and not diverged:
            # never interrupted: the trained encoder is kept whatever its statistic says
            best_stat = self.encoder_statistics(prior_a, self.val_seed + 2, criterion)[key]
            best_iter = n_enc
        else:
            self.encoder.load_state_dict(best_state)
        gain = ref_stat - best_stat
        improved = gain > est.encoder_tol * abs(ref_stat) and gain > floor
        keep = improved or (mode == "joint" and not diverged)
        if not keep:
            self.encoder.load_state_dict(ref_state)
            self.h = None
            best_stat, best_iter = ref_stat, 0
            self.decoder.load_state_dict(warm_state[0])
            self.ema.load_state_dict(warm_state[1])
            self.dec_opt.load_state_dict(warm_state[2])
        self.encoder.requires_grad_(False)
        self.enc_opt = None
        return {
            "encoder_stopped_iter": n_enc,
            "encoder_best_iter": best_iter,
            "encoder_improved": bool(improved),
            "encoder_kept": bool(keep),
            "prior_mismatch": best_stat,
            "reference_prior_mismatch": ref_stat,
            "prior_mismatch_floor": floor,
            # decoder iterations of the encoder phase whose result was discarded
            "discarded_iter": 0 if keep else self.it - warm_state[3],
        }

    # ------------------------------------------------------------ decoder phase
    def run_cached_drift_matching(self, n_iters, early_stopping):
        """Drift matching on cached paths of the frozen encoder, refreshed once consumed."""
        x = self.x_train
        chain = ReferenceChain(self.sde, self.grid) if self.control_variate else None
        per_row = (self.K + 1) * self.x_val[0].numel() * (2 if chain is None else 3)
        n_cache = max(1, min(x.shape[0], _CACHE_FLOATS // per_row))
        cache = {}

        def refresh():
            rows = (
                self._rows(x.shape[0], n_cache)
                if n_cache < x.shape[0]
                else torch.arange(n_cache, device=self.dev)
            )
            with torch.no_grad():
                path, noise = encoder_chain(
                    self.sde, self.encoder, self.dequantize(x[rows]), self.grid, generator=self.gen
                )
            cache["path"], cache["noise"] = path.transpose(0, 1), noise.transpose(0, 1)
            if chain is not None:  # the reference path on the same x0 and noise
                cache["ref"] = chain.path(cache["path"][:, 0], cache["noise"])
            cache["used"] = 0

        refresh_every = max(1, math.ceil(n_cache * self.K / self.batch))

        def step():
            if not cache or cache["used"] >= refresh_every:
                refresh()
            cache["used"] += 1
            rows = self._rows(n_cache, self.batch)
            ks = self.sample_steps(self.batch, self.step_probs)
            path, noise = cache["path"], cache["noise"]
            cv = None if chain is None else (chain, path[rows, 0], cache["ref"][rows, ks])
            self.dm_step(self.grid, *self._step_slices(self.grid, path, noise, rows, ks), ks, cv)

        self.run_decoder(n_iters, step, "decoder", early_stopping)


class DiffusionEstimator(GeneratorEstimator):
    """Base class of the diffusion generators (not public: use SBVAE or ScoreSDE)."""

    _torch_attributes = ("encoder_", "decoder_")

    _parameter_constraints: dict = {
        **GeneratorEstimator._parameter_constraints,
        "sde": [StrOptions(set(REFERENCE_SDES))],
        "beta_min": [Interval(Real, 0, None, closed="neither")],
        "beta_max": [Interval(Real, 0, None, closed="neither")],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "T": [Interval(Real, 0, None, closed="neither")],
        "n_steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "time_grid": [StrOptions(set(TIME_GRIDS))],
        "hidden_layer_sizes": [StrOptions({"auto"}), tuple],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "ema_decay": [Interval(Real, 0, 1, closed="left")],
        "sampler": [StrOptions({"auto", *SAMPLERS})],
        "corrector_snr": [Interval(Real, 0, None, closed="left")],
        "n_elbo_samples": [Interval(Integral, 1, None, closed="left")],
        "elbo_form": [StrOptions(set(ELBO_FORMS))],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    # what the subclass does with the encoder: "frozen", "interrupt" or "joint"
    def _encoder_mode(self) -> str:
        return "frozen"

    # ----------------------------------------------------------------- fitting
    def _fit(self, X):
        warm = bool(self.warm_start) and hasattr(self, "decoder_")
        codec, P, offset = self._encode_fit(X, warm)
        mode = self._encoder_mode()
        dev = resolve_device(self.device)
        rng = np.random.RandomState(seed_from(self.random_state))
        seeds = rng.randint(0, 2**31 - 1, size=4)

        Z = torch.as_tensor(P, dtype=torch.float32, device=dev)
        n, d = Z.shape[0], codec.n_latent_
        n_val = int(round(self.validation_fraction * n))
        # monitored training curves (benchmarks/paper.py) need held-out rows for every model
        needs_val = (
            self.early_stopping or mode != "frozen" or getattr(self, "_monitor_train", False)
        )
        if needs_val and n_val >= 2 and n - n_val >= 2:
            perm = rng.permutation(n)
            x_val, x_train = Z[perm[:n_val]], Z[perm[n_val:]]
            offsets = (offset[perm[:n_val]], offset[perm[n_val:]])
        else:  # too few rows to hold some out: monitor on the training rows
            x_train = x_val = Z
            offsets = (offset, offset)

        sde = make_reference_sde(
            self.sde, beta_min=self.beta_min, beta_max=self.beta_max, sigma=self.sigma, T=self.T
        )
        grid = self._grid(codec, dev)
        if warm:
            encoder = copy.deepcopy(self.encoder_).to(dev)
            decoder = copy.deepcopy(self.decoder_).to(dev).requires_grad_(True)
            decoder.sde = sde
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seeds[2]))
                hidden = self.hidden_layer_sizes
                encoder = drift_network(codec, d, hidden, T=self.T, zero_init=True)
                decoder = _NoiseDecoder(drift_network(codec, d, hidden, T=self.T), sde)
            encoder, decoder = encoder.to(dev), decoder.to(dev)
        encoder_was_trained = warm and getattr(self, "_encoder_kept", False)

        run = _Fit(self, sde, grid, encoder, decoder, codec, x_train, x_val, offsets, seeds)
        if encoder_was_trained:
            run.h = encoder
        info = {
            "encoder_stopped_iter": getattr(self, "encoder_stopped_iter_", 0) if warm else 0,
            "encoder_best_iter": getattr(self, "encoder_best_iter_", 0) if warm else 0,
            "encoder_improved": bool(warm and self.encoder_improved_),
            "encoder_kept": bool(encoder_was_trained),
        }
        try:
            max_iter = int(self.max_iter)
            if mode == "frozen" or warm:
                phase = "decoder" if warm else "score"
                if run.h is None:
                    run.run_decoder(max_iter, run.dsm_step, phase, self.early_stopping)
                else:
                    run.run_cached_drift_matching(max_iter, self.early_stopping)
            else:
                n_warm = int(round(self.warmup_fraction * max_iter))
                run.run_decoder(n_warm, run.dsm_step, "warmup", False)
                info.update(run.run_encoder_phase(max_iter))
                left = max_iter - run.it + info["discarded_iter"]
                run.progress.extend(info["discarded_iter"])
                if run.h is None:
                    run.run_decoder(left, run.dsm_step, "decoder", self.early_stopping)
                else:
                    run.run_cached_drift_matching(left, self.early_stopping)
        finally:
            run.progress.close()

        decoder = run.ema
        encoder.requires_grad_(False)
        # adopt the results only now: any failure above leaves the estimator untouched
        self.device_ = dev
        self.codec_ = codec
        self.sde_ = sde
        self.encoder_ = encoder
        self.decoder_ = decoder
        done_before = self.n_iter_ if warm else 0
        for entry in run.history:  # iterations count across warm-started fits
            entry["iteration"] += done_before
        self.n_iter_ = run.it + done_before
        self.history_ = (list(self.history_) if warm else []) + run.history
        self.encoder_stopped_iter_ = info["encoder_stopped_iter"]
        self.encoder_best_iter_ = info["encoder_best_iter"]
        self.encoder_improved_ = info["encoder_improved"]
        self._encoder_kept = info["encoder_kept"]
        for key in ("prior_mismatch", "reference_prior_mismatch"):
            if key in info:
                setattr(self, key + "_", info[key])
        self._score_seed = int(seeds[3])
        return self

    # --------------------------------------------------------------- inference
    def _h(self):
        return self.encoder_ if self._encoder_kept else None

    def _n_steps(self, codec=None):
        """The grid's ``K``: ``n_steps``, with ``"auto"`` resolved by the codec
        (``default_n_steps``: 300 for graphs without edge attributes, else 100). Read at
        ``sample`` and ``score_samples`` time too, so ``set_params(n_steps=...)`` after a fit
        changes the sampling grid (a score-matching decoder is trained in continuous time)."""
        if self.n_steps != "auto":
            return int(self.n_steps)
        codec = self.codec_ if codec is None else codec
        return int(getattr(codec, "default_n_steps", 100))

    def _grid(self, codec=None, device=None):
        """The ``K + 1`` grid times (the fitted codec and device unless given: fit passes
        its own before they are adopted)."""
        device = self.device_ if device is None else device
        return time_grid(
            self.T, self._n_steps(codec), spacing=self.time_grid, device=device, dtype=torch.float32
        )

    def _sampler(self):
        """The sampler ``sample`` runs: ``sampler``, with ``"auto"`` resolved to ``"pc"``
        where the codec asks for it (``GraphCodec.default_sampler``: graphs without edge
        attributes) and the decoder was trained by denoising score matching (the reference
        encoder), else ``"sde"``.
        With a kept SB-VAE encoder the corrector's score is the difference of two networks
        and made graph samples worse (benchmarks/README.md)."""
        if self.sampler != "auto":
            return self.sampler
        wants = getattr(self.codec_, "default_sampler", "sde")
        return "pc" if wants == "pc" and self._h() is None else "sde"

    def _generate(self, n, gen):
        """Reverse Euler–Maruyama from :math:`X_T \\sim \\pi` over ``n_steps`` steps
        (``sampler="sde"``), the same with a Langevin corrector step before each step
        (``sampler="pc"``), or the probability-flow ODE (``sampler="ode"``); see
        :meth:`_sampler` for ``"auto"``."""
        sampler = self._sampler()
        grid = self._grid()
        out = []
        for start in range(0, n, _SAMPLE_CHUNK):
            m = min(_SAMPLE_CHUNK, n - start)
            z = self.sde_.prior_sample(
                (m, self.codec_.n_latent_), generator=gen, device=self.device_
            )
            if sampler == "ode":
                x = probability_flow(self.sde_, self._h(), self.decoder_, z, grid)
            elif sampler == "pc":
                x = predictor_corrector(
                    self.sde_,
                    self._h(),
                    self.decoder_,
                    z,
                    grid,
                    snr=float(self.corrector_snr),
                    generator=gen,
                )
            else:
                x = decoder_chain(self.sde_, self.decoder_, z, grid, generator=gen)
            out.append(x)
        return torch.cat(out)

    def _log_density(self, P):
        """Chain ELBO of the ``n_steps``-step decoder chain (SPEC.md §2), averaged over
        ``n_elbo_samples`` encoder paths (and dequantisation draws) per row."""
        grid = self._grid()
        K, S = grid.numel() - 1, int(self.n_elbo_samples)
        d = self.codec_.n_latent_
        discrete = self.codec_.has_discrete_
        gen = torch_generator(self._score_seed, self.device_)  # Hutchinson probes only
        out = []
        chunk = max(1, _SCORE_CHUNK // S)
        with torch.no_grad():
            for start in range(0, P.shape[0], chunk):
                p = P[start : start + chunk]
                noise, unif = _row_noise(
                    p.cpu().numpy(), self._score_seed, S, K, d, discrete, p.device
                )
                rep = p.repeat(S, 1)
                v, log_q = dequantize(self.codec_, rep, u=unif)
                elbo = chain_elbo(
                    self.sde_,
                    self._h(),
                    self.decoder_,
                    v,
                    grid,
                    form=self.elbo_form,
                    generator=gen,
                    noise=noise,
                )
                out.append(as_numpy((elbo - log_q).reshape(S, -1).mean(0)))
        return np.concatenate(out)

    def diagnostics(self, X):
        """Plug-in diagnostics on ``X``: ``{"neg_elbo", "prior_term", "drift_term"}`` (nats).

        ``prior_term`` estimates :math:`H(\\mu) + \\mathrm{PL}` and ``drift_term`` the rest of
        :math:`-\\mathrm{ELBO}` (SPEC.md §2). They are first-order accurate in the decoder's
        error and are **not** bounds: ``drift_term`` can come out negative. With discrete
        columns, ``prior_term`` is evaluated at one dequantisation draw per row.
        """
        check_is_fitted(self)
        P, offset = self._encode(X)
        P = torch.as_tensor(P, dtype=torch.float32, device=self.device_)
        gen = torch_generator(self._score_seed, self.device_)
        v, log_q = dequantize(self.codec_, P, generator=gen)
        neg_elbo = -float(np.mean(self._log_density(P) + offset))
        prior = float(
            plugin_diagnostics(self.sde_, self._h(), self.decoder_, v, self._grid(), generator=gen)
        )
        prior += float(log_q.mean()) - float(np.mean(offset))
        return {"neg_elbo": neg_elbo, "prior_term": prior, "drift_term": neg_elbo - prior}
