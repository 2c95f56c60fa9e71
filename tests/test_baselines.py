"""The VAE and FlowMatching baselines: sklearn's checks, the estimator contract, their maths."""

import copy
import math
import pickle

import joblib
import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

from skbridge import VAE, FlowMatching, TrainingError
from skbridge.data import make_two_moons
from skbridge.sde import ode_log_likelihood as flow_log_likelihood

VAE_FAST = dict(max_iter=40, hidden_layer_sizes=(16, 16), batch_size=64, n_importance_samples=8)
FM_FAST = dict(max_iter=40, n_steps=8, hidden_layer_sizes=(16, 16), batch_size=64)


def make(cls, **kw):
    base = VAE_FAST if cls is VAE else FM_FAST
    return cls(**{**base, "random_state": 0, **kw})


CLASSES = [pytest.param(VAE, id="VAE"), pytest.param(FlowMatching, id="FlowMatching")]


@pytest.fixture(scope="module")
def data():
    X = make_two_moons(300, random_state=0)
    return X[:200], X[200:]


@pytest.fixture(scope="module")
def fitted(data):
    X, _ = data
    return {cls: make(cls).fit(X) for cls in (VAE, FlowMatching)}


# ---------------------------------------------------------------------- sklearn's checks
@parametrize_with_checks(
    [
        VAE(
            random_state=0,
            max_iter=20,
            hidden_layer_sizes=(16,),
            batch_size=32,
            n_importance_samples=4,
        ),  # fmt: skip
        FlowMatching(
            random_state=0, max_iter=20, n_steps=8, hidden_layer_sizes=(16,), batch_size=32
        ),  # fmt: skip
    ]
)
def test_sklearn_compatible(estimator, check):
    # score_samples draws each row's noise from a hash of the row, so even
    # check_methods_subset_invariance passes here (float32 rows give bit-equal results on CPU)
    check(estimator)


# ------------------------------------------------------------------------- the contract
@pytest.mark.parametrize("cls", CLASSES)
def test_same_random_state_same_model_other_differs(cls, data):
    X, Xt = data
    a = make(cls).fit(X)
    b = make(cls).fit(X)
    np.testing.assert_array_equal(a.score_samples(Xt), b.score_samples(Xt))
    np.testing.assert_array_equal(a.sample(20, random_state=3), b.sample(20, random_state=3))
    c = make(cls, random_state=1).fit(X)
    assert not np.allclose(a.score_samples(Xt), c.score_samples(Xt))


@pytest.mark.parametrize("cls", CLASSES)
def test_sample_reproducible_and_independent_of_earlier_calls(cls, fitted, data):
    X, _ = data
    model = fitted[cls]
    first = model.sample(50, random_state=0)
    model.sample(17)  # unseeded draws in between must not matter
    model.score_samples(X[:5])
    again = model.sample(50, random_state=0)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (50, 2) and np.isfinite(first).all()
    assert not np.array_equal(first, model.sample(50, random_state=1))


@pytest.mark.parametrize("cls", CLASSES)
def test_fit_never_touches_the_global_torch_rng(cls, data):
    X, _ = data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make(cls, max_iter=5).fit(X).sample(5, random_state=0)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


@pytest.mark.parametrize(
    "cls, probe",
    [(VAE, "exact"), (FlowMatching, "exact"), (FlowMatching, "hutchinson")],  # VAE: no divergence
    ids=["VAE", "FlowMatching-exact", "FlowMatching-hutchinson"],
)
def test_score_samples_per_row_independent_of_batch(cls, probe, fitted, data):
    _, Xt = data
    model = fitted[cls]
    if probe == "hutchinson":
        model = copy.deepcopy(model).set_params(exact_divergence_max_dim=0)
    full = model.score_samples(Xt)
    perm = np.random.RandomState(0).permutation(len(Xt))
    np.testing.assert_allclose(model.score_samples(Xt[perm]), full[perm], rtol=1e-5)
    np.testing.assert_allclose(model.score_samples(Xt[:7]), full[:7], rtol=1e-5)
    assert model.score(Xt) == pytest.approx(full.mean())
    assert np.isfinite(full).all()


