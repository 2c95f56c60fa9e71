"""ScoreSDE: the classic score-based diffusion model (frozen reference encoder + DSM)."""

from __future__ import annotations

from ._diffusion import DiffusionEstimator

__all__ = ["ScoreSDE"]


class ScoreSDE(DiffusionEstimator):
    r"""Score-based diffusion model as a scikit-learn density estimator.

    The encoder is the frozen reference SDE (VP or Brownian); the decoder
    :math:`s_\theta = f + g\,k_\theta` is trained by denoising score matching (Song et al.,
    2021). Sampling and ``score_samples`` run the same code as :class:`SBVAE`: with the
    encoder frozen, SB-VAE *is* this model, so the two are directly comparable.

    Parameters
    ----------
    data : "auto", "tabular" or a codec, default="auto"
        How user data becomes model vectors. ``"auto"`` (and ``"tabular"``) use a default
        :class:`~skbridge.data.TabularCodec` for arrays and DataFrames; pass
        ``TabularCodec(numeric="quantile", max_categories=...)`` to change its options.
    sde : {"vp", "brownian"}, default="vp"
        Reference SDE: variance-preserving with linear :math:`\beta(t)` or Brownian with
        constant ``sigma``.
    beta_min, beta_max : float, default=0.1, 20.0
        VP schedule :math:`\beta(t) = \beta_{\min} + (\beta_{\max} - \beta_{\min})t`.
    sigma : float, default=1.0
        Diffusion of the Brownian reference.
    T : float, default=1.0
        Time horizon.
    n_steps : int or "auto", default="auto"
        Grid steps ``K`` shared by training, sampling (unless ``sampling_steps`` says
        otherwise) and scoring. ``"auto"``: 300 for
        graphs without edge attributes, else 100 (:meth:`resolved_n_steps`). On Community-small graphs the 100-step chain ELBO was 19 nats per
        graph looser (-89.6 against -70.7), its terminal law far enough from the prior that
        an SBVAE kept an encoder to repair it, and a decoder trained by drift matching
        sampled graphs with about twice the orbit MMD²; score matching's samples did not
        change beyond noise (benchmarks/README.md, docs/math.md). On QM9 molecules (edge
        attributes: 100 steps) 300 steps lowered validity from 0.697 to 0.635. Sampling and scoring
        cost grows in proportion to the steps; training does not.
    time_grid : {"uniform", "quadratic"}, default="uniform"
        Spacing of the ``K`` steps: uniform, or :math:`t_k = T(k/K)^2` (fine steps near the
        data). On two moons the quadratic grid did not improve samples or scores at
        ``K = 100`` (C2ST AUC 0.66 vs 0.64, held-out score equal), so uniform stays the default.
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Widths of the drift MLP. ``"auto"``: three layers of 128 up to 64 model dimensions,
        then the next power of two at or above twice the dimension (256 for UCI Adult's
        106), at most 1024 (:func:`skbridge.nets.auto_hidden`). On sequences the drift is a
        :class:`~skbridge.nets.TemporalConvNet` whose width is the widest layer (64 for
        ``"auto"``).
    categorical : {"posterior", "free"}, default="posterior"
        How the decoder predicts the relaxed one-hot blocks of categorical columns and
        tokens, and a graph's node categories and adjacency levels (no edge, or an edge of
        each category). ``"posterior"``: through the levels' probabilities, the block's own
        likelihood in closed form and the network's outputs as the levels' log-weights
        given the rest (docs/math.md, "Categorical blocks"). Sampled blocks sit on their
        levels and sampled frequencies follow the training ones: on UCI Adult (3000
        iterations, 3 seeds) the levels' mean absolute frequency error fell from 0.016 to
        0.004, the C2ST AUC from 0.972 to 0.856 and the held-out score rose 23.5 nats per
        row, for 1.26x the fit time (``benchmarks/categorical.py``). Training adds the
        levels' cross-entropy to the noise-prediction loss.
        ``"free"``: the network predicts the block's noise like any other coordinate's
        (the behaviour of models fitted before this parameter existed).
    max_iter : int or "auto", default="auto"
        Decoder optimisation steps (mini-batches). ``"auto"``: 3000 for graphs and
        sequences; for tables about 1250 passes over the training rows
        (``1250 * n_rows / batch_size``, at least 3000 and at most 12000; the rows left
        after a validation hold-out, so an SBVAE, which holds out ``validation_fraction``,
        runs that much fewer). A table of up to about 600 rows gets 3000, one of about 2,500
        rows or more 12000. With that instead of 3000 (3 seeds) the C2ST AUC fell from 0.64
        to 0.53 on two moons, from 0.58 to 0.51 on an 8-Gaussian ring (2,400 rows each) and
        from 0.54 to 0.53 on abalone (3,341). Small tables are where more passes memorise:
        on wine (142 rows) 12000 iterations put the synthetic rows next to training rows
        (DCR share 0.175 above its ideal; copies: 0.2) and the held-out score fell from -35
        to -336 (benchmarks/README.md, "max_iter='auto'").
    batch_size : int, default=256
    learning_rate : float, default=2e-3
        Adam step size of the decoder. On two moons (3000 iterations) 4e-3 gave a better
        held-out score (-0.75 vs -0.83 nats) and C2ST AUC (0.57 vs 0.64), but a worse
        energy distance at 4000 iterations in tests/test_quality.py; the default stays
        until a sweep over datasets settles it (benchmarks/README.md).
    ema_decay : float, default=0.995
        The fitted decoder is an exponential moving average of the trained weights (better
        samples than the last iterate); 0 keeps the last iterate.
    sampler : {"auto", "sde", "pc", "ode", "dpm", "dpm-sde"}, default="auto"
        ``"sde"``: the reverse Euler–Maruyama chain. ``"pc"``: the same chain with a
        Langevin corrector step before each step (predictor–corrector, twice the network
        evaluations, :func:`skbridge.sde.predictor_corrector`). ``"ode"``: the
        probability-flow ODE (Heun, ``2 n_steps - 1`` evaluations). ``"dpm"`` and
        ``"dpm-sde"``: the few-step exponential integrators (DPM-Solver++(2M) for the
        probability-flow ODE and for the reverse SDE, :func:`skbridge.sde.dpm_solver`; one
        evaluation per step) on a grid uniform in log-SNR (:func:`skbridge.sde.sampling_grid`)
        instead of ``time_grid``. ``"auto"`` (:meth:`resolved_sampler`,
        ``skbridge.models._diffusion.auto_sampler``): ``"dpm-sde"`` on tables without
        discrete columns (in ``benchmarks/steps.py``, 3 seeds, as good as the chain at 100
        evaluations and far better at 10-20: two moons 0.0128 against 0.0244 energy
        distance at 10); ``"pc"`` on graphs without edge attributes when the decoder was
        trained by denoising score matching (ScoreSDE; an SBVAE that restored the reference
        encoder): on Community-small (100-step grid) the corrector lowered ScoreSDE's
        degree / clustering / orbit MMD² from 0.039 / 0.121 / 0.023 to 0.034 / 0.096 / 0.012
        and made a kept-encoder SBVAE's worse; ``"sde"`` elsewhere (QM9 molecules, where the
        corrector lowered the share of valid and connected samples; tables with discrete
        columns and sequences, not yet measured). The sampler can be changed after ``fit``
        (``set_params``); ``score_samples`` is the chain ELBO of the ``n_steps``-step
        Euler–Maruyama chain (``"sde"``) on ``time_grid`` whichever sampler is set.
    sampling_steps : int or "auto", default="auto"
        Steps of the sampler (network evaluations: one a step, two for ``"pc"``, ``2K - 1``
        for ``"ode"``); ``score_samples`` keeps the ``n_steps`` grid. ``"auto"``
        (:meth:`resolved_sampling_steps`): ``n_steps``, except the predictor-corrector of a
        score-matching decoder (ScoreSDE; an SBVAE that restored the reference encoder)
        with ``n_steps="auto"``, which takes at most 100 steps: on Community-small graphs it
        sampled 3x faster than on the 300-step grid, with the average of the degree,
        clustering and orbit MMD² at 0.102 against 0.094 (3 seeds, 3000 training steps;
        the paired differences within noise; 0.051 for both after 10000 steps), while the 300-step grid's bound stays 19 nats
        per graph tighter than 100 steps' (benchmarks/README.md). Like ``sampler``, it can
        be changed after ``fit``.
    corrector_snr : float, default=0.2
        Signal-to-noise ratio of the corrector's Langevin step (``sampler="pc"``, or
        ``"auto"`` where it runs the corrector); the step size is
        :math:`2(\mathrm{snr}\,\lVert\xi\rVert/\lVert\hat s\rVert)^2`, the norms averaged
        over the rows sampled together. On Community-small 0.2 was among the best of 0.05-0.4
        (orbit MMD², development runs; the differences were within noise).
    n_elbo_samples : int, default=4
        Encoder paths per row averaged by ``score_samples``.
    elbo_form : {"realised", "antithetic", "stein"}, default="realised"
        Step estimator of the chain ELBO in ``score_samples`` (all unbiased; realised has
        the smallest per-path spread of the value).
    early_stopping : bool, default=False
        Stop when the held-out −ELBO (fixed noise) has not improved by ``tol`` nats for
        ``n_iter_no_change`` checks, and restore the best decoder.
    validation_fraction : float, default=0.1
        Share of rows held out for monitoring.
    n_iter_no_change : int, default=5
    tol : float, default=1e-3
    monitor_train : bool, default=False
        Also record the chain −ELBO of fixed training rows (``train_neg_elbo``) at every
        check, beside the held-out one (``val_neg_elbo``): training curves, e.g. to see
        overfitting. Validation rows are then held out even without early stopping; the
        monitoring costs twice as much.
    warm_start : bool, default=False
        Continue from the previous fit's networks and standardisation.
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
    n_iter_ : int
        Decoder iterations run.
    history_ : list of dict
        Monitored quantities at each check (iteration, time, phase, loss, val_neg_elbo,
        train_neg_elbo with ``monitor_train``, monitor_time: the seconds of the fit spent on
        checks so far).
    device_ : torch.device
    codec_ : Codec
        The fitted codec.
    sde_ : ReferenceSDE
        The reference SDE (the encoder; it is never trained).
    decoder_ : torch.nn.Module
        The trained decoder network.

    See Also
    --------
    SBVAE : the same model with a learned, interrupted encoder.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skbridge import ScoreSDE
    >>> X, _ = make_moons(500, noise=0.05, random_state=0)
    >>> model = ScoreSDE(max_iter=200, random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    """

    def __init__(
        self,
        *,
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
