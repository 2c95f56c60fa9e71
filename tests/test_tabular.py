"""The tabular codec and the generators on DataFrames (numeric, integer, categorical columns)."""

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import norm

from skbridge import SBVAE, ScoreSDE
from skbridge.data import TabularCodec

pd = pytest.importorskip("pandas")

FAST = dict(max_iter=60, n_steps=10, hidden_layer_sizes=(32, 32), batch_size=64, n_elbo_samples=2)
SB_FAST = dict(FAST, encoder_min_iter=2, encoder_max_iter=4, validation_interval=2)


def mixed_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "height": rng.normal(170.0, 10.0, n),
            "count": rng.poisson(3.0, n).astype("int64"),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])),
            "city": rng.choice(["Oslo", "Rome"], n).astype(object),
            "member": rng.random(n) < 0.3,
            "small": rng.normal(0.0, 1.0, n).astype("float32"),
            "code": pd.Series(rng.integers(0, 4, n), dtype="Int64"),
        }
    )


def perturbed(codec, P, seed=0):
    P = torch.as_tensor(P, dtype=torch.float64)
    u = torch.rand(P.shape[0], codec.n_latent_, generator=torch.Generator().manual_seed(seed))
    return codec.perturb(P, u.double())


# ---------------------------------------------------------------------------------- codec
def test_codec_round_trip_through_any_dequantisation_draw():
    X = mixed_frame()
    codec = TabularCodec().fit(X)
    P, _ = codec.encode(X)
    for seed in range(3):
        v, _ = perturbed(codec, P, seed)
        back = codec.decode(v.numpy())
        assert list(back.columns) == list(X.columns)
        assert (back.dtypes == X.dtypes).all()
        for col in ("count", "colour", "city", "member", "code"):
            assert (back[col] == X[col]).all(), col
        np.testing.assert_allclose(back["height"], X["height"], rtol=1e-10)
        np.testing.assert_allclose(back["small"], X["small"], rtol=1e-6)


@pytest.mark.parametrize("numeric", ["standard", "quantile"])
def test_float_log_jacobian_matches_finite_differences(numeric):
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.lognormal(size=500), "b": rng.normal(size=500)})
    codec = TabularCodec(numeric=numeric, n_quantiles=50).fit(X)
    Y = X.iloc[:40].copy()
    P, offset = codec.encode(Y)
    h = 1e-6
    jac = 0.0
    for col in ("a", "b"):
        Yh = Y.copy()
        Yh[col] = Yh[col] + h
        Ph, _ = codec.encode(Yh)
        j = list(X.columns).index(col)
        jac = jac + np.log((Ph[:, j] - P[:, j]) / h)
    np.testing.assert_allclose(offset, jac, atol=1e-4)
    back = codec.decode(P)
    np.testing.assert_allclose(back.to_numpy(), Y.to_numpy(), rtol=1e-9, atol=1e-9)


def test_categorical_dequantisation_density_is_normalised():
    # E_q[r(v) / q(v)] = P_r(argmax v = c) for any density r; with r the untruncated
    # N(mu e_c, s^2 I) the right side is estimated independently by direct simulation.
    X = pd.DataFrame({"c": ["a", "b", "c", "d"] * 5})
    codec = TabularCodec().fit(X)
    P, _ = codec.encode(X.iloc[[0]])
    n = 200_000
    v, log_q = perturbed(codec, np.repeat(P, n, 0), seed=3)
    mu, s = 1.0, 0.25
    mean = np.zeros(4)
    mean[0] = mu
    log_r = norm.logpdf(v.numpy(), mean, s).sum(1)
    ratio = np.exp(log_r - log_q.numpy())
    rng = np.random.default_rng(0)
    direct = (rng.normal(mean, s, (n, 4)).argmax(1) == 0).mean()
    se = np.sqrt(ratio.var() / n + direct * (1 - direct) / n)
    assert abs(ratio.mean() - direct) < 4 * se + 1e-12
    assert (v.numpy().argmax(1) == 0).all()


