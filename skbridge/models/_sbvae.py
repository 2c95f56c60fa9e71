"""SBVAE: the Schrödinger-bridge-type diffusion model read as a VAE (Kaba et al., 2025).

The estimator, and the whole SB-VAE algorithm (:class:`EncoderPhase`): the decoder-independent
prior-mismatch statistics, the encoder step, the encoder phase with its interruption, and
the restore of the best (or the reference) encoder. The decoder side is shared with
ScoreSDE (``_decoder.py``).
"""

from __future__ import annotations

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from .. import distributed
from .._base import EncoderNotKeptWarning, torch_generator
from ..sde import (
    ReferenceChain,
    chain_elbo,
    decoder_prior_score,
    encoder_chain,
    kernel_mean_multiscale,
    mmd2_multiscale,
    mmd2_multiscale_to,
    moment_matched_kl,
    prior_loss_surrogate,
    time_grid,
)
from ._decoder import DecoderTraining
from ._diffusion import DiffusionEstimator

__all__ = ["SBVAE", "EncoderPhase", "CRITERIA", "encoder_loss"]

_LATENTS = 1024  # encoded validation latents (several paths per row) for the prior mismatch
# prior draws whose statistic's spread sets the noise floor: with 8 the floor's estimate
# ranged 0.0010-0.0031 over seeds on two moons (true value about 0.0022-0.0025), and
# encoders below the true floor were kept; 32 make its relative error about 13%
_NULL_DRAWS = 32

# encoder_criterion -> the history_ key of its statistic
CRITERIA = {"mmd": "prior_mismatch", "gaussian_kl": "prior_kl", "elbo": "val_neg_elbo"}


