"""The estimator contract beyond sklearn's checks (docs/design.md), for SBVAE and ScoreSDE."""

import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbridge import SBVAE, VAE, FlowMatching, ScoreSDE, TrainingError
from skbridge.data import make_two_moons

FAST = dict(max_iter=40, n_steps=10, hidden_layer_sizes=(16, 16), batch_size=64, n_elbo_samples=2)
SB_FAST = dict(
    FAST, encoder_min_iter=2, encoder_max_iter=4, validation_interval=2, n_decoder_steps=2
)


def make(cls, **kw):
    base = SB_FAST if cls is SBVAE else FAST
    return cls(**{**base, "random_state": 0, **kw})


MODELS = [
    pytest.param(lambda **kw: make(ScoreSDE, **kw), id="ScoreSDE"),
    pytest.param(lambda **kw: make(SBVAE, **kw), id="SBVAE-interrupt"),
    pytest.param(lambda **kw: make(SBVAE, encoder="joint", **kw), id="SBVAE-joint"),
    pytest.param(lambda **kw: make(SBVAE, encoder_gradient="elbo", **kw), id="SBVAE-elbo"),
]


@pytest.fixture(scope="module")
def data():
    X = make_two_moons(300, random_state=0)
    return X[:200], X[200:]


@pytest.mark.parametrize("factory", MODELS)
def test_fit_twice_same_random_state_same_scores(factory, data):
    X, Xt = data
    a = factory().fit(X).score_samples(Xt)
    b = factory().fit(X).score_samples(Xt)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("factory", MODELS)
def test_different_random_state_differs(factory, data):
    X, Xt = data
    a = factory(random_state=0).fit(X).score_samples(Xt)
    b = factory(random_state=1).fit(X).score_samples(Xt)
    assert not np.allclose(a, b)


@pytest.mark.parametrize("factory", MODELS)
def test_sample_reproducible_and_independent_of_earlier_calls(factory, data):
    X, _ = data
    model = factory().fit(X)
    first = model.sample(50, random_state=0)
    model.sample(17)  # unseeded draws in between must not matter
    model.score_samples(X[:5])
    again = model.sample(50, random_state=0)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (50, 2) and np.isfinite(first).all()
    assert not np.array_equal(first, model.sample(50, random_state=1))


@pytest.mark.parametrize("sampler", ["sde", "pc", "ode", "dpm", "dpm-sde"])
def test_samplers(sampler, data):
    X, _ = data
    model = make(ScoreSDE, sampler=sampler).fit(X)
    S = model.sample(30, random_state=0)
    assert S.shape == (30, 2) and np.isfinite(S).all()


def test_dpm_samplers_evaluate_the_network_once_per_step(data):
    """n_steps is the number of network evaluations (read at sampling time); the ODE's
    data prediction reads the kept encoder, the reverse SDE's (the decoder chain's) does
    not; score_samples does not depend on the sampler."""
    X, Xt = data
    model = make(SBVAE, encoder="joint").fit(X)
    assert model.encoder_kept_
    score, n_steps = model.score_samples(Xt), model.n_steps
    calls = {"decoder": 0, "encoder": 0}
    for name in calls:
        getattr(model, f"{name}_").register_forward_hook(
            lambda *_, name=name: calls.__setitem__(name, calls[name] + 1)
        )
    for sampler in ("dpm", "dpm-sde"):
        calls.update(decoder=0, encoder=0)
        model.set_params(sampler=sampler, n_steps=7)
        S = model.sample(25, random_state=0)
        assert S.shape == (25, 2) and np.isfinite(S).all()
        assert calls == {"decoder": 7, "encoder": 7 if sampler == "dpm" else 0}, sampler
    np.testing.assert_array_equal(model.set_params(n_steps=n_steps).score_samples(Xt), score)


def test_score_samples_per_row_independent_of_batch(data):
    X, Xt = data
    model = make(SBVAE).fit(X)
    full = model.score_samples(Xt)
    perm = np.random.RandomState(0).permutation(len(Xt))
    np.testing.assert_allclose(model.score_samples(Xt[perm]), full[perm], rtol=1e-5)
    np.testing.assert_allclose(model.score_samples(Xt[:7]), full[:7], rtol=1e-5)
    assert model.score(Xt) == pytest.approx(full.mean())