def test_integer_interval_and_log_q():
    X = pd.DataFrame({"k": np.arange(10), "x": np.linspace(0, 1, 10)})
    codec = TabularCodec(integers="standard").fit(X)
    P, _ = codec.encode(X)
    v, log_q = perturbed(codec, P)
    width = P[:, codec.n_latent_]
    np.testing.assert_allclose(log_q.numpy(), -np.log(width), rtol=1e-6)
    np.testing.assert_allclose(width, 1.0 / X["k"].std(ddof=0), rtol=1e-9)


def test_integer_quantile_map_gives_frequent_values_wide_intervals():
    rng = np.random.default_rng(0)
    k = np.where(rng.random(2000) < 0.9, 0, rng.integers(1, 5000, 2000))  # a spike at 0
    X = pd.DataFrame({"k": k, "x": rng.normal(size=2000)})
    codec = TabularCodec().fit(X)
    P, _ = codec.encode(X)
    width = P[:, codec.n_latent_]
    # the spike owns about the Gaussian-score interval of its 90% of mass
    assert width[k == 0].min() > 2.0 and width[k > 0].max() < 0.05
    for seed in range(3):
        v, _ = perturbed(codec, P, seed)
        np.testing.assert_array_equal(codec.decode(v.numpy())["k"], k)


def test_high_cardinality_pools_rare_categories_and_samples_them_by_frequency():
    values = [f"v{i}" for i in range(8)]
    X = pd.DataFrame({"c": np.repeat(values, [40, 30, 20, 10, 4, 3, 2, 1]), "x": np.arange(110.0)})
    with pytest.warns(UserWarning, match="max_categories=4"):
        codec = TabularCodec(max_categories=4).fit(X)
    assert codec.n_latent_ == 1 + 4
    P, offset = codec.encode(X)
    pooled = X["c"].isin(values[3:]).to_numpy()
    total = 10 + 4 + 3 + 2 + 1
    expected = np.log(
        X["c"].map({v: c / total for v, c in zip(values[3:], [10, 4, 3, 2, 1], strict=True)})
    )
    np.testing.assert_allclose(offset[pooled] - offset[~pooled][0], expected[pooled])
    V = np.zeros((4000, codec.n_latent_))
    V[:, 3] = 1.0  # "c" is v0, v1, v2, other: rows with "other" hot decode to pooled ones
    out = codec.decode(V, random_state=0)["c"].value_counts(normalize=True)
    assert set(out.index) == set(values[3:])
    assert abs(out["v3"] - 10 / total) < 4 * np.sqrt(0.5 * 0.5 / 4000)


# ------------------------------------------------------------------------------ bad input
def test_missing_values_name_the_columns_and_the_imputer():
    X = mixed_frame(50)
    X.loc[3, "height"] = np.nan
    X.loc[5, "city"] = None
    with pytest.raises(ValueError, match=r"\['height', 'city'\].*SimpleImputer"):
        ScoreSDE(**FAST).fit(X)


def test_unseen_category_at_score_time():
    X = mixed_frame(100)
    model = ScoreSDE(**FAST, random_state=0).fit(X)
    Y = X.iloc[:5].copy()
    Y["city"] = ["Oslo", "Paris", "Rome", "Oslo", "Oslo"]
    with pytest.raises(ValueError, match=r"'city'.*not seen in fit.*Paris"):
        model.score_samples(Y)


def test_duplicated_columns_rejected():
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 3)), columns=["a", "b", "a"])
    with pytest.raises(ValueError, match="duplicated column names"):
        ScoreSDE(**FAST).fit(X)


@pytest.mark.parametrize("dtype", ["Float64", "Float32", "double[pyarrow]"])
def test_nullable_and_arrow_float_columns(dtype):
    """What pd.read_csv(dtype_backend=...) returns: these used to crash fit."""
    if "pyarrow" in dtype:
        pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=80), "y": pd.Series(rng.normal(size=80)).round(2)})
    X["y"] = X["y"].astype(dtype)
    model = ScoreSDE(**FAST, random_state=0).fit(X)
    S = model.sample(30, random_state=0)
    assert S["y"].dtype == X["y"].dtype
    y = S["y"].to_numpy(dtype=np.float64)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, np.round(y, 2), atol=1e-6)  # recorded at 0.01, as trained
    scores = model.score_samples(X.iloc[:10])
    np.testing.assert_allclose(scores, model.score_samples(X.iloc[:10].astype({"y": float})))


