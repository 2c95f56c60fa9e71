"""Regression tests of SBVAE's encoder phase, checked against independent recomputations.

The trained-encoder tests use a short-horizon VP reference (``beta_max=1, T=0.3``): it does
not reach the prior (two moons at ``T``: MMD² ~0.042 against N(0, I)), so the encoder has
something to learn and measurably does (the kept encoder's MMD² is ~0.027). The default
reference (``beta_max=20, T=1``) already reaches the prior: there any "gain" is noise.

Only public API is used: the estimator's parameters and fitted attributes, and the
functions of :mod:`skbridge.sde`. The statistic the trainer monitors is recomputed here the
way SBVAE's docstring describes it (validation rows encoded to ``T`` with the fitted
``encoder_`` on the ``n_steps`` grid, unbiased RBF-MMD² to fixed draws from the prior); the
tolerances come from the Monte Carlo spread of that recomputation, measured in the test.

Measured on the unmutated code (torch 2.13 CPU, fixed seeds; see the fixtures):
``reference_prior_mismatch_`` 0.0422, kept encoder 0.0275 (best at encoder step 70, plateau
stop at step 100, where the last encoder's MMD² is 0.106); the noise floor (twice the spread
of the statistic between prior draws of 1000 latents) ~0.002-0.0025; ELBO-gradient encoder 0.042
-> 0.025 in 100 steps.
"""

import copy
import signal
import warnings

import numpy as np
import pytest
import torch

from skbridge import SBVAE
from skbridge.data import make_two_moons
from skbridge.sde import encoder_chain, kernel_mean_multiscale, mmd2_multiscale_to, time_grid

N_TRAIN = 2000
VAL_FRACTION = 0.1  # SBVAE's default validation_fraction: 200 validation rows
N_VAL = int(round(VAL_FRACTION * N_TRAIN))
PATHS = 1024 // N_VAL  # the trainer encodes each validation row on several paths: 5
N_LATENT = N_VAL * PATHS  # 1000 encoded validation latents
N_PRIOR = 2048  # fixed prior draws the trainer compares them with

SMALL = dict(n_steps=25, hidden_layer_sizes=(32, 32), n_elbo_samples=2, validation_interval=10)
SHORT = dict(SMALL, sde="vp", beta_max=1.0, T=0.3)  # the reference does not reach the prior

# prior-loss gradient, interrupted: the encoder improves for ~70 steps, then degrades and
# the plateau rule stops it at 100 (300 warm-up steps, 2 decoder steps per encoder step;
# encoder_max_iter far beyond the budget so only the plateau rule can stop it early)
INTERRUPT = dict(
    SHORT,
    max_iter=700,
    warmup_fraction=300 / 700,
    batch_size=128,
    n_decoder_steps=2,
    encoder_min_iter=30,
    encoder_max_iter=10_000,
    random_state=0,
)
# chain-ELBO gradient: a fixed 100 encoder steps (tol 0, min = max); its gradient is noisier
# than the prior-loss surrogate's, so it gets a longer warm-up, more decoder steps per encoder
# step, larger batches and a larger step size
ELBO = dict(
    SHORT,
    encoder_gradient="elbo",
    max_iter=1340,
    warmup_fraction=540 / 1340,
    batch_size=256,
    n_decoder_steps=8,
    encoder_learning_rate=3e-3,
    encoder_tol=0.0,
    encoder_min_iter=100,
    encoder_max_iter=100,
    random_state=0,
)
# default reference (reaches the prior): cheap fits whose encoder phase finds only noise
# (run although the reference is within the floor, which SBVAE skips by default)
DEFAULT_REF = dict(
    SMALL,
    encoder_skip_at_floor=False,
    max_iter=400,
    warmup_fraction=0.3,
    batch_size=128,
    n_decoder_steps=2,
    encoder_min_iter=20,
    encoder_max_iter=60,
)
# seeds whose best recorded MMD² is below the reference's by more than encoder_tol * ref
# but by less than the noise floor (gains 0.00073, 0.00042, 0.00101, 0.00124; floor
# ~0.002-0.0025). Seed 2 was kept when the trainer's floor came from only 8 null draws
# (0.0011 there, 0.0010-0.0031 over seeds 0-6): the test caught it, 32 draws fixed it.
BELOW_FLOOR_SEEDS = [0, 2, 3, 5]
N_REPLICATES = 16