class SBVAE(DiffusionEstimator):
    r"""SB-VAE: a diffusion model with a learned forward (encoder) SDE, as a density estimator.

    The encoder :math:`dX = (f + g\,h_\phi)\,dt + g\,dW` carries data to the prior; the
    decoder :math:`s_\theta = f + g\,k_\theta` runs it back. The whole path is the VAE's latent
    and the negative ELBO splits into a *prior loss* :math:`\mathrm{KL}(p_\phi\|\pi)`, which
    trains the encoder, and *drift matching*, which trains the decoder (docs/math.md).

    Training (docs/math.md): (0) if the reference already carries the validation rows to
    the prior within the noise floor of the statistic below, no encoder could be kept and
    the encoder phase is skipped (``encoder_skip_at_floor``); (1) warm-up, ``warmup_fraction`` of ``max_iter``: the encoder is
    the reference and the decoder learns by denoising score matching; (2) encoder phase:
    each encoder step (prior-loss surrogate through the reparameterised path, or the chain
    −ELBO) is followed by ``n_decoder_steps`` drift-matching steps on its detached paths;
    every ``validation_interval`` encoder steps a decoder-independent statistic (RBF-MMD
    between encoded validation rows at :math:`T` and fixed draws from :math:`\pi`) is
    measured; (3) interruption: once it has not improved by a relative ``encoder_tol`` for
    ``encoder_n_iter_no_change`` checks (after ``encoder_min_iter`` steps), or after
    ``encoder_max_iter`` steps, the best encoder is restored and frozen. If it did not beat
    the reference by more than the statistic's noise floor, the reference is restored
    (``encoder_improved_ = False``; an :class:`~skbridge.EncoderNotKeptWarning` says so and
    ``history_`` records it), the decoder goes back to its end-of-warm-up state and
    trains by denoising score matching for the rest of the ``max_iter`` DSM steps: it then
    gets exactly ScoreSDE's training, and the encoder phase costs only time (``n_iter_``
    counts its discarded steps too); (4) decoder phase: drift matching on cached encoder
    paths (``control_variate``: with a zero-mean control variate, docs/math.md).

    Parameters
    ----------
    encoder : {"interrupt", "joint", "frozen"}, default="interrupt"
        ``"interrupt"``: the paper's scheme above. ``"joint"``: the encoder trains for the
        whole budget after warm-up, never interrupted, and is kept (on a finite sample it
        drifts toward mapping the training points onto the prior). ``"frozen"``: never trained (a
        :class:`ScoreSDE`).
    encoder_gradient : {"prior", "elbo", "mmd"}, default="prior"
        ``"prior"``: the prior-loss surrogate with the decoder's score estimate at :math:`T`.
        ``"elbo"``: the gradient of the whole chain −ELBO through the path (bound-preserving,
        about twice the cost). ``"mmd"``: the unbiased RBF-MMD² (bandwidths as the
        interruption statistic's) between the batch's latents at :math:`T` and fresh draws
        from :math:`\pi`, through the path: a divergence that is zero only at
        :math:`p_\phi = \pi`, estimated without the decoder. On correlated Gaussian data
        under VP ``beta_max=1, T=0.3`` (prior KL 0.59 nats) it took the latents' KL to
        0.0083 ± 0.002 (floor 0.0031; 3 seeds) and the plateau rule stopped it, where the
        prior-loss surrogate reached 0.47 and ran away, also with four times the decoder
        steps per encoder step: the decoder's score at :math:`T` it relies on degrades as
        the encoder moves (docs/paper.md, §5). On two moons and the 16-D mixture (same reference, one seed) it
        removed 59% and 30% of the reference's MMD² to the prior before its plateau, and
        the samples stayed limited by the rest: not the default.
    encoder_n_steps : int or None, default=25
        Grid steps of the encoder-phase paths (the encoder's gradient path and the decoder's
        drift-matching steps on it). A coarser grid than ``n_steps`` makes an encoder step
        about ``n_steps / encoder_n_steps`` times cheaper; the interruption statistic, the
        decoder phase, sampling and scoring use ``n_steps``. None: ``n_steps``.
    encoder_learning_rate : float, default=1e-3
        Adam step size of the encoder (gradient norm clipped at 1). A reference prototype
        advised <= 1e-4; here 1e-4 and 3e-4 did not move the prior mismatch measurably
        within 100 encoder steps, 1e-3 halved it within 50 (benchmarks/README.md). A
        runaway encoder (mismatch above 4x the reference's) is stopped and the best
        encoder restored.
    warmup_fraction : float, default=0.25
    encoder_max_iter : int, default=250
    encoder_min_iter : int, default=30
    n_decoder_steps : int, default=4
        Decoder drift-matching steps per encoder step. 0 (only with
        ``encoder_gradient="mmd"``, the one gradient that does not read the decoder): the
        encoder phase trains the encoder alone, for at most ``encoder_max_iter`` steps,
        and the decoder learns the kept encoder's paths in the decoder phase; an encoder
        step then costs the encoder update only.
    validation_interval : int, default=10
        Encoder steps between two measurements of the prior mismatch.
    encoder_tol : float, default=0.02
        Relative improvement of the prior mismatch that counts as progress.
    encoder_n_iter_no_change : int, default=3
        Checks without progress before the encoder is interrupted.
    encoder_criterion : {"mmd", "gaussian_kl", "elbo"}, default="mmd"
        The statistic the interruption watches (and the one the kept encoder must beat the
        reference on). ``"mmd"``: unbiased RBF-MMD² between encoded validation rows at
        :math:`T` and fixed draws from :math:`\pi`. ``"gaussian_kl"``: KL from the
        moment-matched Gaussian of those latents to :math:`\pi` (blind to non-Gaussian
        shape). ``"elbo"``: the held-out chain −ELBO, which also moves with the decoder
        (not decoder-independent) and costs a chain of the decoder per check.
        ``benchmarks/paper.py`` compares the three (docs: "Does SB-VAE help?").
    encoder_skip_at_floor : bool, default=True
        Skip the encoder phase when the reference SDE already carries the validation rows
        to the prior: its ``encoder_criterion`` statistic (``"mmd"`` or ``"gaussian_kl"``)
        is within the noise floor of the value between independent prior draws, so no
        encoder could beat it by more than the floor and be kept. The fit is then a
        :class:`ScoreSDE`'s (``max_iter`` denoising score matching steps, at its cost, on
        the training rows less the validation split), ``encoder_stopped_iter_`` is 0 and an
        :class:`~skbridge.EncoderNotKeptWarning` says so. At the default reference (VP
        ``beta_max=20, T=1``) this skipped 15 of 27 fits over nine data sets (two moons,
        the 16-D mixture, Community-small and QM9 in every seed; not Adult or the series)
        and brought the default fit from 1.12-1.55x ScoreSDE's time to 1.04-1.08x with the
        same samples (docs/paper.md, section 7). False: always run the phase. Ignored with ``encoder="joint"`` and
        with ``encoder_criterion="elbo"`` (the held-out −ELBO has no value at the prior).
    control_variate : bool, default=False
        Drift matching (both phases) with a zero-mean control variate from the reference
        chain driven by the same noise, in place of the antithetic pair, at the same cost.
        The expected gradient, hence the objective, is unchanged; the variance depends on
        how close the encoder's paths stay to the reference's. On Community-small graphs
        (encoder near the reference) it cut the decoder's gradient variance threefold and
        improved the kept-encoder SBVAE's bound and clustering MMD (benchmarks/README.md);
        on two moons with VP ``beta_max=1, T=0.3`` (an encoder far from the reference) it
        worsened the held-out bound by 0.04-0.08 nats in 3 of 3 seeds. Off by default.
    data, sde, beta_min, beta_max, sigma, T, n_steps, time_grid, hidden_layer_sizes, categorical, max_iter, batch_size, learning_rate, ema_decay, sampler, sampling_steps, corrector_snr, n_elbo_samples, elbo_form, early_stopping, validation_fraction, n_iter_no_change, tol, monitor_train, warm_start, device, random_state, verbose
        As in :class:`ScoreSDE`. ``max_iter`` counts decoder steps in all phases;
        ``validation_fraction`` also sets the rows the prior mismatch is measured on;
        ``monitor_train`` also records the training rows' −ELBO at encoder checks.

    Attributes
    ----------
    encoder_improved_ : bool
        Whether the learned encoder beat the reference SDE on the prior mismatch by more
        than the statistic's noise floor (and is kept, in ``encoder="interrupt"`` mode).
    encoder_kept_ : bool
        Whether the fitted model uses the learned encoder (False: the reference SDE, and
        the fit finished as a :class:`ScoreSDE`).
    encoder_stopped_iter_ : int
        Encoder steps taken when encoder training stopped.
    encoder_best_iter_ : int
        Encoder step of the restored encoder (0: the reference).
    prior_mismatch_, reference_prior_mismatch_ : float
        The interruption statistic (``encoder_criterion``) of the kept encoder and of the
        reference.
    prior_mismatch_floor_ : float
        The statistic's noise floor: twice the spread of its value between independent
        draws from the prior (MMD, KL), or twice the standard error of the held-out −ELBO.
    n_iter_ : int
        Decoder iterations run, including those of an encoder phase that was discarded.
    encoder_ : torch.nn.Module
        The encoder drift network :math:`h_\phi(t, x)` (zero-initialised; used only when
        ``encoder_kept_``, else the model's encoder is the reference SDE).
    history_, n_features_in_, feature_names_in_, device_, codec_, sde_, decoder_
        As in :class:`ScoreSDE`; ``history_`` also records ``prior_mismatch`` (MMD²) and
        ``prior_kl`` at each encoder check (and ``val_neg_elbo`` with ``encoder_criterion="elbo"``),
        and the last check of the encoder phase records ``encoder_kept``.

    References
    ----------
    K. Kaba, R. Shimizu, M. Ohzeki, Y. Sughiyama, "Schrödinger bridge-type diffusion models
    as an extension of variational autoencoders", Phys. Rev. Research (2025),
    https://arxiv.org/abs/2412.18237

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skbridge import SBVAE
    >>> X, _ = make_moons(500, noise=0.05, random_state=0)
    >>> model = SBVAE(max_iter=200, random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **DiffusionEstimator._parameter_constraints,
        "encoder": [StrOptions({"interrupt", "joint", "frozen"})],
        "encoder_gradient": [StrOptions({"prior", "elbo", "mmd"})],
        "encoder_n_steps": [Interval(Integral, 1, None, closed="left"), None],
        "encoder_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "warmup_fraction": [Interval(Real, 0, 1, closed="both")],
        "encoder_max_iter": [Interval(Integral, 0, None, closed="left")],
        "encoder_min_iter": [Interval(Integral, 0, None, closed="left")],
        "n_decoder_steps": [Interval(Integral, 0, None, closed="left")],
        "validation_interval": [Interval(Integral, 1, None, closed="left")],
        "encoder_tol": [Interval(Real, 0, 1, closed="left")],
        "encoder_n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "encoder_criterion": [StrOptions({"mmd", "gaussian_kl", "elbo"})],
        "encoder_skip_at_floor": ["boolean"],
        "control_variate": ["boolean"],
    }

    def __init__(
        self,
        *,
        encoder="interrupt",
        encoder_gradient="prior",
        encoder_n_steps=25,
        encoder_learning_rate=1e-3,
        warmup_fraction=0.25,
        encoder_max_iter=250,
        encoder_min_iter=30,
        n_decoder_steps=4,
        validation_interval=10,
        encoder_tol=0.02,
        encoder_n_iter_no_change=3,
        encoder_criterion="mmd",
        encoder_skip_at_floor=True,
        control_variate=False,
        data="auto",
        sde="vp",
        beta_min=0.1,
        beta_max=20.0,
        sigma=1.0,
        T=1.0,
        n_steps="auto",
        time_grid="uniform",
        hidden_layer_sizes="auto",
        categorical="posterior",
        max_iter="auto",
        batch_size=256,
        learning_rate=2e-3,
        ema_decay=0.995,
        sampler="auto",
        sampling_steps="auto",
        corrector_snr=0.2,
        n_elbo_samples=4,
        elbo_form="realised",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-3,
        monitor_train=False,
        warm_start=False,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.encoder = encoder
        self.encoder_gradient = encoder_gradient
        self.encoder_n_steps = encoder_n_steps
        self.encoder_learning_rate = encoder_learning_rate
        self.warmup_fraction = warmup_fraction
        self.encoder_max_iter = encoder_max_iter
        self.encoder_min_iter = encoder_min_iter
        self.n_decoder_steps = n_decoder_steps
        self.validation_interval = validation_interval
        self.encoder_tol = encoder_tol
        self.encoder_n_iter_no_change = encoder_n_iter_no_change
        self.encoder_criterion = encoder_criterion
        self.encoder_skip_at_floor = encoder_skip_at_floor
        self.control_variate = control_variate
        self.data = data
        self.sde = sde
        self.beta_min = beta_min
        self.beta_max = beta_max
        self.sigma = sigma
        self.T = T
        self.n_steps = n_steps
        self.time_grid = time_grid
        self.hidden_layer_sizes = hidden_layer_sizes
        self.categorical = categorical
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.ema_decay = ema_decay
        self.sampler = sampler
        self.sampling_steps = sampling_steps
        self.corrector_snr = corrector_snr
        self.n_elbo_samples = n_elbo_samples
        self.elbo_form = elbo_form
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.monitor_train = monitor_train
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _torch_attributes = ("encoder_", "decoder_")

    def _fit(self, X):
        if self.n_decoder_steps == 0 and self.encoder_gradient != "mmd":
            raise ValueError(
                f"n_decoder_steps=0 needs encoder_gradient='mmd': the {self.encoder_gradient!r} "
                "gradient reads the decoder, which must follow the encoder (got "
                f"encoder_gradient={self.encoder_gradient!r})"
            )
        return super()._fit(X)

    # ------------------------------------------------------------------- hooks
    def _holds_out(self):
        return super()._holds_out() or self.encoder != "frozen"

    def _decoder_settings(self, max_iter):
        settings = super()._decoder_settings(max_iter)
        settings.control_variate = bool(self.control_variate)
        return settings

    def _warm_encoder(self):
        return copy.deepcopy(self.encoder_)

    def _h(self):
        return self.encoder_ if self.encoder_kept_ else None

    def _progress_total(self, warm, max_iter) -> int:
        # the most a fit can run: max_iter, plus an encoder phase that may be discarded and
        # redone as decoder steps; a fit that runs less completes the bar when it ends
        if self.encoder == "frozen" or warm:
            return max_iter
        phase = max_iter - int(round(self.warmup_fraction * max_iter))
        if self.encoder == "interrupt":
            phase = min(phase, int(self.encoder_max_iter) * int(self.n_decoder_steps))
        return max_iter + max(phase, 0)

    def _train(self, run: DecoderTraining, encoder, warm):
        """Warm-up, encoder phase, decoder phase (the class docstring); a frozen encoder,
        or a warm start, trains the decoder only (against the kept encoder, if any)."""
        max_iter = run.settings.max_iter
        if self.encoder == "frozen" or warm:
            kept = bool(warm and self.encoder_kept_)
            run.h = encoder if kept else None
            run.run_decoder(max_iter, "decoder" if warm else "score", self.early_stopping)
            return {
                "encoder_stopped_iter": self.encoder_stopped_iter_ if warm else 0,
                "encoder_best_iter": self.encoder_best_iter_ if warm else 0,
                "encoder_improved": bool(warm and self.encoder_improved_),
                "encoder_kept": kept,
            }
        phase = EncoderPhase(self, run, encoder)
        if self.encoder_skip_at_floor and self.encoder == "interrupt":
            skipped = phase.skip_if_reference_reaches_prior()
            if skipped is not None:
                run.run_decoder(max_iter, "score", self.early_stopping)
                return skipped
        run.run(int(round(self.warmup_fraction * max_iter)), run.dsm_step, "warmup")
        info = phase.train(max_iter)
        left = max_iter - info["end_iter"] + info["discarded_iter"]
        run.run_decoder(left, "decoder", self.early_stopping)
        return info

    def _adopt_encoder(self, encoder, info):
        encoder.requires_grad_(False)
        self.encoder_ = encoder
        self.encoder_kept_ = info["encoder_kept"]
        self.encoder_improved_ = info["encoder_improved"]
        self.encoder_stopped_iter_ = info["encoder_stopped_iter"]
        self.encoder_best_iter_ = info["encoder_best_iter"]
        if "prior_mismatch" in info:  # an encoder phase ran in this fit
            self.prior_mismatch_ = info["prior_mismatch"]
            self.reference_prior_mismatch_ = info["reference_prior_mismatch"]
            self.prior_mismatch_floor_ = info["prior_mismatch_floor"]

    def __setstate__(self, state):
        # models pickled before encoder_kept_ was public
        if "_encoder_kept" in state:
            state.setdefault("encoder_kept_", state.pop("_encoder_kept"))
        super().__setstate__(state)


def encoder_loss(sde, encoder, decoder, x0, grid, *, gradient="prior", generator=None):
    r"""SB-VAE's encoder loss on a batch ``x0``, and the (path, noise) it simulated.

    ``gradient="prior"``: the prior-loss surrogate (:func:`~skbridge.sde.prior_loss_surrogate`)
    through the reparameterised encoder path, with the decoder's estimate
    :math:`(h_\phi - k_\theta)(T, \cdot)/g(T)` of the latent's score; its φ-gradient
    estimates :math:`\nabla_\phi \mathrm{KL}(p_\phi \| \pi)`. ``"elbo"``: the chain −ELBO
    through the path, the decoder held fixed (its parameters get no gradient). ``"mmd"``:
    the unbiased multiscale RBF-MMD² between the latents and as many fresh prior draws
    (no decoder).
    """
    if gradient == "mmd":
        path, noise = encoder_chain(sde, encoder, x0, grid, generator=generator)
        z = path[-1]
        draws = sde.prior_sample(z.shape, generator=generator, device=z.device, dtype=z.dtype)
        return mmd2_multiscale(z, draws, unbiased=True), path, noise
    if gradient == "prior":
        path, noise = encoder_chain(sde, encoder, x0, grid, generator=generator)
        z = path[-1]
        with torch.no_grad():
            score_hat = decoder_prior_score(sde, encoder, decoder, z)
        return prior_loss_surrogate(z, score_hat, sde.prior_score(z)), path, noise
    frozen = [p for p in decoder.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        elbo, path, noise = chain_elbo(
            sde, encoder, decoder, x0, grid, generator=generator, return_path=True
        )
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return -elbo.mean(), path, noise


class EncoderPhase:
    """SB-VAE's encoder phase on one fit's :class:`DecoderTraining` (see :class:`SBVAE`).

    Alternates an encoder step with ``n_decoder_steps`` drift-matching steps on its
    detached paths, checks the decoder-independent stopping statistic every
    ``validation_interval`` encoder steps, interrupts on a plateau, restores the best
    encoder, and keeps it only if it beat the reference by more than the statistic's noise
    floor; otherwise the reference and the decoder's end-of-warm-up state come back.
    """

    def __init__(self, est: SBVAE, run: DecoderTraining, encoder: nn.Module):
        self.est, self.run, self.encoder = est, run, encoder
        self.sde, self.dev = run.sde, run.dev
        n_enc = est.encoder_n_steps
        grid = run.grid
        self.grid = (
            grid
            if n_enc is None or n_enc >= run.K
            else time_grid(
                run.sde.T, n_enc, spacing=est.time_grid, device=grid.device, dtype=grid.dtype
            )
        )
        self.step_probs = run.grid_step_probs(self.grid)
        # drift matching's reference-path control variate (control_variate)
        self.chain = ReferenceChain(run.sde, self.grid) if est.control_variate else None
        self.opt = None
        self.floor = None  # the noise floor, when the skip check measured it already

    # -------------------------------------------------------------- statistics
    def statistics(self, prior_draws, within, gen_seed):
        r"""The decoder-independent prior-mismatch statistics of the current encoder.

        The validation rows are encoded (several paths each, fixed noise) to :math:`X_T`:
        ``prior_mismatch`` is their unbiased RBF-MMD² to fixed draws from :math:`\pi`,
        ``prior_kl`` the KL from the moment-matched Gaussian of :math:`X_T` to :math:`\pi`,
        ``energy`` :math:`\tfrac12 E\|X_T\|^2` (the runaway check). With
        ``encoder_criterion="elbo"`` (or ``monitor_train``) the monitored −ELBO is added.
        """
        run = self.run
        x = run.x_val
        x = x.repeat(max(1, _LATENTS // x.shape[0]), *([1] * (x.dim() - 1)))
        gen = torch_generator(gen_seed, self.dev)
        with torch.no_grad():
            path, _ = encoder_chain(self.sde, run.h, x, run.grid, generator=gen)
            z = path[-1]
            out = {
                "prior_mismatch": float(mmd2_multiscale_to(z, prior_draws, within)),
                "prior_kl": moment_matched_kl(z, self.sde.prior_var),
                "energy": float(0.5 * z.pow(2).reshape(z.shape[0], -1).sum(-1).mean()),
            }
        if self.est.encoder_criterion == "elbo" or run.settings.monitor_train:
            out.update(run.monitor())
        return out

    def noise_floor(self, prior_draws, within, pg, n_latents):
        """Twice the spread of the statistic between independent prior draws of the
        latents' size (MMD, KL), or twice the standard error of the held-out −ELBO's mean;
        and the statistic's mean over those draws (its value at the prior; None for the
        −ELBO)."""
        criterion, sde = self.est.encoder_criterion, self.sde
        if criterion == "elbo":
            rows = self.run.neg_elbo_rows("val")
            return 2.0 * float(np.std(rows, ddof=1) / np.sqrt(rows.size)), None
        event = tuple(prior_draws.shape[1:])
        nulls = []
        for _ in range(_NULL_DRAWS):
            draws = sde.prior_sample((n_latents, *event), generator=pg, device=self.dev)
            nulls.append(
                float(mmd2_multiscale_to(draws, prior_draws, within))
                if criterion == "mmd"
                else moment_matched_kl(draws, sde.prior_var)
            )
        return 2.0 * float(np.std(nulls, ddof=1)), float(np.mean(nulls))

    def prior_draws(self):
        """The fixed prior draws the statistic compares latents with, their within-sample
        kernel mean, the generator the noise floor's draws continue from, and the number of
        encoded validation latents."""
        run = self.run
        n_val = run.x_val.shape[0]
        event = tuple(run.x_val.shape[1:])
        pg = torch_generator(run.val_seed + 1, self.dev)
        prior_a = self.sde.prior_sample((2 * _LATENTS, *event), generator=pg, device=self.dev)
        within = kernel_mean_multiscale(prior_a, unbiased=True)  # fixed: computed once
        return prior_a, within, pg, n_val * max(1, _LATENTS // n_val)

    def skip_if_reference_reaches_prior(self):
        """Before warm-up: if the reference's statistic is within the noise floor of its
        value at the prior, no encoder can be kept (it would have to beat the reference by
        more than the floor): record it, warn, and return the fit's encoder attributes;
        else None. The statistics are decoder-independent and drawn with fixed seeds, so
        the encoder phase would measure the same reference and floor."""
        est, run = self.est, self.run
        if est.encoder_criterion == "elbo":
            return None
        key = CRITERIA[est.encoder_criterion]
        prior_a, within, pg, n_lat = self.prior_draws()
        trainer = run.trainer
        stats = trainer.timed(lambda: self.statistics(prior_a, within, run.val_seed + 2))
        floor, at_prior = trainer.timed(lambda: self.noise_floor(prior_a, within, pg, n_lat))
        ref_stat = stats[key]
        if ref_stat - at_prior > floor:
            self.floor = floor  # the phase measures the same floor (same draws): kept
            return None
        stats.pop("energy")
        trainer.record("encoder", encoder_iter=0, encoder_kept=False, encoder_skipped=True, **stats)
        _warn(
            [
                (
                    "EncoderNotKeptWarning",
                    f"SBVAE: the reference SDE already carries the data to the prior ({key} "
                    f"{ref_stat:.3g}, {at_prior:.3g} between prior draws, noise floor "
                    f"{floor:.3g}): no encoder could beat it by more than the floor, so the "
                    "encoder phase was skipped and the fit is a ScoreSDE's. A reference "
                    "that does not reach the prior (smaller beta_max or T) leaves the "
                    "encoder something to learn; encoder_skip_at_floor=False runs the "
                    "phase anyway.",
                )
            ]
        )
        return {
            "encoder_stopped_iter": 0,
            "encoder_best_iter": 0,
            "encoder_improved": False,
            "encoder_kept": False,
            "prior_mismatch": ref_stat,
            "reference_prior_mismatch": ref_stat,
            "prior_mismatch_floor": floor,
        }

    # ------------------------------------------------------------------ steps
    def encoder_loss(self, x0):
        """The encoder's loss on a batch (:func:`encoder_loss` on the phase's grid)."""
        run = self.run
        return encoder_loss(
            self.sde,
            self.encoder,
            run.decoder,
            x0,
            self.grid,
            gradient=self.est.encoder_gradient,
            generator=run.gen,
        )

    def step(self):
        """One encoder update, then ``n_decoder_steps`` drift-matching steps on its paths.
        False if the encoder's loss was not finite (nothing was changed)."""
        run = self.run
        loss, path, noise = self.encoder_loss(run.train_batch())
        if not math.isfinite(distributed.mean_value(loss)):  # the same on every process
            return False
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.encoder.parameters())
        nn.utils.clip_grad_norm_(self.encoder.parameters(), 1.0)
        self.opt.step()
        path, noise = path.detach().transpose(0, 1), noise.transpose(0, 1)
        n = path.shape[0]
        rows = torch.arange(n, device=self.dev)
        chain = self.chain
        ref = None if chain is None else chain.path(path[:, 0], noise)
        for _ in range(self.est.n_decoder_steps):
            # every fourth path trains k at t = T, the decoder's score estimate the encoder uses
            ks = run.sample_steps(n, self.step_probs)
            at_T = torch.rand(n, generator=run.gen, device=self.dev) < 0.25
            ks = torch.where(at_T, torch.full_like(ks, self.grid.numel() - 2), ks)
            cv = None if chain is None else (chain, path[:, 0], ref[rows, ks])
            run.dm_step(self.grid, *run.step_slices(self.grid, path, noise, rows, ks), ks, cv)
            run.trainer.it += 1
        return True

    # ------------------------------------------------------------------ phase
    def train(self, budget):
        """Alternate encoder and decoder steps; interrupt on the stopping statistic; restore
        the best encoder, or the reference. Returns the fitted attributes' values.

        With a checkpoint the phase's state is saved at every check (the encoder, its
        optimiser, the best and reference encoders, the decoder's end-of-warm-up state and
        the counters) and its result with every later save, so a resumed fit continues
        where it was saved, or skips a phase that had ended.
        """
        est, run, sde = self.est, self.run, self.sde
        trainer = run.trainer
        checkpoint = trainer.checkpoint
        run_index = trainer.claim_run()
        resumed = 0 if checkpoint is None else checkpoint.restore(trainer, run_index)
        if resumed is None:  # the checkpoint was saved after this phase
            return self._resumed_result(trainer.restored_extra.pop("encoder_phase"))
        mode, criterion = est.encoder, est.encoder_criterion
        key = CRITERIA[criterion]
        d = run.x_val[0].numel()
        prior_a, within, pg, n_lat = self.prior_draws()

        def statistics():
            return trainer.timed(lambda: self.statistics(prior_a, within, run.val_seed + 2))

        self.opt = torch.optim.Adam(self.encoder.parameters(), lr=est.encoder_learning_rate)
        if resumed:
            state = trainer.restored_extra.pop("encoder_mid")
            self.encoder.load_state_dict(state["encoder"])
            self.opt.load_state_dict(state["opt"])
        else:
            stats = statistics()
            stats.pop("energy")
            ref_stat = stats[key]
            state = {
                "ref_stat": ref_stat,
                "floor": (
                    self.floor
                    if self.floor is not None
                    else self.noise_floor(prior_a, within, pg, n_lat)[0]
                ),
                # the decoder as warm-up left it: restored if the reference encoder is kept,
                # so that the decoder then gets exactly ScoreSDE's training (max_iter DSM steps)
                "warm_state": [
                    copy.deepcopy(run.decoder.state_dict()),
                    copy.deepcopy(trainer.ema.state_dict()),
                    copy.deepcopy(trainer.opt.state_dict()),
                    trainer.it,
                ],
                "ref_state": copy.deepcopy(self.encoder.state_dict()),
                "best_stat": ref_stat,
                "best_iter": 0,
                "best_state": None,  # None: the reference
                "patience_ref": ref_stat,
                "no_improve": 0,
                "n_enc": 0,
                "stopped": False,
            }
            trainer.record("encoder", encoder_iter=0, **stats)
        ref_stat, floor, warm_state = state["ref_stat"], state["floor"], state["warm_state"]
        run.h = self.encoder
        n_enc, diverged = state["n_enc"], False
        interval = est.validation_interval
        alone = est.n_decoder_steps == 0  # the encoder trains alone, encoder_max_iter steps
        while not state["stopped"] and trainer.it + est.n_decoder_steps <= budget:
            if (mode == "interrupt" or alone) and n_enc >= est.encoder_max_iter:
                break
            if not self.step():
                diverged = True
                break
            n_enc += 1
            if n_enc % interval:
                continue
            stats = statistics()
            stat, energy = stats[key], stats.pop("energy")
            entry = trainer.record("encoder", encoder_iter=n_enc, **stats)
            trainer.progress.update(
                interval * est.n_decoder_steps,
                {"phase": "encoder", key: stat, "loss": entry["loss"]},
            )
            runaway = energy > 100.0 * d * sde.prior_var or (
                criterion != "elbo" and stat > 4.0 * max(ref_stat, floor)
            )
            if not math.isfinite(stat) or runaway:
                diverged = True  # the encoder ran away: stop and restore the best
                break
            if stat < state["best_stat"]:
                state["best_stat"], state["best_iter"] = stat, n_enc
                state["best_state"] = copy.deepcopy(self.encoder.state_dict())
            if stat < state["patience_ref"] - est.encoder_tol * abs(state["patience_ref"]):
                state["patience_ref"], state["no_improve"] = stat, 0
            else:
                state["no_improve"] += 1
            state["n_enc"] = n_enc
            state["stopped"] = (
                mode == "interrupt"
                and n_enc >= est.encoder_min_iter
                and state["no_improve"] >= est.encoder_n_iter_no_change
            )
            if checkpoint is not None:
                mid = {**state, "encoder": self.encoder.state_dict(), "opt": self.opt.state_dict()}
                checkpoint.save(trainer, run_index, n_enc, {"encoder_mid": mid})
        notes = []
        if diverged:
            notes.append(
                (
                    "RuntimeWarning",
                    f"the encoder diverged after {n_enc} encoder steps; the best encoder seen "
                    f"(step {state['best_iter']}) was restored. A smaller "
                    "encoder_learning_rate may help.",
                )
            )
        best_stat, best_iter = state["best_stat"], state["best_iter"]
        if mode == "joint" and not diverged:
            # never interrupted: the trained encoder is kept whatever its statistic says
            best_stat = self.statistics(prior_a, within, run.val_seed + 2)[key]
            best_iter = n_enc
        else:
            self.encoder.load_state_dict(state["best_state"] or state["ref_state"])
        gain = ref_stat - best_stat
        improved = gain > est.encoder_tol * abs(ref_stat) and gain > floor
        keep = improved or (mode == "joint" and not diverged)
        if not keep:
            self.encoder.load_state_dict(state["ref_state"])
            run.h = None
            best_stat, best_iter = ref_stat, 0
            run.decoder.load_state_dict(warm_state[0])
            trainer.ema.load_state_dict(warm_state[1])
            trainer.opt.load_state_dict(warm_state[2])
        self.opt = None
        discarded = 0 if keep else trainer.it - warm_state[3]
        # the last check of the phase says whether the encoder was kept
        trainer.history[-1]["encoder_kept"] = bool(keep)
        if not keep:
            notes.append(
                (
                    "EncoderNotKeptWarning",
                    f"SBVAE: the learned encoder did not beat the reference SDE on "
                    f"{key} by more than its noise floor (best {best_stat:.3g} after "
                    f"{n_enc} encoder steps, reference {ref_stat:.3g}, floor {floor:.3g}); the "
                    "reference was restored and the fit finishes as a ScoreSDE with the same "
                    f"budget ({discarded} decoder steps discarded). A reference that does not "
                    "reach the prior (smaller beta_max or T) leaves the encoder something to "
                    "learn.",
                )
            )
        info = {
            "encoder_stopped_iter": n_enc,
            "encoder_best_iter": best_iter,
            "encoder_improved": bool(improved),
            "encoder_kept": bool(keep),
            "prior_mismatch": best_stat,
            "reference_prior_mismatch": ref_stat,
            "prior_mismatch_floor": floor,
            # decoder iterations of the encoder phase whose result was discarded
            "discarded_iter": discarded,
            "end_iter": trainer.it,  # decoder iterations when the phase ended
        }
        # saved with every later checkpoint: a fit resumed after the phase skips it
        trainer.extra_state["encoder_phase"] = {
            "info": info,
            "notes": notes,
            "encoder": copy.deepcopy(self.encoder.state_dict()),
        }
        _warn(notes)
        return info

    def _resumed_result(self, saved):
        """The phase's result from a checkpoint saved after it: the encoder it left, and
        the warnings it gave."""
        self.encoder.load_state_dict(saved["encoder"])
        self.run.h = self.encoder if saved["info"]["encoder_kept"] else None
        self.run.trainer.extra_state["encoder_phase"] = saved
        _warn(saved["notes"])
        return dict(saved["info"])


def _warn(notes):
    kinds = {"RuntimeWarning": RuntimeWarning, "EncoderNotKeptWarning": EncoderNotKeptWarning}
    for kind, message in notes:
        warnings.warn(message, kinds[kind], stacklevel=7)