@pytest.mark.parametrize("cls", CLASSES)
def test_pickle_and_joblib_round_trip(cls, fitted, data, tmp_path):
    _, Xt = data
    model = fitted[cls]
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    for loaded in (joblib.load(path), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(loaded.score_samples(Xt), model.score_samples(Xt))
        np.testing.assert_array_equal(
            loaded.sample(5, random_state=0), model.sample(5, random_state=0)
        )
        assert loaded.device_.type in ("cpu", "cuda")
    state = model.__getstate__()
    assert "device_" not in state
    for name in model._torch_attributes:
        assert all(p.device.type == "cpu" for p in state[name].parameters())


@pytest.mark.parametrize("cls", CLASSES)
def test_mixed_dataframe_round_trip(cls):
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    n = 120
    X = pd.DataFrame(
        {
            "f": rng.normal(size=n),
            "i": rng.randint(0, 5, size=n).astype("int64"),
            "c": pd.Categorical(rng.choice(["lo", "mid", "hi"], size=n)),
            "s": rng.choice(["a", "b"], size=n).astype(object),
            "b": rng.rand(n) < 0.3,
        }
    )
    model = make(cls).fit(X)
    S = model.sample(200, random_state=0)
    assert list(S.columns) == list(X.columns)
    assert (S.dtypes == X.dtypes).all(), (S.dtypes, X.dtypes)
    assert set(S["c"]) <= {"lo", "mid", "hi"} and set(S["s"]) <= {"a", "b"}
    assert set(S["b"]) <= {True, False}
    assert S["i"].between(0, 4).all()
    scores = model.score_samples(X.iloc[:20])
    assert scores.shape == (20,) and np.isfinite(scores).all()
    np.testing.assert_array_equal(model.score_samples(X.iloc[:20]), scores)
    assert list(model.feature_names_in_) == list(X.columns)
    # discrete scores are log-probabilities bounded by log 1 times a density in "f"
    unseen = X.iloc[:3].copy()
    unseen["s"] = ["zzz", "a", "b"]
    with pytest.raises(ValueError, match="not seen in fit"):
        model.score_samples(unseen)


@pytest.mark.parametrize("cls", CLASSES)
def test_discrete_scores_are_log_probabilities(cls):
    # integer x categorical table: exp(score) of the cells that hold all the mass sums to 1
    # in expectation for the VAE (joint importance sampling over dequantisation and latent
    # makes exp(IWAE) unbiased) and to <= 1 for the flow (the dequantisation bound). The
    # integer column's cells are 0.23 wide in standard units: a missing or doubled
    # log q(v|x) would scale the sum by about 4.4 or 1/4.4.
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"i": rng.poisson(20, size=400), "c": rng.choice(list("xyz"), size=400)})
    model = make(cls, max_iter=300, hidden_layer_sizes=(32, 32)).fit(X)
    cells = pd.DataFrame([(i, c) for i in range(61) for c in "xyz"], columns=["i", "c"])
    if cls is VAE:
        total = np.exp(model.set_params(n_importance_samples=1024).score_samples(cells)).sum()
        assert 0.85 < total < 1.15
    else:
        total = np.exp(model.set_params(n_dequantization_samples=8).score_samples(cells)).sum()
        assert 0.25 < total <= 1.0


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("c", [0.01, 250.0])
def test_rescaling_a_feature_shifts_scores_by_log_c(cls, c, data):
    X, Xt = data
    scale = np.array([c, 1.0])
    a = make(cls).fit(X).score_samples(Xt)
    b = make(cls).fit(X * scale).score_samples(Xt * scale)
    np.testing.assert_allclose(b, a - np.log(c), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cls", CLASSES)
def test_history_early_stopping_and_warm_start(cls, data):
    X, _ = data
    model = make(cls, warm_start=True).fit(X)
    assert model.n_iter_ == 40 and model.history_[-1]["iteration"] == 40
    assert {"iteration", "time", "loss", "val_neg_log_lik"} <= set(model.history_[0])
    assert all(np.isfinite(h["val_neg_log_lik"]) for h in model.history_)
    w0 = [p.detach().clone() for p in model._module().parameters()]
    model.fit(X)
    assert model.n_iter_ == 80 and model.history_[-1]["iteration"] == 80
    w1 = list(model._module().parameters())
    assert not all(torch.equal(a, b) for a, b in zip(w0, w1, strict=True))
    cold = clone(model).set_params(warm_start=False).fit(X)
    assert cold.n_iter_ == 40
    stopped = make(cls, max_iter=2000, early_stopping=True, n_iter_no_change=2, tol=10.0).fit(X)
    # the first check sets the best, two more without a 10-nat gain stop the fit
    assert stopped.n_iter_ == 3 * (2000 // 20) and len(stopped.history_) == 3


@pytest.mark.parametrize("cls", CLASSES)
def test_verbose_progress(cls, data, capsys):
    make(cls, max_iter=10, verbose=1).fit(data[0])
    err = capsys.readouterr().err
    assert cls.__name__ in err or "loss" in err  # a tqdm bar named after it, or plain lines
    make(cls, max_iter=10).fit(data[0])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("cls", CLASSES)
def test_non_finite_loss_names_iteration_and_keeps_previous_model(cls, data):
    X, Xt = data
    model = make(cls).fit(X)
    before = model.score_samples(Xt)
    n_iter = model.n_iter_
    model.set_params(learning_rate=1e30)
    with pytest.raises(TrainingError, match=r"iteration \d+"):
        model.fit(X)
    model.set_params(learning_rate=1e-3)
    np.testing.assert_array_equal(model.score_samples(Xt), before)
    assert model.n_iter_ == n_iter


@pytest.mark.parametrize("cls", CLASSES)
def test_bad_input_rejected(cls, data):
    X, _ = data
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[3, 1] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            make(cls).fit(Xb)
    with pytest.raises(ValueError, match="1 sample"):
        make(cls).fit(np.ones((1, 2)))
    model = make(cls, max_iter=2).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.score_samples(np.ones((4, 3)))
    with pytest.raises(ValueError, match="features"):
        model.score_samples(np.ones((4, 1)))


@pytest.mark.parametrize(
    "cls, params",
    [
        (VAE, dict(latent_dim=0)),
        (VAE, dict(beta=-1.0)),
        (VAE, dict(n_importance_samples=0)),
        (FlowMatching, dict(solver="rk4")),
        (FlowMatching, dict(n_steps=0)),
        (FlowMatching, dict(ema_decay=1.0)),
    ],
)
def test_invalid_parameters_rejected(cls, params, data):
    with pytest.raises(ValueError):
        make(cls, **params).fit(data[0])


# -------------------------------------------------------------- FlowMatching's likelihood
class _LinearFlow(nn.Module):
    r"""The field of :math:`x_t = A(t) x_0 + t m`, :math:`A(t) = I + t(S - I)`: it carries
    N(0, I) at t = 0 exactly to N(m, S S^T) at t = 1, with divergence
    :math:`\operatorname{tr}((S - I) A(t)^{-1})`."""

    def __init__(self, m, S):
        super().__init__()
        self.register_buffer("m", torch.as_tensor(m, dtype=torch.float32))
        self.register_buffer("S", torch.as_tensor(S, dtype=torch.float32))

    def forward(self, t, x):
        eye = torch.eye(self.m.numel())
        A = eye + t * (self.S - eye)
        x0 = torch.linalg.solve(A, (x - t * self.m).T).T
        return x0 @ (self.S - eye).T + self.m


@pytest.mark.parametrize(
    "m, S",
    [([0.7], [[2.0]]), ([0.5], [[0.4]]), ([1.0, -0.5], [[1.5, 0.0], [0.8, 0.6]])],
    ids=["1d-wide", "1d-narrow", "2d-correlated"],
)
def test_flow_likelihood_matches_closed_form_of_a_linear_field(m, S):
    m, S = np.array(m), np.array(S)
    d = m.size
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, d)) * np.exp(rng.normal(size=d)) + rng.normal(size=d)
    model = make(FlowMatching, n_steps=100, max_iter=2).fit(X)
    model.velocity_ = _LinearFlow(m, S)
    # the codec standardises: in the user's units x = mu + sd * v with v ~ N(m, S S^T)
    mu, sd = X.mean(0), X.std(0)
    Xt = mu + sd * (m + rng.normal(size=(40, d)) @ S.T)
    expected = stats.multivariate_normal(mu + sd * m, np.diag(sd) @ S @ S.T @ np.diag(sd))
    np.testing.assert_allclose(model.score_samples(Xt), expected.logpdf(Xt), atol=1e-3)
    # the Euler grid is first order: still close, but less accurate
    euler = model.set_params(solver="euler").score_samples(Xt)
    assert np.abs(euler - expected.logpdf(Xt)).max() < 0.1
    # sampling solves the same flow forwards
    V = (model.set_params(solver="heun").sample(4000, random_state=0) - mu) / sd
    np.testing.assert_allclose(V.mean(0), m, atol=0.1)
    np.testing.assert_allclose(np.cov(V.T).reshape(d, d), S @ S.T, atol=0.15)