def _moons(n, seed):
    return make_two_moons(n, standardize=False, random_state=seed)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # tiny networks: one thread is as fast and leaves the machine's other core alone
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def data():
    """Training rows standardised exactly (so the model's internal standardisation is the
    identity and its latents are these rows) and held-out rows mapped the same way."""
    raw = _moons(N_TRAIN, 0)
    mu, sd = raw.mean(0), raw.std(0)
    X = (raw - mu) / sd
    held_out = (_moons(4000, 1) - mu) / sd
    return X, held_out


def _fit(params, X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SBVAE(**params).fit(X)
    return model, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def interrupted(data):
    return _fit(INTERRUPT, data[0])


@pytest.fixture(scope="module")
def elbo_fit(data):
    return _fit(ELBO, data[0])[0]


def _encoder_checks(model):
    checks = [e for e in model.history_ if e["phase"] == "encoder"]
    iters = [e["encoder_iter"] for e in checks]
    return iters, np.array([e["prior_mismatch"] for e in checks])


def _encoder_output(model, x):
    t = torch.tensor(0.5 * model.T)
    with torch.no_grad():
        return model.encoder_(t, torch.as_tensor(x, dtype=torch.float32)).numpy()


def _recomputed(model, rows, seed, reps=N_REPLICATES):
    """The trainer's statistic, recomputed ``reps`` times on independent draws.

    Each replicate: ``N_VAL`` held-out rows on ``PATHS`` encoder paths each, pushed to ``T``
    on the model's time grid by ``encoder_`` (and, on the same rows and noise, by the
    reference ``h = None``), unbiased RBF-MMD² to ``N_PRIOR`` fresh prior draws. Returns
    the two arrays (kept, reference) of ``reps`` values: their spread is that of one
    trainer-style statistic (rows, path noise and prior draws all resampled).
    """
    gen = torch.Generator().manual_seed(seed)
    grid = time_grid(model.T, model.n_steps, spacing=model.time_grid)
    rows = torch.as_tensor(rows, dtype=torch.float32)
    kept, ref = [], []
    with torch.no_grad():
        for _ in range(reps):
            pick = torch.randperm(rows.shape[0], generator=gen)[:N_VAL]
            x0 = rows[pick].repeat(PATHS, 1)
            noise = torch.randn((grid.numel() - 1, *x0.shape), generator=gen)
            prior = model.sde_.prior_sample((N_PRIOR, x0.shape[1]), generator=gen)
            within = kernel_mean_multiscale(prior, unbiased=True)
            for h, out in ((model.encoder_, kept), (None, ref)):
                z = encoder_chain(model.sde_, h, x0, grid, noise=noise)[0][-1]
                out.append(float(mmd2_multiscale_to(z, prior, within)))
    return np.array(kept), np.array(ref)


@pytest.fixture(scope="module")
def noise_floor():
    """Twice the spread of the unbiased MMD² between ``N_LATENT`` prior draws and a fixed set
    of ``N_PRIOR`` prior draws (the statistic when the encoder is exactly the prior): 4 fixed
    sets x 16 draws, pooled within-set spread (~0.0012, so the floor is ~0.0024)."""
    gen = torch.Generator().manual_seed(12345)
    devs = []
    for _ in range(4):
        fixed = torch.randn(N_PRIOR, 2, generator=gen)
        within = kernel_mean_multiscale(fixed, unbiased=True)
        vals = [
            float(mmd2_multiscale_to(torch.randn(N_LATENT, 2, generator=gen), fixed, within))
            for _ in range(16)
        ]
        devs.append(np.array(vals) - np.mean(vals))
    sd = np.sqrt(np.sum(np.concatenate(devs) ** 2) / (4 * 16 - 4))
    return 2.0 * sd


# ---------------------------------------------------------------------- 1. kept and used
def test_encoder_is_kept_and_used_by_scores_and_samples(interrupted, data):
    model, _ = interrupted
    X, held_out = data
    assert model.encoder_improved_ is True
    assert model.encoder_best_iter_ > 0
    assert model.prior_mismatch_ < model.reference_prior_mismatch_
    # the kept encoder is a trained one, not the zero-initialised reference
    assert np.abs(_encoder_output(model, held_out[:200])).max() > 1e-3

    # the same model with h = 0: scores and (ODE) samples must change, and the held-out
    # bound must get worse, because the decoder was trained on the kept encoder's paths
    zeroed = copy.deepcopy(model)
    for p in zeroed.encoder_.parameters():
        p.data.zero_()
    Xt = held_out[:300]
    kept_scores, zero_scores = model.score_samples(Xt), zeroed.score_samples(Xt)
    assert np.isfinite(kept_scores).all()
    # measured: -2.78 nats per row with the kept encoder, -2.86 with h = 0
    assert kept_scores.mean() > zero_scores.mean() + 0.03, (kept_scores.mean(), zero_scores.mean())

    ode, ode_zeroed = (copy.deepcopy(m).set_params(sampler="ode") for m in (model, zeroed))
    a, b = ode.sample(200, random_state=0), ode_zeroed.sample(200, random_state=0)
    assert np.isfinite(a).all()
    assert np.abs(a - b).mean() > 1e-2


# ------------------------------------------------- 2. the restored encoder is the best one
def test_kept_encoder_statistic_recomputed_independently(interrupted, data, noise_floor):
    model, _ = interrupted
    _, held_out = data
    kept, ref = _recomputed(model, held_out, seed=0)
    # tolerance: 4 standard deviations of ONE recomputed statistic (the trainer's value is one
    # draw of it, on its own 200 validation rows), measured from the 16 replicates (~0.003)
    # plus the spread of their mean
    tol_kept = 4 * kept.std(ddof=1) * np.sqrt(1 + 1 / kept.size)
    tol_ref = 4 * ref.std(ddof=1) * np.sqrt(1 + 1 / ref.size)
    # the recomputation measures what the trainer measures: it agrees on the reference ...
    assert abs(ref.mean() - model.reference_prior_mismatch_) < tol_ref, (ref.mean(), tol_ref)
    # ... and on the fitted encoder_: the restored encoder is the one whose statistic was
    # reported (the last encoder of this fit has MMD² ~0.1, far outside the tolerance)
    assert abs(kept.mean() - model.prior_mismatch_) < tol_kept, (kept.mean(), tol_kept)
    # the same on the paired ratio kept / reference, which varies less with the rows drawn
    # (measured ~0.70 +- 0.09 per replicate; the last encoder of this fit gives ~2.5)
    ratio = kept / ref
    tol_ratio = 4 * ratio.std(ddof=1) * np.sqrt(1 + 1 / ratio.size)
    trainer_ratio = model.prior_mismatch_ / model.reference_prior_mismatch_
    assert abs(ratio.mean() - trainer_ratio) < tol_ratio, (ratio.mean(), trainer_ratio, tol_ratio)
    # the kept encoder is clearly better than the reference: on the same rows and noise,
    # the mean difference exceeds 4 standard errors (measured spread of the 16 paired
    # differences, ~0.006: it depends on which 200 rows are drawn) and the noise floor
    diff = ref - kept
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert diff.mean() > max(4 * se, noise_floor), (diff.mean(), se, noise_floor)
    # and it is the best the trainer saw (the restored encoder_best_iter_ check)
    iters, stats = _encoder_checks(model)
    assert iters[int(np.argmin(stats))] == model.encoder_best_iter_
    assert model.prior_mismatch_ == pytest.approx(stats.min())


# --------------------------------------------------------------------- 3. plateau stop
def test_plateau_stops_the_encoder_early(interrupted):
    model, messages = interrupted
    p = INTERRUPT
    assert not any("diverged" in m for m in messages), messages  # not the runaway guard
    assert model.encoder_stopped_iter_ < p["encoder_max_iter"]
    # not the decoder budget either: the encoder phase ended with budget left for the decoder
    n_warm = round(p["warmup_fraction"] * p["max_iter"])
    used = n_warm + model.encoder_stopped_iter_ * p["n_decoder_steps"]
    assert used + p["n_decoder_steps"] <= p["max_iter"] - 100
    assert model.history_[-1]["phase"] == "decoder"

    iters, stats = _encoder_checks(model)
    assert iters[0] == 0 and iters[-1] == model.encoder_stopped_iter_
    assert iters == list(range(0, model.encoder_stopped_iter_ + 1, p["validation_interval"]))
    # the documented rule, replayed on the recorded statistics: stop at the first check after
    # encoder_min_iter that follows encoder_n_iter_no_change checks without a relative
    # improvement of encoder_tol over the best so far
    tol, patience = model.encoder_tol, model.encoder_n_iter_no_change  # 0.02, 3 (defaults)
    best, no_improve, stop = stats[0], 0, None
    for it, s in zip(iters[1:], stats[1:], strict=True):
        if s < best - tol * abs(best):
            best, no_improve = s, 0
        else:
            no_improve += 1
        if it >= p["encoder_min_iter"] and no_improve >= patience:
            stop = it
            break
    assert stop == model.encoder_stopped_iter_
    # and the last `patience` checks did not improve on the best before them by tol
    best_before = stats[:-patience].min()
    assert np.all(stats[-patience:] >= best_before - tol * abs(best_before))
    assert model.encoder_best_iter_ < model.encoder_stopped_iter_


# -------------------------------------------------- 4. a gain below the noise floor
@pytest.mark.parametrize("seed", BELOW_FLOOR_SEEDS)
def test_gain_below_noise_floor_keeps_the_reference(seed, data, noise_floor):
    model, _ = _fit({**DEFAULT_REF, "random_state": seed}, data[0])
    iters, stats = _encoder_checks(model)
    ref = model.reference_prior_mismatch_
    gain = ref - stats[1:].min()
    # the situation under test: some checked encoder beat the reference by more than the
    # relative tolerance, but by less than the independently measured noise floor
    if not 0.02 * abs(ref) < gain < noise_floor:
        pytest.fail(f"precondition: gain {gain:.5f}, ref {ref:.5f}, floor {noise_floor:.5f}")
    assert model.encoder_improved_ is False
    # the trainer's own floor agrees with the independent one: a std from 32 null draws has
    # a relative error of about 13%, the fixture's from 64 about 9%, so their ratio about
    # 16%; the bounds are three of those (seeds 0, 2, 3, 5 gave ratios up to 1.42)
    assert 0.5 * noise_floor < model.prior_mismatch_floor_ < 1.5 * noise_floor
    assert model.encoder_best_iter_ == 0
    assert model.prior_mismatch_ == model.reference_prior_mismatch_ == stats[0]
    # the reference encoder (h = 0) is what the model holds
    assert np.abs(_encoder_output(model, data[1][:200])).max() == 0.0


def test_noise_floor_estimate(noise_floor):
    # twice the null spread of the statistic at 1000 latents: 0.0019-0.0024 from 200 draws
    # (8 fixed sets x 25) with four seeds; 0.0020 from this fixture's 64 draws. Guards the
    # fixture the tests rely on.
    assert 0.0015 < noise_floor < 0.0035


# ------------------------------------------------------------------ 5. ELBO gradient
def test_elbo_gradient_improves_the_encoder(elbo_fit, data, noise_floor):
    model = elbo_fit
    iters, stats = _encoder_checks(model)
    assert model.encoder_stopped_iter_ == ELBO["encoder_max_iter"]
    assert model.encoder_improved_ is True
    gain = model.reference_prior_mismatch_ - model.prior_mismatch_
    assert gain > max(noise_floor, 0.2 * model.reference_prior_mismatch_), (gain, noise_floor)
    # the statistic goes down during training, not just at one lucky check
    assert stats[-1] < stats[len(stats) // 2] < stats[0]
    # independently: the fitted encoder_ is closer to the prior than the reference
    kept, ref = _recomputed(model, data[1], seed=1)
    diff = ref - kept
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert diff.mean() > max(4 * se, noise_floor), (diff.mean(), se, noise_floor)
    tol = 4 * kept.std(ddof=1) * np.sqrt(1 + 1 / kept.size)
    assert abs(kept.mean() - model.prior_mismatch_) < tol, (kept.mean(), tol)


# ---------------------------- the MMD gradient drives a Gaussian's prior loss to the floor
def _correlated_gaussian(n, seed):
    cov = np.array([[1.0, 0.9], [0.9, 1.0]])
    return np.random.default_rng(seed).multivariate_normal([0.0, 0.0], cov, size=n), cov


def _gaussian_prior_kl(cov, sde):
    """KL(N(0, Σ_T) || π) of the reference's latent for N(0, cov) data, Σ_T = α²C + σ²I
    (the codec standardises the columns: cov has unit diagonal already)."""
    T = torch.tensor(sde.T, dtype=torch.float64)
    a2, s2 = float(sde.alpha(T) ** 2), float(sde.sigma(T) ** 2)
    cov_T = a2 * cov + s2 * np.eye(2)
    v = sde.prior_var
    return 0.5 * (np.trace(cov_T) / v - 2 + 2 * np.log(v) - np.log(np.linalg.det(cov_T)))


def test_mmd_gradient_carries_a_gaussian_to_the_prior_and_the_plateau_stops_it():
    """Correlated Gaussian data (ρ = 0.9) under VP beta_max=1, T=0.3: the reference's latent
    is N(0, α²C + σ²I), KL 0.59 nats from π. The encoder trained on the MMD² between its
    latents and prior draws decorrelates them: the kept encoder's moment-matched KL is below
    a tenth of the reference's (measured: 0.588 -> 0.005 at encoder step 60, floor 0.002;
    the prior-loss surrogate reaches 0.40 at step 40 and then runs away), no runaway
    warning, and the stop is the plateau rule's (before encoder_max_iter) after min_iter."""
    X, cov = _correlated_gaussian(2000, 0)
    model = SBVAE(
        **dict(SHORT, n_steps=25),
        encoder_gradient="mmd",
        encoder_learning_rate=3e-3,
        encoder_criterion="gaussian_kl",
        max_iter=1200,
        warmup_fraction=0.25,
        encoder_min_iter=60,
        encoder_max_iter=10_000,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a runaway would raise here
        model.fit(X)
    exact_ref = _gaussian_prior_kl(cov, model.sde_)
    # the trainer's reference statistic is the moment-matched KL of 1000 latents: within
    # a few 1/n-size terms of the exact KL
    assert abs(model.reference_prior_mismatch_ - exact_ref) < 0.05, exact_ref
    assert model.encoder_kept_ and model.encoder_improved_
    assert model.prior_mismatch_ < 0.1 * model.reference_prior_mismatch_
    # stopped by the plateau rule, not by the budget or encoder_max_iter
    n_enc = model.encoder_stopped_iter_
    assert 60 <= n_enc < 10_000
    checks = [e for e in model.history_ if e.get("phase") == "encoder"]
    assert checks[-1]["encoder_iter"] == n_enc and checks[-1]["encoder_kept"]
    # the budget (900 decoder steps after warm-up, 4 per encoder step) would allow 225
    budget = (model.max_iter - round(model.warmup_fraction * model.max_iter)) // 4
    assert n_enc + model.validation_interval <= budget, (n_enc, budget)


@pytest.mark.parametrize("mode", ["interrupt", "joint"])
def test_the_mmd_encoder_trains_alone_with_no_decoder_steps(mode):
    """n_decoder_steps=0 (MMD gradient only): the encoder phase leaves the decoder as
    warm-up left it (no decoder iteration between its checks), ends by encoder_max_iter at
    the latest, also in "joint" mode (which would otherwise loop until the decoder budget,
    never consumed, ran out), still decorrelates the Gaussian's latents, and the decoder
    phase then gets every decoder step left: n_iter_ == max_iter."""
    X, _ = _correlated_gaussian(1000, 0)
    # a phase that never ends would hang the suite: fail after a minute (a fit takes ~2 s)
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the encoder phase did not end"))
    signal.alarm(60)
    try:
        model = _alone_fit(mode, X)
    finally:
        signal.alarm(0)
    warmup = round(model.warmup_fraction * model.max_iter)
    checks = [e for e in model.history_ if e["phase"] == "encoder"]
    assert {e["iteration"] for e in checks} == {warmup}  # no decoder step in the phase
    assert checks[-1]["encoder_iter"] == model.encoder_stopped_iter_ <= 40
    assert model.encoder_kept_
    assert model.prior_mismatch_ < 0.5 * model.reference_prior_mismatch_
    assert model.n_iter_ == model.max_iter


def test_no_decoder_steps_needs_the_mmd_gradient():
    X, _ = _correlated_gaussian(100, 0)
    for gradient in ("prior", "elbo"):
        with pytest.raises(ValueError, match="n_decoder_steps=0 needs encoder_gradient='mmd'"):
            SBVAE(n_decoder_steps=0, encoder_gradient=gradient, max_iter=4).fit(X)


def _alone_fit(mode, X):
    return SBVAE(
        **dict(SHORT, n_steps=10),
        encoder=mode,
        encoder_gradient="mmd",
        encoder_criterion="gaussian_kl",
        n_decoder_steps=0,
        encoder_n_steps=10,
        encoder_learning_rate=1e-2,
        encoder_min_iter=20,
        encoder_max_iter=40,
        max_iter=200,
        random_state=0,
    ).fit(X)


# ------------------------------------------- 7. the reference already reaches the prior
# on the default 100-step grid: on 25 steps the Euler-Maruyama chain of the reference
# itself misses the prior (MMD² 0.004-0.010 over seeds 0-5 against a floor of 0.002), so
# the phase runs there; on 100 steps it is -0.0009 to 0.0004 (seeds 0-3), and skipped
SKIP = dict(DEFAULT_REF, n_steps=100, encoder_skip_at_floor=True, random_state=0)


def test_a_reference_that_reaches_the_prior_skips_the_encoder_phase(data, noise_floor):
    """Default reference: the reference's MMD² is within the noise floor of the prior's own,
    so no encoder could be kept; the phase is skipped before warm-up and the fit is
    ``max_iter`` denoising score matching steps (no warm-up, encoder or decoder-phase
    entries, no discarded steps), with the warning saying so. The statistic and floor it
    decided on are those the phase would have measured (same seeds: the fit that runs the
    phase records the same values), and the reference is within the independent floor."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        skipped = SBVAE(**SKIP).fit(data[0])
    ran, _ = _fit({**SKIP, "encoder_skip_at_floor": False}, data[0])
    assert skipped.encoder_stopped_iter_ == 0 and not skipped.encoder_kept_
    assert skipped.n_iter_ == skipped.max_iter < ran.n_iter_
    phases = [e["phase"] for e in skipped.history_]
    assert phases[0] == "encoder" and set(phases[1:]) == {"score"}
    assert skipped.history_[0]["encoder_skipped"] and skipped.history_[-1]["iteration"] == 400
    assert skipped.reference_prior_mismatch_ == ran.reference_prior_mismatch_
    assert skipped.prior_mismatch_floor_ == ran.prior_mismatch_floor_
    assert abs(skipped.reference_prior_mismatch_) < noise_floor
    assert any("encoder phase was skipped" in str(w.message) for w in caught)
    # the reference is what the model holds: h = 0
    assert np.abs(_encoder_output(skipped, data[1][:200])).max() == 0.0


def test_a_reference_that_does_not_reach_the_prior_is_not_skipped(interrupted):
    """The short reference (MMD² ~0.042, floor ~0.002) runs its encoder phase under the
    default encoder_skip_at_floor=True: the interrupted fixture's encoder was trained."""
    model, _ = interrupted
    assert model.get_params()["encoder_skip_at_floor"] is True
    assert model.encoder_stopped_iter_ > 0
    assert not any(e.get("encoder_skipped") for e in model.history_)