def test_fractional_value_in_an_integer_column_has_probability_zero():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=80), "k": rng.integers(0, 5, 80)})
    model = ScoreSDE(**FAST, random_state=0).fit(X)
    rows = pd.DataFrame({"x": [0.1, 0.1, 0.1], "k": [2.0, 2.5, 2.0]})
    scores = model.score_samples(rows)
    assert np.isfinite(scores[[0, 2]]).all() and scores[1] == -np.inf
    np.testing.assert_allclose(scores[0], model.score_samples(rows.iloc[[0]].astype({"k": int})))


def test_unsupported_dtype_rejected_with_advice():
    X = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=20), "x": np.arange(20.0)})
    with pytest.raises(TypeError, match="'t' has dtype datetime64"):
        ScoreSDE(**FAST).fit(X)
    # the advice works (nanosecond integers, the old advice, scored -inf everywhere)
    days = (X["t"] - X["t"].min()).dt.total_seconds() / 86400
    model = ScoreSDE(**FAST, random_state=0).fit(X.assign(t=days))
    assert np.isfinite(model.score_samples(X.assign(t=days))).all()


@pytest.mark.parametrize("dtype", ["int64", "uint64", "Int64"])
def test_integers_beyond_2_to_the_51_are_refused_by_name(dtype):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=30), "ns": 1_600_000_000_000_000_000 + np.arange(30)})
    X["ns"] = X["ns"].astype(dtype)
    with pytest.raises(ValueError, match="column 'ns' has integers up to 16000000000000000"):
        ScoreSDE(**FAST).fit(X)
    X["ns"] = pd.Series(2**51 - 1000 * np.arange(30)).astype(dtype)  # at the limit: exact
    ScoreSDE(**FAST, random_state=0).fit(X)


def test_constant_columns():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=60), "one": ["same"] * 60})
    with pytest.warns(UserWarning, match="single category"):
        model = ScoreSDE(**FAST, random_state=0).fit(X)
    assert (model.sample(20, random_state=0)["one"] == "same").all()
    with pytest.raises(ValueError, match="constant"), pytest.warns(UserWarning):
        ScoreSDE(**FAST).fit(X.assign(k=3.0))
    with pytest.raises(ValueError, match="every column"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ScoreSDE(**FAST).fit(X[["one"]])


def test_type_change_at_score_time_rejected():
    X = mixed_frame(100)
    model = ScoreSDE(**FAST, random_state=0).fit(X)
    Y = X.iloc[:5].copy()
    Y["height"] = "tall"
    with pytest.raises(ValueError, match="'height' was numeric"):
        model.score_samples(Y)


def test_string_array_error_points_to_dataframes():
    X = np.array([["a", "1"], ["b", "2"], ["c", "3"]], dtype=object)
    with pytest.raises(ValueError, match="DataFrame"):
        ScoreSDE(**FAST).fit(X)


# ----------------------------------------------------------------------------- estimators
@pytest.mark.parametrize("cls,kw", [(ScoreSDE, FAST), (SBVAE, SB_FAST)])
def test_dataframe_in_dataframe_out(cls, kw):
    X = mixed_frame()
    model = cls(**kw, random_state=0).fit(X)
    assert list(model.feature_names_in_) == list(X.columns)
    out = model.sample(200, random_state=1)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(X.columns) and (out.dtypes == X.dtypes).all()
    assert set(out["colour"].unique()) <= set(X["colour"].cat.categories)
    assert set(out["city"].unique()) <= {"Oslo", "Rome"}
    assert out["count"].between(X["count"].min(), X["count"].max()).all()
    assert list(out["colour"].cat.categories) == list(X["colour"].cat.categories)
    scores = model.score_samples(X.iloc[:20])
    assert scores.shape == (20,) and np.isfinite(scores).all()
    # a row's score does not depend on the other rows scored with it
    np.testing.assert_allclose(model.score_samples(X.iloc[[7]]), scores[[7]], rtol=1e-5)
    # the same table as a numpy array of objects, by position (with sklearn's name warning)
    with pytest.warns(UserWarning, match="feature names"):
        again = model.score_samples(X.iloc[:20].to_numpy(dtype=object))
    np.testing.assert_allclose(again, scores, rtol=1e-5)


def test_rescaling_a_float_column_shifts_the_score_by_minus_log_c():
    X = mixed_frame()
    c = 1000.0
    Xc = X.assign(height=X["height"] * c)
    a = ScoreSDE(**FAST, random_state=0).fit(X).score_samples(X.iloc[:30])
    b = ScoreSDE(**FAST, random_state=0).fit(Xc).score_samples(Xc.iloc[:30])
    np.testing.assert_allclose(b - a, -np.log(c), atol=2e-3)


def test_discrete_scores_are_log_probabilities_that_sum_to_at_most_one():
    # a table of two discrete columns: exp(score) over all 3 x 4 cells is a lower bound on
    # probabilities, so its sum is <= 1 (up to the Monte Carlo error of the ELBO estimate)
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame(
        {"c": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]), "k": rng.integers(0, 4, n)}
    )
    kw = dict(max_iter=1000, n_steps=50, hidden_layer_sizes=(64, 64), n_elbo_samples=8)
    model = ScoreSDE(**kw, random_state=0).fit(X)
    grid = pd.DataFrame([(c, k) for c in "abc" for k in range(4)], columns=["c", "k"])
    total = np.exp(model.score_samples(grid)).sum()
    # without the -log q(v|x) term the sum comes out about 4x larger (above 1)
    assert 0.1 < total <= 1.02