def test_flow_log_likelihood_routine_against_normal_logpdf():
    field = _LinearFlow([0.3], [[1.7]])
    grid = torch.linspace(0.0, 1.0, 101)
    x = torch.linspace(-3.0, 3.0, 13)[:, None]
    ll = flow_log_likelihood(field, x, grid, "heun").numpy()
    np.testing.assert_allclose(ll, stats.norm.logpdf(x[:, 0].numpy(), 0.3, 1.7), atol=1e-3)


def test_hutchinson_agrees_with_exact_divergence_in_expectation():
    # a field with a non-symmetric Jacobian, so the Rademacher estimate has variance
    field = _LinearFlow([1.0, -0.5, 0.2], [[1.5, 0.0, 0.0], [0.8, 0.6, 0.0], [-0.4, 0.3, 1.2]])
    grid = torch.linspace(0.0, 1.0, 21)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 3, generator=gen)
    exact = flow_log_likelihood(field, x, grid, "heun")
    probes = torch.randint(0, 2, (40, 4000, 3), generator=gen).float() * 2 - 1
    hutch = flow_log_likelihood(field, x, grid, "heun", probes)
    diff = (hutch - exact).double().numpy()
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert diff.std() > 1e-3  # the estimate is noisy ...
    assert abs(diff.mean()) < 4 * se  # ... and unbiased