@pytest.mark.parametrize("form", ["realised", "antithetic", "stein"])
def test_every_elbo_form_scores_a_row_independently_of_its_batch(form):
    """In 20 dimensions the Stein form's divergence is Hutchinson's: its probes, like the
    path noise, are drawn per row, so a row's score does not depend on the rows scored
    with it (a generator shared by the batch moved scores by up to 1.28 nats)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 20))
    model = make(ScoreSDE, max_iter=20, elbo_form=form).fit(X[:100])
    Xt = X[100:]
    full = model.score_samples(Xt)
    assert np.isfinite(full).all()
    np.testing.assert_allclose(model.score_samples(Xt[::-1]), full[::-1], rtol=1e-5)
    np.testing.assert_allclose(model.score_samples(Xt[3:5]), full[3:5], rtol=1e-5)


@pytest.mark.parametrize("form", ["realised", "antithetic", "stein"])
def test_elbo_forms_finite(form, data):
    X, Xt = data
    model = make(ScoreSDE, elbo_form=form).fit(X)
    s = model.score_samples(Xt)
    assert s.shape == (len(Xt),) and np.isfinite(s).all()


@pytest.mark.parametrize("c", [0.01, 3.0, 250.0])
def test_rescaling_a_feature_shifts_scores_by_log_c(c, data):
    # internal standardisation makes the fitted model identical in standard units
    X, Xt = data
    scale = np.array([c, 1.0])
    a = make(SBVAE).fit(X).score_samples(Xt)
    b = make(SBVAE).fit(X * scale).score_samples(Xt * scale)
    np.testing.assert_allclose(b, a - np.log(c), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("factory", MODELS)
def test_joblib_round_trip(factory, data, tmp_path):
    X, Xt = data
    model = factory().fit(X)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.score_samples(Xt), model.score_samples(Xt))
    np.testing.assert_array_equal(loaded.sample(5, random_state=0), model.sample(5, random_state=0))
    restored = pickle.loads(pickle.dumps(model))
    assert restored.decoder_.net.net[0].weight.device.type in ("cpu", "cuda")


def test_model_pickled_before_new_parameters_loads(data):
    """A model pickled by an earlier skbridge, before corrector_snr and control_variate
    existed (simulated by dropping them from its state), loads with their defaults and
    samples, scores and clones as before."""
    X, Xt = data
    model = make(SBVAE, sampler="sde").fit(X)
    state = model.__getstate__()
    for name in ("corrector_snr", "control_variate"):
        del state[name]
    old = SBVAE.__new__(SBVAE)
    old.__setstate__(state)
    assert old.corrector_snr == 0.2 and old.control_variate is False and old.sampler == "sde"
    np.testing.assert_array_equal(old.sample(5, random_state=0), model.sample(5, random_state=0))
    np.testing.assert_array_equal(old.score_samples(Xt), model.score_samples(Xt))
    assert clone(old).get_params() == clone(model).get_params()


def test_pipeline_in_grid_search(data):
    X, _ = data
    pipe = Pipeline([("scale", StandardScaler()), ("gen", make(SBVAE))])
    search = GridSearchCV(pipe, {"gen__n_steps": [5, 10]}, cv=2)
    search.fit(X)
    assert search.best_params_["gen__n_steps"] in (5, 10)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert np.isfinite(search.score(X))


def test_cross_val_score_compares_generators_on_the_same_folds(data):
    X, _ = data
    cv = KFold(3, shuffle=True, random_state=0)
    scores = {
        name: cross_val_score(est, X, cv=cv)
        for name, est in [
            ("SBVAE", make(SBVAE)),
            ("ScoreSDE", make(ScoreSDE)),
            ("VAE", VAE(max_iter=100, hidden_layer_sizes=(16,), random_state=0)),
            ("FlowMatching", FlowMatching(max_iter=100, n_steps=10, random_state=0)),
            ("GaussianMixture", GaussianMixture(4, random_state=0)),
        ]
    }
    for name, s in scores.items():
        assert s.shape == (3,) and np.isfinite(s).all(), name
    # all are log-likelihoods (or bounds) in the same nats per row
    for name in ("SBVAE", "VAE", "FlowMatching"):
        assert abs(scores[name].mean() - scores["GaussianMixture"].mean()) < 20, name


def test_history_and_fitted_attributes(data):
    X, _ = data
    model = make(SBVAE).fit(X)
    # an encoder phase that is discarded adds its iterations to the max_iter DSM steps
    assert model.n_iter_ >= FAST["max_iter"]
    assert model.history_[-1]["iteration"] == model.n_iter_
    phases = [h["phase"] for h in model.history_]
    assert phases[0] == "warmup" and "encoder" in phases
    assert all(h["iteration"] <= model.n_iter_ for h in model.history_)
    assert isinstance(model.encoder_improved_, bool)
    assert (
        0 <= model.encoder_best_iter_ <= model.encoder_stopped_iter_ <= SB_FAST["encoder_max_iter"]
    )
    # the attributes are the statistics recorded at the checks of the kept encoder
    checks = {h["encoder_iter"]: h for h in model.history_ if h["phase"] == "encoder"}
    assert model.reference_prior_mismatch_ == checks[0]["prior_mismatch"]
    assert model.prior_mismatch_ == checks[model.encoder_best_iter_]["prior_mismatch"]
    # the fallback is recorded at the phase's last check
    last = [h for h in model.history_ if h["phase"] == "encoder"][-1]
    assert last["encoder_kept"] == model.encoder_kept_
    frozen = make(SBVAE, encoder="frozen").fit(X)
    assert frozen.encoder_stopped_iter_ == 0 and not frozen.encoder_improved_
    assert {h["phase"] for h in frozen.history_} == {"score"}


def test_control_variate_trains_a_kept_encoder(data):
    """control_variate=True runs both phases with the control variate (joint: the encoder is
    kept, so the decoder phase drifts-matches on cached paths) and changes the fit."""
    X, Xt = data
    on = make(SBVAE, encoder="joint", control_variate=True).fit(X)
    off = make(SBVAE, encoder="joint").fit(X)
    assert on.encoder_kept_ and off.encoder_kept_
    a, b = on.score_samples(Xt), off.score_samples(Xt)
    assert np.all(np.isfinite(a)) and not np.array_equal(a, b)
    assert on.sample(5, random_state=0).shape == (5, X.shape[1])


def test_pc_sampler_with_a_kept_encoder(data):
    """sampler="pc" reads the kept encoder (the corrector's score is (h - k) / g); with
    corrector_snr=0 it is the plain reverse chain, draw for draw; the sampler is a sampling
    option, so switching it needs no refit and leaves score_samples unchanged."""
    X, Xt = data
    model = make(SBVAE, encoder="joint").fit(X)
    assert model.encoder_kept_
    assert model.resolved_sampler() == "dpm-sde"  # "auto" on continuous tables
    model.set_params(sampler="sde")
    plain, score = model.sample(40, random_state=0), model.score_samples(Xt)
    model.set_params(sampler="pc", corrector_snr=0.0)
    np.testing.assert_array_equal(model.sample(40, random_state=0), plain)
    model.set_params(corrector_snr=0.2)
    pc = model.sample(40, random_state=0)
    assert np.isfinite(pc).all() and not np.allclose(pc, plain)
    np.testing.assert_array_equal(model.score_samples(Xt), score)
    with pytest.raises(ValueError, match="corrector_snr"):
        make(ScoreSDE, corrector_snr=-1.0).fit(X)


def test_auto_sampler_by_modality():
    """ "auto": the few-step SDE integrator on continuous tables (measured), the plain chain
    on tables with discrete columns and on sequences (not measured), whatever the decoder."""
    import pandas as pd

    from skbridge.data import SequenceCodec, TabularCodec
    from skbridge.models._diffusion import auto_sampler

    continuous = TabularCodec().fit(np.random.default_rng(0).normal(size=(50, 3)))
    frame = pd.DataFrame({"x": np.arange(50.0), "c": ["a", "b"] * 25})
    mixed = TabularCodec().fit(frame)
    series = SequenceCodec().fit(np.random.default_rng(0).normal(size=(20, 8, 2)))
    for score_matching in (True, False):
        assert auto_sampler(continuous, score_matching) == "dpm-sde"
        assert auto_sampler(mixed, score_matching) == "sde"
        assert auto_sampler(series, score_matching) == "sde"


def test_frozen_sbvae_is_score_sde(data):
    X, Xt = data
    a = make(SBVAE, encoder="frozen").fit(X).score_samples(Xt)
    b = make(ScoreSDE).fit(X).score_samples(Xt)
    np.testing.assert_array_equal(a, b)


def test_encoder_interrupt_restores_reference_when_not_better(data):
    # with the default VP reference the latent already matches the prior: the encoder
    # cannot beat it by more than the statistic's noise, so the reference is kept
    X, _ = data
    model = make(SBVAE).fit(X)
    if not model.encoder_improved_:
        assert model.encoder_best_iter_ == 0
        assert model.prior_mismatch_ == model.reference_prior_mismatch_


def test_early_stopping(data):
    X, _ = data
    model = make(ScoreSDE, max_iter=2000, early_stopping=True, n_iter_no_change=2, tol=10.0)
    model.fit(X)
    assert model.n_iter_ < 2000
    assert all("val_neg_elbo" in h for h in model.history_)


def test_warm_start_continues(data):
    X, Xt = data
    model = make(ScoreSDE, warm_start=True).fit(X)
    w0 = model.decoder_.net.net[0].weight.clone()
    model.fit(X)
    assert model.n_iter_ == 2 * FAST["max_iter"]
    assert model.history_[-1]["iteration"] == model.n_iter_
    assert len(model.history_) > 1
    assert not np.allclose(w0.numpy(), model.decoder_.net.net[0].weight.numpy())
    cold = clone(model).set_params(warm_start=False).fit(X)
    assert cold.n_iter_ == FAST["max_iter"]


def test_verbose_progress(data, capsys):
    X, _ = data
    make(ScoreSDE, verbose=1).fit(X)
    err = capsys.readouterr().err
    assert "loss" in err


class _Bar:
    """A stand-in for tqdm that records what the progress bar was told."""

    made = []

    def __init__(self, total, desc, **kw):
        self.total, self.desc, self.n, self.totals = total, desc, 0, [total]
        _Bar.made.append(self)

    def update(self, n):
        self.n += n
        self.totals.append(self.total)

    def set_postfix_str(self, *a, **k):
        pass

    def close(self):
        self.closed = True


@pytest.mark.parametrize("encoder", ["interrupt", "joint"])
def test_progress_total_is_fixed_from_the_start_and_names_the_device(data, monkeypatch, encoder):
    """An SBVAE whose encoder phase is discarded runs longer than max_iter: the bar's total
    must already allow for it (it used to grow mid-fit), and the bar ends full."""
    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", _Bar)
    _Bar.made.clear()
    X, _ = data
    model = make(SBVAE, verbose=1, encoder=encoder, max_iter=60).fit(X)
    (bar,) = _Bar.made
    assert set(bar.totals) == {bar.total} and bar.n == bar.total and bar.closed
    assert model.n_iter_ <= bar.total
    assert bar.desc == "SBVAE on cpu"
    if not model.encoder_kept_:
        assert model.n_iter_ > 60  # the discarded phase was redone


def test_progress_without_tqdm_prints_iterations(data, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails: plain lines
    X, _ = data
    make(ScoreSDE, verbose=1, max_iter=40).fit(X)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("ScoreSDE on cpu: 2/40 [0:")
    assert lines[-1].startswith("ScoreSDE on cpu: 40/40 ") and "loss=" in lines[-1]
    # elapsed and remaining time, as tqdm shows them: none left at the end
    assert re.search(r"\[\d+:\d\d<\d+:\d\d\]", lines[0]), lines[0]
    assert "<0:00]" in lines[-1], lines[-1]


def test_device_cpu_explicit_and_auto(data):
    from skbridge._base import resolve_device

    X, Xt = data
    model = make(ScoreSDE, device="cpu").fit(X)
    assert model.device_.type == "cpu"
    if resolve_device("auto").type == "cpu":  # on a CPU-only machine "auto" is the CPU
        auto = make(ScoreSDE, device="auto").fit(X)
        np.testing.assert_array_equal(auto.score_samples(Xt), model.score_samples(Xt))


def test_diagnostics_split_the_elbo(data):
    X, Xt = data
    model = make(ScoreSDE).fit(X)
    diag = model.diagnostics(Xt)
    assert set(diag) == {"neg_elbo", "prior_term", "drift_term"}
    assert diag["neg_elbo"] == pytest.approx(-model.score(Xt))
    # (the plug-in prior term's maths is checked in test_sde_properties)
    assert np.isfinite(diag["prior_term"]) and np.isfinite(diag["drift_term"])


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", [ScoreSDE, SBVAE])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_rejected(cls, bad, data):
    X = data[0].copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        make(cls).fit(X)


@pytest.mark.parametrize("cls", [ScoreSDE, SBVAE])
def test_one_sample_and_zero_features_rejected(cls):
    with pytest.raises(ValueError, match="1 sample"):
        make(cls).fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="0 feature"):
        make(cls).fit(np.ones((5, 0)))


def test_wrong_feature_count_at_score_time(data):
    X, _ = data
    model = make(ScoreSDE).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.score_samples(np.ones((4, 3)))


def test_non_numeric_rejected():
    X = np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object)
    with pytest.raises(ValueError):
        make(ScoreSDE).fit(X)


def test_constant_feature_rejected_with_a_way_out():
    X = np.c_[np.random.RandomState(0).normal(size=(20, 2)), np.ones(20)]
    with pytest.raises(ValueError, match="VarianceThreshold"):
        make(ScoreSDE).fit(X)


def test_bad_sample_size(data):
    model = make(ScoreSDE).fit(data[0])
    for n in (0, -1, 2.5):
        with pytest.raises(ValueError, match="n_samples"):
            model.sample(n)


def test_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    for method in ("sample", "score_samples"):
        with pytest.raises(NotFittedError):
            getattr(make(ScoreSDE), method)(*(() if method == "sample" else (np.ones((2, 2)),)))


@pytest.mark.parametrize("cls", [ScoreSDE, SBVAE])
def test_non_finite_loss_names_iteration_and_keeps_previous_model(cls, data):
    X, Xt = data
    model = make(cls).fit(X)
    before = model.score_samples(Xt)
    attrs = dict(vars(model))
    model.set_params(learning_rate=1e30)
    with pytest.raises(TrainingError, match=r"iteration \d+"):
        model.fit(X)
    model.set_params(learning_rate=attrs["learning_rate"])
    np.testing.assert_array_equal(model.score_samples(Xt), before)
    assert model.n_iter_ == attrs["n_iter_"]


@pytest.mark.parametrize("cls", [ScoreSDE, SBVAE, FlowMatching, VAE])
def test_a_diverged_fit_with_a_finite_loss_is_refused(cls, data):
    """learning_rate=1e3 blows the weights up while the loss stays finite (about 1e31):
    such a fit used to be accepted and then sampled only NaN."""
    X, Xt = data
    small = dict(max_iter=40, hidden_layer_sizes=(16, 16), batch_size=64, random_state=0)
    if cls in (ScoreSDE, SBVAE):
        small.update(n_steps=10, n_elbo_samples=2)
    model = cls(**small).fit(X)
    before = model.sample(20, random_state=1)
    model.set_params(learning_rate=1e3)
    with pytest.raises(TrainingError, match="learning_rate|iteration"):
        model.fit(X)
    np.testing.assert_array_equal(model.sample(20, random_state=1), before)
    assert np.isfinite(before).all()


@pytest.mark.parametrize("value", [float("nan"), 1e7])
def test_unstable_samples_at_the_end_of_fit_warn(data, monkeypatch, value):
    """The end-of-fit probe: samples that are NaN, or 1e7 where the training rows stay
    within a few units, say the fit is far from convergence (the fit is kept)."""
    from sklearn.exceptions import ConvergenceWarning

    X, _ = data
    healthy = ScoreSDE._generate
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        make(ScoreSDE, max_iter=3000).fit(X)  # a converged fit does not warn
    monkeypatch.setattr(
        ScoreSDE,
        "_generate",
        lambda self, n, gen: torch.full((n, 2), value) + 0 * healthy(self, n, gen),
    )
    with pytest.warns(ConvergenceWarning, match="far from convergence"):
        model = make(ScoreSDE).fit(X)
    assert model.n_iter_ == FAST["max_iter"]


def test_an_undertrained_fit_whose_samples_spread_too_wide_warns(data):
    """Short fits sampled 19-40% of a table's floats beyond the training range (clipped
    onto min/max) without a word; now the end-of-fit probe counts them."""
    from sklearn.exceptions import ConvergenceWarning

    X, _ = data
    with pytest.warns(ConvergenceWarning, match=r"\d+% of the values .* outside the range"):
        model = make(ScoreSDE).fit(X)  # 40 iterations
    outside = (model.sample(500, random_state=1) < X.min(0)) | (
        model.sample(500, random_state=1) > X.max(0)
    )
    assert outside.mean() > 0.1  # what the warning says is so in the user's units


def _odd_inputs():
    nx = pytest.importorskip("networkx")
    G = nx.cycle_graph(4)
    return [
        ([None, G], TypeError, r"X\[0\] is a NoneType, not a networkx Graph"),
        ([G, G, np.zeros((3, 3))], TypeError, r"X\[2\] is a ndarray"),
        ([[], ["a"]], ValueError, "sequence 0 is empty"),
        (["ab", None], TypeError, "sequence 1 is a NoneType"),
        ([None, "ab"], TypeError, "sequence 0 is a NoneType"),
        ([], ValueError, "X is empty"),
    ]


def test_auto_data_reads_every_item_not_only_the_first():
    """data="auto" used to look at X[0] only: [None, G] and [[], ["a"]] got numpy-internal
    messages from the table path, ["ab", None] a bare 'not iterable'."""
    for X, error, message in _odd_inputs():
        with pytest.raises(error, match=message):
            make(ScoreSDE).fit(X)


def test_invalid_parameters_rejected(data):
    X, _ = data
    bad = [dict(sde="ve"), dict(n_steps=0), dict(elbo_form="x"), dict(max_iter=-1)]
    for params in bad + [dict(beta_min=2.0, beta_max=1.0)]:
        with pytest.raises(ValueError):
            make(ScoreSDE, **params).fit(X)
    with pytest.raises(ValueError):
        make(SBVAE, encoder="sometimes").fit(X)


def test_brownian_reference(data):
    X, Xt = data
    model = make(SBVAE, sde="brownian", sigma=2.0).fit(X)
    assert np.isfinite(model.score_samples(Xt)).all()
    assert model.sample(10, random_state=0).shape == (10, 2)


def test_joint_keeps_its_encoder_and_warm_start_continues_by_drift_matching(data):
    X, Xt = data
    model = make(SBVAE, encoder="joint", warm_start=True).fit(X)
    n_first = len(model.history_)
    assert model.encoder_kept_ and model.encoder_stopped_iter_ > 0
    # the kept encoder was trained: the zero-initialised drift h is no longer zero
    h = model.encoder_(torch.tensor(0.5), torch.as_tensor(Xt[:8], dtype=torch.float32))
    assert float(h.abs().max()) > 0
    model.fit(X)  # the kept encoder is frozen: the decoder trains on its cached paths
    assert {h["phase"] for h in model.history_[n_first:]} == {"decoder"}
    assert np.isfinite(model.score_samples(Xt)).all()
    assert np.isfinite(model.sample(20, random_state=0)).all()


@pytest.mark.parametrize("criterion", ["mmd", "gaussian_kl", "elbo"])
def test_encoder_criteria(criterion, data):
    # each stopping statistic runs, is recorded at every encoder check, and is what the
    # kept encoder is compared on; "elbo" also records the held-out -ELBO there
    X, _ = data
    model = make(SBVAE, encoder_criterion=criterion).fit(X)
    key = {"mmd": "prior_mismatch", "gaussian_kl": "prior_kl", "elbo": "val_neg_elbo"}[criterion]
    checks = [h for h in model.history_ if h["phase"] == "encoder"]
    assert len(checks) >= 2 and all(np.isfinite(h[key]) for h in checks)
    assert all("prior_mismatch" in h and "prior_kl" in h for h in checks)
    assert checks[0][key] == model.reference_prior_mismatch_
    by_iter = {h["encoder_iter"]: h for h in checks}
    assert model.prior_mismatch_ == by_iter[model.encoder_best_iter_][key]
    assert np.all(np.isfinite(model.score_samples(X[:20])))


def test_training_curve_monitor(data):
    # monitor_train: training-row -ELBO at every check
    X, _ = data
    model = make(SBVAE, encoder="joint", monitor_train=True).fit(X)
    assert all("train_neg_elbo" in h and "val_neg_elbo" in h for h in model.history_[1:])
    assert "train_neg_elbo" not in make(SBVAE).fit(X).history_[0]
    # ScoreSDE holds out validation rows too when the curves are monitored (else it would
    # monitor its training rows and its "held-out" curve would be the training curve)
    last = make(ScoreSDE, monitor_train=True).fit(X).history_[-1]
    assert last["train_neg_elbo"] != last["val_neg_elbo"]


@pytest.mark.parametrize("cls", [ScoreSDE, SBVAE, VAE, FlowMatching], ids=lambda c: c.__name__)
def test_scores_are_finite_or_minus_inf_never_nan(cls):
    # a row far outside the data overflowed the networks' float32 arithmetic: the VAE
    # scored a row at 1e20 (and series at 1e6) NaN; such rows now score -inf
    X = np.random.default_rng(0).normal(size=(200, 2))
    kw = dict(max_iter=30, hidden_layer_sizes=(16,), random_state=0)
    if cls in (ScoreSDE, SBVAE):
        kw.update(n_steps=8, n_elbo_samples=1)
    if cls is FlowMatching:  # its likelihood solves an ODE with a divergence per evaluation
        kw.update(n_steps=4, solver="euler")
    model = cls(**kw).fit(X)
    rows = np.array(
        [[1e300, 0.0], [-1e300, 1e300], [1e20, 0.0], [0.0, -1e38], [1e6, 0.0], [0.1, 0.2]]
    )
    s = model.score_samples(rows)
    assert not np.isnan(s).any() and not (s == np.inf).any(), s
    assert s[:2].tolist() == [-np.inf, -np.inf] and np.isfinite(s[-1])
    series = np.random.default_rng(1).normal(size=(60, 6, 2))
    seq = cls(**kw).fit(series).score_samples(np.concatenate([series[:2] * 1e6, series[:2] * 1e30]))
    assert not np.isnan(seq).any() and not (seq == np.inf).any(), seq


def test_iter_samples_streams_reproducible_chunks_in_bounded_memory(data):
    import tracemalloc

    X, _ = data
    model = make(ScoreSDE, n_steps=4).fit(X)
    chunks = list(model.iter_samples(25, chunk_size=10, random_state=3))
    assert [len(c) for c in chunks] == [10, 10, 5]
    again = list(model.iter_samples(25, chunk_size=10, random_state=3))
    for a, b in zip(chunks, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(chunks[0], chunks[1])  # each chunk has its own seed
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            next(model.iter_samples(10, chunk_size=bad))

    def peak_mib(consume):
        tracemalloc.start()
        try:
            consume()
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()

    n = 100_000  # 1.6 MB as one float64 array of two columns, 0.16 MB per chunk
    streamed = peak_mib(lambda: sum(len(c) for c in model.iter_samples(n, chunk_size=10_000)))
    whole = peak_mib(lambda: len(model.sample(n)))
    assert streamed < 0.25 * whole, (streamed, whole)


@pytest.mark.parametrize("cls", ["ScoreSDE", "SBVAE", "DiscreteDiffusion"])
def test_auto_max_iter_grows_with_the_table(cls, monkeypatch):
    """``max_iter="auto"``: a fixed count for graphs, a fixed number of passes over a table's
    rows between a floor and a cap (the constants are shrunk here to keep the fits short)."""
    import skbridge
    from skbridge.models import _base

    monkeypatch.setattr(_base, "AUTO_MAX_ITER", 6)
    monkeypatch.setattr(_base, "AUTO_TABLE_PASSES", 2)
    monkeypatch.setattr(_base, "AUTO_TABLE_MAX_ITER", 40)
    rng = np.random.default_rng(0)
    small = dict(random_state=0, hidden_layer_sizes=(8,), batch_size=10, n_steps=5)
    if cls == "DiscreteDiffusion":
        small.update(n_score_steps=2)
    else:
        small.update(n_elbo_samples=1)
    if cls == "SBVAE":
        small.update(encoder="frozen")  # n_iter_ counts decoder steps only

    def iterations(data, **params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few iterations: far from convergence
            return getattr(skbridge, cls)(**small, **params).fit(data).n_iter_

    assert iterations(rng.normal(size=(20, 2))) == 6  # 2 passes of 10-row batches: 4 < 6
    assert iterations(rng.normal(size=(95, 2))) == 19  # ceil(2 * 95 / 10)
    assert iterations(rng.normal(size=(500, 2))) == 40  # 100 passes' worth, capped
    assert iterations(rng.normal(size=(95, 2)), max_iter=7) == 7  # an explicit count wins
    nx = pytest.importorskip("networkx")
    graphs = [nx.path_graph(int(k)) for k in rng.integers(3, 7, 30)]
    assert iterations(graphs) == 6