def test_heaped_float_values_come_back_with_their_frequencies():
    """A float column recorded to 0.1 whose values are mostly whole numbers (as diamonds'
    ``table``) is modelled on its grid: each value owns a cell whose Gaussian mass is about
    its frequency, so decoding N(0, 1) draws (what a perfect model samples) gives the whole
    numbers their training share; a density rounded to 0.1 spread them over the tenths."""
    rng = np.random.default_rng(0)
    n = 2000
    x = np.where(rng.random(n) < 0.9, rng.integers(50, 60, n), np.round(rng.uniform(50, 60, n), 1))
    X = pd.DataFrame({"table": x.astype(float), "y": rng.normal(size=n)})
    codec = TabularCodec().fit(X)
    assert codec.resolutions_ == {"table": 0.1} and codec.kinds_["table"] == "float"
    out = codec.decode(rng.normal(size=(20000, codec.n_latent_)))

    def whole(v):
        return np.isclose(v, np.round(v)).mean()

    assert out["table"].dtype == np.float64
    assert abs(whole(out["table"]) - whole(X["table"])) < 0.02  # 0.91 here
    # encoding then dequantising lands every row inside its own cell
    P, _ = codec.encode(X)
    v, _ = codec.perturb(torch.as_tensor(P), torch.rand(n, codec.n_latent_, dtype=torch.float64))
    np.testing.assert_array_equal(codec.decode(v.numpy())["table"], X["table"])


def test_a_float_whose_values_hardly_repeat_stays_a_density():
    """Recorded to 0.01 but nearly every value distinct (as wine's columns): a grid's
    quantile map would put a knot at every training value and overfit, so the column stays
    a density (its score the log-density at the value), with samples still rounded."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"alcohol": np.round(rng.normal(13.0, 0.8, 150), 2)})
    codec = TabularCodec().fit(X)
    assert codec.resolutions_ == {} and not codec.has_discrete_
    P, offset = codec.encode(X)
    np.testing.assert_allclose(
        P[:, 0], (X["alcohol"] - X["alcohol"].mean()) / X["alcohol"].std(ddof=0)
    )
    out = codec.decode(rng.normal(size=(500, 1)))
    np.testing.assert_allclose(out["alcohol"] * 100, np.round(out["alcohol"] * 100), atol=1e-6)


def test_a_float_on_a_grid_scores_as_a_density_in_its_units():
    """A grid float's score is the model's probability of the value's cell over the step:
    exp(score) * step sums to at most 1 over the grid (a bound), rescaling the column by c
    shifts the score by -log c, and a value off the grid scores as its cell's multiple."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"h": rng.choice([0.0, 0.5, 1.0, 1.5], 600, p=[0.4, 0.3, 0.2, 0.1])})
    kw = dict(max_iter=1000, n_steps=50, hidden_layer_sizes=(64, 64), n_elbo_samples=8)
    model = ScoreSDE(**kw, random_state=0).fit(X)
    assert model.codec_.resolutions_ == {"h": 0.5}
    grid = pd.DataFrame({"h": [0.0, 0.5, 1.0, 1.5]})
    score = model.score_samples(grid)
    total = 0.5 * np.exp(score).sum()
    assert 0.5 < total <= 1.02, total
    scaled = ScoreSDE(**kw, random_state=0).fit(X * 10)
    np.testing.assert_allclose(scaled.score_samples(grid * 10) - score, -np.log(10), atol=1e-6)
    off = model.score_samples(pd.DataFrame({"h": [0.6, 1.4]}))
    np.testing.assert_allclose(off, score[[1, 3]])