def test_hutchinson_scores_of_a_fitted_flow_are_unbiased(fitted):
    model = fitted[FlowMatching]
    X = make_two_moons(400, random_state=5)
    exact = model.score_samples(X)
    hutch = copy.deepcopy(model).set_params(exact_divergence_max_dim=0).score_samples(X)
    diff = hutch - exact
    assert diff.std() > 1e-4
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(diff.size)


# ------------------------------------------------------------------ VAE's IWAE bound
class _LinearDecoder(nn.Module):
    """``z -> (W z + b, log D)``: the linear-Gaussian model v ~ N(b, W W^T + D)."""

    def __init__(self, W, b, D):
        super().__init__()
        self.W = torch.as_tensor(W, dtype=torch.float32)
        self.b = torch.as_tensor(b, dtype=torch.float32)
        self.log_d = torch.log(torch.as_tensor(D, dtype=torch.float32))

    def forward(self, z):
        return z @ self.W.T + self.b, self.log_d.expand(z.shape[0], -1)


class _LinearEncoder(nn.Module):
    """``v -> (M (v - b) + shift, log var * inflate)``; exact posterior when shift=0, inflate=1."""

    def __init__(self, W, b, D, shift=0.0, inflate=1.0):
        super().__init__()
        post_var = 1.0 / (1.0 + (W[:, 0] ** 2 / D).sum())
        self.M = torch.as_tensor(post_var * W[:, 0] / D, dtype=torch.float32)
        self.b = torch.as_tensor(b, dtype=torch.float32)
        self.log_var = math.log(post_var * inflate)
        self.shift = shift

    def forward(self, v):
        mean = ((v - self.b) @ self.M)[:, None] + self.shift
        return mean, torch.full_like(mean, self.log_var)


