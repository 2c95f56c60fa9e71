"""SBVAE: the Schrödinger-bridge-type diffusion model read as a VAE (Kaba et al., 2025)."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._diffusion import DiffusionEstimator

__all__ = ["SBVAE"]


class SBVAE(DiffusionEstimator):
    r"""SB-VAE: a diffusion model with a learned forward (encoder) SDE, as a density estimator.

    The encoder :math:`dX = (f + g\,h_\phi)\,dt + g\,dW` carries data to the prior; the
    decoder :math:`s_\theta = f + g\,k_\theta` runs it back. The whole path is the VAE's latent
    and the negative ELBO splits into a *prior loss* :math:`\mathrm{KL}(p_\phi\|\pi)`, which
    trains the encoder, and *drift matching*, which trains the decoder (SPEC.md §2).

    Training (SPEC.md §3): (1) warm-up, ``warmup_fraction`` of ``max_iter``: the encoder is
    the reference and the decoder learns by denoising score matching; (2) encoder phase:
    each encoder step (prior-loss surrogate through the reparameterised path, or the chain
    −ELBO) is followed by ``n_decoder_steps`` drift-matching steps on its detached paths;
    every ``validation_interval`` encoder steps a decoder-independent statistic (RBF-MMD
    between encoded validation rows at :math:`T` and fixed draws from :math:`\pi`) is
    measured; (3) interruption: once it has not improved by a relative ``encoder_tol`` for
    ``encoder_n_iter_no_change`` checks (after ``encoder_min_iter`` steps), or after
    ``encoder_max_iter`` steps, the best encoder is restored and frozen. If it did not beat
    the reference by more than the statistic's noise floor, the reference is restored
    (``encoder_improved_ = False``), the decoder goes back to its end-of-warm-up state and
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
    encoder_gradient : {"prior", "elbo"}, default="prior"
        ``"prior"``: the prior-loss surrogate with the decoder's score estimate at :math:`T`.
        ``"elbo"``: the gradient of the whole chain −ELBO through the path (bound-preserving,
        about twice the cost).
    encoder_n_steps : int or None, default=25
        Grid steps of the encoder-phase paths (the encoder's gradient path and the decoder's
        drift-matching steps on it). A coarser grid than ``n_steps`` makes an encoder step
        about ``n_steps / encoder_n_steps`` times cheaper; the interruption statistic, the
        decoder phase, sampling and scoring use ``n_steps``. None: ``n_steps``.
    encoder_learning_rate : float, default=1e-3
        Adam step size of the encoder (gradient norm clipped at 1). SPEC.md's prototype
        advised <= 1e-4; here 1e-4 and 3e-4 did not move the prior mismatch measurably
        within 100 encoder steps, 1e-3 halved it within 50 (benchmarks/README.md). A
        runaway encoder (mismatch above 4x the reference's) is stopped and the best
        encoder restored.
    warmup_fraction : float, default=0.25
    encoder_max_iter : int, default=250
    encoder_min_iter : int, default=30
    n_decoder_steps : int, default=4
        Decoder drift-matching steps per encoder step.
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
    control_variate : bool, default=False
        Drift matching (both phases) with a zero-mean control variate from the reference
        chain driven by the same noise, in place of the antithetic pair, at the same cost.
        The expected gradient, hence the objective, is unchanged; the variance depends on
        how close the encoder's paths stay to the reference's. On Community-small graphs
        (encoder near the reference) it cut the decoder's gradient variance threefold and
        improved the kept-encoder SBVAE's bound and clustering MMD (benchmarks/README.md);
        on two moons with VP ``beta_max=1, T=0.3`` (an encoder far from the reference) it
        worsened the held-out bound by 0.04-0.08 nats in 3 of 3 seeds. Off by default.
    data, sde, beta_min, beta_max, sigma, T, n_steps, time_grid, hidden_layer_sizes, max_iter, batch_size, \
learning_rate, ema_decay, sampler, corrector_snr, n_elbo_samples, elbo_form, early_stopping, validation_fraction, \
n_iter_no_change, tol, warm_start, device, random_state, verbose
        As in :class:`ScoreSDE`. ``max_iter`` counts decoder steps in all phases;
        ``validation_fraction`` also sets the rows the prior mismatch is measured on.

    Attributes
    ----------
    encoder_improved_ : bool
        Whether the learned encoder beat the reference SDE on the prior mismatch.
    encoder_stopped_iter_ : int
        Encoder steps taken when encoder training stopped.
    encoder_best_iter_ : int
        Encoder step of the restored encoder (0: the reference).
    prior_mismatch_, reference_prior_mismatch_ : float
        The interruption statistic (``encoder_criterion``) of the kept encoder and of the
        reference.
    n_iter_ : int
        Decoder iterations run, including those of an encoder phase that was discarded.
    history_, n_features_in_, feature_names_in_, encoder_, decoder_
        As in :class:`ScoreSDE`; ``history_`` also records ``prior_mismatch`` (MMD²) and
        ``prior_kl`` at each encoder check (and ``val_neg_elbo`` with ``encoder_criterion="elbo"``).

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
        "encoder_gradient": [StrOptions({"prior", "elbo"})],
        "encoder_n_steps": [Interval(Integral, 1, None, closed="left"), None],
        "encoder_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "warmup_fraction": [Interval(Real, 0, 1, closed="both")],
        "encoder_max_iter": [Interval(Integral, 0, None, closed="left")],
        "encoder_min_iter": [Interval(Integral, 0, None, closed="left")],
        "n_decoder_steps": [Interval(Integral, 1, None, closed="left")],
        "validation_interval": [Interval(Integral, 1, None, closed="left")],
        "encoder_tol": [Interval(Real, 0, 1, closed="left")],
        "encoder_n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "encoder_criterion": [StrOptions({"mmd", "gaussian_kl", "elbo"})],
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
        max_iter=3000,
        batch_size=256,
        learning_rate=2e-3,
        ema_decay=0.995,
        sampler="auto",
        corrector_snr=0.2,
        n_elbo_samples=4,
        elbo_form="realised",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-3,
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
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.ema_decay = ema_decay
        self.sampler = sampler
        self.corrector_snr = corrector_snr
        self.n_elbo_samples = n_elbo_samples
        self.elbo_form = elbo_form
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _encoder_mode(self):
        return self.encoder