def test_quantile_codec_through_the_estimator_and_data_validation():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"skewed": rng.lognormal(0, 1, 300), "k": rng.integers(0, 9, 300)})
    model = ScoreSDE(**FAST, data=TabularCodec(numeric="quantile"), random_state=0).fit(X)
    assert model.codec_.numeric == "quantile" and model.data.numeric == "quantile"
    out = model.sample(50, random_state=0)
    assert (out.dtypes == X.dtypes).all() and np.isfinite(out["skewed"]).all()
    assert np.isfinite(model.score_samples(X.iloc[:10])).all()
    with pytest.raises(ValueError, match="data"):
        ScoreSDE(**FAST, data="image").fit(X)


def test_float_resolution_and_range_are_kept_in_samples():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "mm": np.round(rng.gamma(2.0, 0.1, 400) / 0.005) * 0.005 + 0.01,  # 0.005 grid
            "g": rng.integers(1, 80, 400) * 25.0,  # multiples of 25
            "free": rng.normal(size=400),
        }
    )
    codec = TabularCodec().fit(X)
    steps = {c.name: c.step for c in codec._cols}
    assert steps == {"mm": 0.005, "g": 25.0, "free": None}
    V = rng.normal(0, 3, size=(2000, 3))  # far tails too
    out = codec.decode(V)
    np.testing.assert_allclose(out["mm"] / 0.005, np.round(out["mm"] / 0.005), atol=1e-9)
    np.testing.assert_allclose(out["g"] % 25.0, 0.0, atol=1e-9)
    for col in X.columns:
        assert out[col].between(X[col].min(), X[col].max()).all(), col
    raw = TabularCodec(round_floats=False, clip_floats=False).fit(X).decode(V)
    assert raw["mm"].min() < X["mm"].min() and not np.allclose(raw["g"] % 25.0, 0.0)
    # numeric arrays: plain draws from the model unless asked
    arr = TabularCodec().fit(X.to_numpy()).decode(V)
    np.testing.assert_allclose(arr, raw.to_numpy())


@pytest.mark.parametrize("scale", [1e-160, 1e-13, 1e160, 1e300])
def test_columns_of_any_magnitude_are_modelled_in_their_units(scale):
    # squares of values beyond ~1e154 overflow (and below ~1e-162 underflow) in float64:
    # standardising raw values gave +-inf samples and -inf scores, and a spread of 1e-13
    # was called constant
    X = np.random.default_rng(0).normal(size=(200, 2)) * [1.0, 3.0] + [0.5, -2.0]
    base, big = TabularCodec().fit(X), TabularCodec().fit(X * scale)
    P0, off0 = base.encode(X)
    P1, off1 = big.encode(X * scale)
    np.testing.assert_allclose(P1, P0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(off1 - off0, -2 * np.log(scale), rtol=1e-12)
    np.testing.assert_allclose(big.decode(P1), X * scale, rtol=1e-9)
    model = ScoreSDE(**FAST, random_state=0).fit(X * scale)
    assert np.isfinite(model.sample(50, random_state=0)).all()
    ref = ScoreSDE(**FAST, random_state=0).fit(X).score_samples(X[:20])
    np.testing.assert_allclose(
        model.score_samples(X[:20] * scale) - ref, -2 * np.log(scale), atol=1e-3
    )