def test_iwae_equals_the_closed_form_marginal_of_a_linear_gaussian_vae():
    W, b, D = np.array([[1.2], [-0.7]]), np.array([0.3, -0.2]), np.array([0.3, 0.5])
    rng = np.random.RandomState(0)
    V = b + rng.normal(size=(60, 1)) @ W.T + rng.normal(size=(60, 2)) * np.sqrt(D)
    mean, std = np.array([5.0, -1.0]), np.array([2.0, 0.1])
    X = mean + std * V  # user units
    model = make(VAE, latent_dim=1, max_iter=2).fit(X)
    cm, cs = X.mean(0), X.std(0)  # the codec's standardisation
    exact = stats.multivariate_normal(
        cm + cs * b, np.diag(cs) @ (W @ W.T + np.diag(D)) @ np.diag(cs)
    )
    model.decoder_ = _LinearDecoder(W, b, D)
    model.encoder_ = _LinearEncoder(W, b, D)
    truth = exact.logpdf(X)
    # with the exact posterior as proposal every importance weight is p(v): tight at S = 1
    model.set_params(n_importance_samples=1)
    np.testing.assert_allclose(model.score_samples(X), truth, atol=1e-4)
    # a poor proposal: a bound that tightens towards the marginal as S grows
    model.encoder_ = _LinearEncoder(W, b, D, shift=0.8, inflate=3.0)
    means = {}
    for S in (1, 16, 1024):
        means[S] = model.set_params(n_importance_samples=S).score_samples(X).mean()
    assert means[1] < means[16] < means[1024] <= truth.mean() + 0.01
    assert truth.mean() - means[1] > 0.3
    assert truth.mean() - means[1024] < 0.05
    # samples carry the decoder noise: covariance W W^T + D, not the rank-1 W W^T
    Vs = (model.sample(4000, random_state=0) - cm) / cs
    np.testing.assert_allclose(np.cov(Vs.T), W @ W.T + np.diag(D), atol=0.1)
    np.testing.assert_allclose(Vs.mean(0), b, atol=0.1)


def test_iwae_increases_with_importance_samples_on_a_fitted_vae(data):
    # beta < 1 trains an encoder narrower than the posterior: a loose bound at S = 1
    X, Xt = data
    model = make(VAE, beta=0.2, max_iter=300, hidden_layer_sizes=(32, 32)).fit(X)
    means = [model.set_params(n_importance_samples=S).score_samples(Xt).mean() for S in (1, 8, 64)]
    assert means[0] + 0.05 < means[1] < means[2] - 0.02


def test_vae_latent_dim(fitted, data):
    assert fitted[VAE].latent_dim_ == 2  # max(2, min(d, 16)) for d = 2
    assert make(VAE, latent_dim=5, max_iter=2).fit(data[0]).latent_dim_ == 5
    assert (
        make(VAE, max_iter=2).fit(np.random.RandomState(0).normal(size=(30, 20))).latent_dim_ == 16
    )
