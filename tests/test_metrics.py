"""Sample-quality metrics: ideal values on same-law samples, clear degradation otherwise.

Tolerances are set from the sampling noise at the sizes used (500 rows per sample unless said
otherwise); every seed is fixed.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import ks_2samp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from skbridge.metrics import (
    _distances,
    c2st,
    column_shapes,
    correlation_similarity,
    dcr,
    energy_distance,
    make_sample_scorer,
    ml_efficiency,
    mmd_rbf,
)
from skbridge.metrics._tabular import _encode

N = 500
CHOL = np.linalg.cholesky(np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.4], [0.3, 0.4, 1.0]]))


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # HistGradientBoosting's OpenMP barriers crawl on a loaded 2-core machine; one thread is
    # as fast at these sizes and immune to the load of other processes
    with threadpool_limits(1):
        yield


def gauss(n, seed, shift=0.0):
    """Correlated 3-d Gaussian with unit variances; column 0 shifted by ``shift`` stds."""
    X = np.random.RandomState(seed).normal(size=(n, 3)) @ CHOL.T
    X[:, 0] += shift
    return X


@pytest.fixture(scope="module")
def pd():
    return pytest.importorskip("pandas")


def mixed(pd, n, seed, shift=0.0):
    """Numeric + string + bool + category columns, dependent on each other."""
    r = np.random.RandomState(seed)
    a = r.normal(size=n) + shift
    b = 0.8 * a + 0.6 * r.normal(size=n)
    color = np.where(
        a + 0.5 * r.normal(size=n) > 0, "red", np.where(r.rand(n) < 0.5, "green", "blue")
    )
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "color": pd.array(color, dtype="string"),
            "flag": r.rand(n) < 0.3,
            "size": pd.Categorical(r.choice(["S", "M", "L"], n, p=[0.2, 0.5, 0.3])),
        }
    )


@pytest.fixture(scope="module")
def arrays():
    return {"real": gauss(N, 0), "same": gauss(N, 1), "shifted": gauss(N, 2, shift=1.0)}


@pytest.fixture(scope="module")
def frames(pd):
    return {"real": mixed(pd, N, 0), "same": mixed(pd, N, 1), "shifted": mixed(pd, N, 2, 1.0)}


# ---------------------------------------------------------------------- energy distance
def _energy_reference(X, Y):
    return 2 * cdist(X, Y).mean() - cdist(X, X).mean() - cdist(Y, Y).mean()


def test_energy_distance_arrays_unchanged(arrays):
    X, Y = arrays["real"], arrays["same"] * [1.0, 10.0, 0.1]
    assert energy_distance(X, Y) == pytest.approx(_energy_reference(X, Y), rel=1e-10)
    mu, sd = X.mean(0), X.std(0)
    assert energy_distance(X, Y, standardize=X) == pytest.approx(
        _energy_reference((X - mu) / sd, (Y - mu) / sd), rel=1e-10
    )


def test_energy_distance_numeric_frame_matches_array_by_name(pd, arrays):
    X, Y = arrays["real"], arrays["same"]
    cols = ["u", "v", "w"]
    Xf = pd.DataFrame(X, columns=cols)
    Yf = pd.DataFrame(Y, columns=cols)[["w", "u", "v"]]  # matched by name, not position
    assert energy_distance(Xf, Yf) == pytest.approx(energy_distance(X, Y), rel=1e-12)


@pytest.mark.parametrize("data", ["arrays", "frames"])
def test_energy_distance_same_law_small_shift_large(data, request):
    d = request.getfixturevalue(data)
    same = energy_distance(d["real"], d["same"])
    # V-statistic noise level ~ E|x - x'| (1/n + 1/m) ~ 2.2 * 0.004 here
    assert 0 < same < 0.05
    assert energy_distance(d["real"], d["shifted"]) > 0.3


# ---------------------------------------------------------------------------------- mmd
def _mmd_reference(X, Y, sigma, unbiased):
    def k(A, B):
        return np.exp(-cdist(A, B, "sqeuclidean") / (2 * sigma**2))

    Kxx, Kyy, Kxy = k(X, X), k(Y, Y), k(X, Y)
    n, m = len(X), len(Y)
    if unbiased:
        return (Kxx.sum() - n) / (n * (n - 1)) + (Kyy.sum() - m) / (m * (m - 1)) - 2 * Kxy.mean()
    return Kxx.mean() + Kyy.mean() - 2 * Kxy.mean()


@pytest.mark.parametrize("unbiased", [True, False])
def test_mmd_chunked_sums_match_the_full_kernel(arrays, monkeypatch, unbiased):
    X, Y = arrays["real"][:300], arrays["shifted"][:200]
    expected = _mmd_reference(X, Y, 1.3, unbiased)
    full = mmd_rbf(X, Y, bandwidth=1.3, unbiased=unbiased, standardize=False)
    monkeypatch.setattr(_distances, "_CHUNK_ENTRIES", 1000)  # blocks of 3-5 rows
    chunked = mmd_rbf(X, Y, bandwidth=1.3, unbiased=unbiased, standardize=False)
    assert full == pytest.approx(expected, rel=1e-9)
    assert chunked == pytest.approx(expected, rel=1e-9)


def test_mmd_median_bandwidth_and_standardisation(arrays):
    X, Y = arrays["real"], arrays["same"]
    pooled = np.vstack([X, Y])
    mu, sd = X.mean(0), X.std(0)
    sigma = np.median(cdist((pooled - mu) / sd, (pooled - mu) / sd)[np.triu_indices(2 * N, 1)])
    expected = _mmd_reference((X - mu) / sd, (Y - mu) / sd, sigma, True)
    assert mmd_rbf(X, Y) == pytest.approx(expected, rel=1e-9)
    assert mmd_rbf(X, Y, unbiased=False) > mmd_rbf(X, Y) > -0.01


@pytest.mark.parametrize("data", ["arrays", "frames"])
def test_mmd_same_law_near_zero_shift_clearly_positive(data, request):
    d = request.getfixturevalue(data)
    # unbiased estimate: mean 0, sd of order 1/n = 0.002 under the null
    assert abs(mmd_rbf(d["real"], d["same"])) < 0.01
    assert mmd_rbf(d["real"], d["shifted"]) > 0.05


def test_mmd_bad_bandwidth(arrays):
    with pytest.raises(ValueError, match="bandwidth"):
        mmd_rbf(arrays["real"], arrays["same"], bandwidth="silverman")
    with pytest.raises(ValueError, match="bandwidth"):
        mmd_rbf(arrays["real"], arrays["same"], bandwidth=0.0)


# --------------------------------------------------------------------------------- c2st
def test_c2st_same_gaussian_near_half_shift_detected(arrays):
    # null AUC sd ~ sqrt((n+m+1) / (12 n m)) = 0.018; 0.08 leaves room for the fold noise
    assert abs(c2st(arrays["real"], arrays["same"]) - 0.5) < 0.08
    # the Bayes AUC for a 1-std mean shift in one coordinate is Phi(1/sqrt2) = 0.76
    assert c2st(arrays["real"], arrays["shifted"]) > 0.65


def test_c2st_mixed_frame(frames):
    auc = c2st(frames["real"], frames["same"])
    assert isinstance(auc, float) and abs(auc - 0.5) < 0.08
    assert c2st(frames["real"], frames["shifted"]) > 0.6


def test_c2st_max_rows_and_seed(arrays):
    a = c2st(arrays["real"], arrays["shifted"], max_rows=200, cv=3, random_state=1)
    assert a == c2st(arrays["real"], arrays["shifted"], max_rows=200, cv=3, random_state=1)
    assert a > 0.6


# ------------------------------------------------------------------------ column shapes
def test_column_shapes_definitions(pd):
    real = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "c": ["a", "a", "b", "b"]})
    syn = pd.DataFrame({"c": ["a", "b", "b", "z"], "x": [0.5, 1.5, 2.5, 10.0]})
    out = column_shapes(real, syn)
    ks = ks_2samp(real["x"], syn["x"]).statistic
    # frequencies (1/2, 1/2, 0) vs (1/4, 1/2, 1/4): TV = 1/4
    assert out["columns"] == {"x": pytest.approx(1 - ks), "c": pytest.approx(0.75)}
    assert out["mean"] == pytest.approx((1 - ks + 0.75) / 2)


def test_column_shapes_arrays(arrays):
    same = column_shapes(arrays["real"], arrays["same"])
    assert list(same["columns"]) == ["x0", "x1", "x2"]
    # KS at n = m = 500: the 99% quantile of the null statistic is 1.63 sqrt(2/500) = 0.10
    assert min(same["columns"].values()) > 0.89
    shifted = column_shapes(arrays["real"], arrays["shifted"])["columns"]
    # a 1-std shift has KS statistic 2 Phi(1/2) - 1 = 0.38
    assert shifted["x0"] < 0.7
    assert shifted["x1"] > 0.89 and shifted["x2"] > 0.89


def test_column_shapes_mixed_frame(frames):
    same = column_shapes(frames["real"], frames["same"])
    assert set(same["columns"]) == {"a", "b", "color", "flag", "size"}
    assert same["mean"] > 0.9
    shifted = column_shapes(frames["real"], frames["shifted"])
    assert shifted["columns"]["a"] < 0.7 and shifted["columns"]["color"] < 0.8
    assert shifted["mean"] < same["mean"] - 0.1


# --------------------------------------------------------------- correlation similarity
def test_correlation_similarity_definitions(pd):
    x = np.arange(20.0)
    real = pd.DataFrame({"x": x, "y": x, "c": ["p", "q"] * 10})
    syn = pd.DataFrame({"x": x, "y": -x, "c": ["p"] * 10 + ["q"] * 10})
    pairs = correlation_similarity(real, syn, bins=2)["pairs"]
    assert pairs[("x", "y")] == pytest.approx(0.0)  # rho 1 vs -1
    # x in 2 bins at the real median: real (low, p)=5, (low, q)=5, (high, p)=5, (high, q)=5;
    # synthetic (low, p)=10, (high, q)=10: TV = (1/4 + 1/4 + 1/4 + 1/4) / 2 = 1/2
    assert pairs[("x", "c")] == pytest.approx(0.5)
    # synthetic y < 0 lies below the real range, so all in the low bin: (low, p)=10,
    # (low, q)=10, TV = (1/4 + 1/4 + 1/4 + 1/4) / 2 = 1/2
    assert pairs[("y", "c")] == pytest.approx(0.5)
    assert correlation_similarity(real, real)["mean"] == 1.0


def test_correlation_similarity_sdmetrics_binning(pd):
    # SDMetrics' QualityReport cuts each table's numeric column into equal-width bins over its
    # own range and codes it with numpy.digitize, so the maximum has a bin of its own.
    real = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "c": ["x", "x", "y", "z"]})
    swapped = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "c": ["x", "x", "z", "y"]})
    # bins=2, edges [0, 1.5, 3]: real (1, x) (1, x) (2, y) (3, z), synthetic (2, z) (3, y):
    # TV = (1/4 + 1/4 + 1/4 + 1/4) / 2
    sdm = correlation_similarity(real, swapped, bins=2, binning="sdmetrics")["pairs"]
    assert sdm[("a", "c")] == pytest.approx(0.5)
    # at the real median the maximum shares the upper bin: (1, y) (1, z) in both tables
    assert correlation_similarity(real, swapped, bins=2)["pairs"][("a", "c")] == 1.0
    # each table's own range: a shifted copy bins like the real rows (quantile bins do not)
    shifted = real.assign(a=real["a"] + 10.0)
    assert correlation_similarity(real, shifted, bins=2, binning="sdmetrics")["mean"] == 1.0
    assert correlation_similarity(real, shifted, bins=2)["pairs"][("a", "c")] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="binning"):
        correlation_similarity(real, real, binning="equal")


def test_quality_report_matches_sdmetrics(pd, frames):
    """Column shapes and pair trends (sdmetrics binning) equal SDMetrics' QualityReport with
    every pair counted, as published tables report it (run where the benchmark extra is)."""
    reports = pytest.importorskip("sdmetrics.reports.single_table")
    real, syn = frames["real"], frames["shifted"]
    sdtypes = {"a": "numerical", "b": "numerical", "flag": "boolean"}
    meta = {"columns": {c: {"sdtype": sdtypes.get(c, "categorical")} for c in real.columns}}
    report = reports.QualityReport()
    report.real_correlation_threshold = report.real_association_threshold = 0
    report.generate(real, syn, meta, verbose=False)
    shape, trend = report.get_properties()["Score"]
    assert column_shapes(real, syn)["mean"] == pytest.approx(shape, abs=1e-12)
    ours = correlation_similarity(real, syn, binning="sdmetrics")["mean"]
    assert ours == pytest.approx(trend, abs=1e-12)


def test_correlation_similarity_same_law_high_independent_columns_low(arrays):
    real = arrays["real"]
    assert correlation_similarity(real, arrays["same"])["mean"] > 0.95
    rng = np.random.RandomState(0)
    broken = np.column_stack([rng.permutation(c) for c in arrays["same"].T])
    # true correlations 0.6, 0.3, 0.4 vs about 0: scores about 0.7, 0.85, 0.8
    assert correlation_similarity(real, broken)["mean"] < 0.85


def test_correlation_similarity_mixed_frame(frames):
    same = correlation_similarity(frames["real"], frames["same"])
    assert len(same["pairs"]) == 10
    assert same["mean"] > 0.85  # contingency tables of up to 30 cells from 500 rows
    shifted = correlation_similarity(frames["real"], frames["shifted"])
    assert shifted["mean"] < same["mean"] - 0.1


def test_correlation_similarity_one_column_is_nan_quietly(arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = correlation_similarity(arrays["real"][:, :1], arrays["same"][:, :1])
    assert out["pairs"] == {} and np.isnan(out["mean"])


# ---------------------------------------------------------------------------------- dcr
def test_dcr_copies_versus_same_law(arrays):
    train, holdout = arrays["real"], gauss(N, 10)
    copies = train[np.random.RandomState(0).choice(N, N)]
    out = dcr(train, holdout, copies)
    assert out["share"] == 1.0 and out["ratio"] == 0.0 and out["median_synthetic"] == 0.0
    fresh = dcr(train, holdout, arrays["same"])
    # binomial sd of the share is 0.022 at 500 rows; the train/holdout draw adds a little
    assert abs(fresh["share"] - 0.5) < 0.07 and fresh["ideal_share"] == 0.5
    assert 0.8 < fresh["ratio"] < 1.25


def test_dcr_ideal_share_with_unequal_sizes(arrays):
    out = dcr(arrays["real"], gauss(1500, 10), arrays["same"])
    assert out["ideal_share"] == 0.25
    assert abs(out["share"] - 0.25) < 0.07


def test_dcr_mixed_frame(frames, pd):
    train = frames["real"]
    copies = train.sample(N, replace=True, random_state=0)
    assert dcr(train, frames["same"], copies)["share"] == 1.0
    fresh = dcr(train, frames["same"], mixed(pd, N, 3))
    assert abs(fresh["share"] - 0.5) < 0.07


def test_encode_standardises_and_one_hot_distance_one(pd):
    ref = pd.DataFrame({"x": [0.0, 2.0], "c": ["a", "b"]})
    other = pd.DataFrame({"c": ["z", "a"], "x": [1.0, 4.0]})
    (R, O) = _encode(ref, ref, other)
    # x standardised by mean 1, std 1; categories a, b, z one-hot times 1/sqrt2
    assert R.shape == O.shape == (2, 4)
    np.testing.assert_allclose(R[:, 0], [-1.0, 1.0])
    np.testing.assert_allclose(O[:, 0], [0.0, 3.0])
    assert np.linalg.norm(R[0, 1:] - R[1, 1:]) == pytest.approx(1.0)
    assert np.linalg.norm(O[0, 1:] - R[0, 1:]) == pytest.approx(1.0)


# ------------------------------------------------------------------------ ml efficiency
def classification_frame(pd, n, seed):
    r = np.random.RandomState(seed)
    x1, x2 = r.normal(size=n), r.normal(size=n)
    group = r.choice(["u", "v", "w"], n)
    logit = 2 * x1 - x2 + np.where(group == "u", 1.5, -0.5)
    y = r.rand(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"x1": x1, "x2": x2, "group": group, "y": y})


def test_ml_efficiency_classification(pd):
    train, test = classification_frame(pd, 800, 0), classification_frame(pd, 800, 1)
    copy = ml_efficiency(train, test, train.copy(), "y")
    assert copy["metric"] == "roc_auc" and copy["real"] > 0.8
    assert copy["difference"] == 0.0  # same rows, same seed: the same model
    same = ml_efficiency(train, test, classification_frame(pd, 800, 2), "y")
    assert abs(same["difference"]) < 0.05
    shuffled = train.assign(y=np.random.RandomState(0).permutation(train["y"].to_numpy()))
    bad = ml_efficiency(train, test, shuffled, "y")
    assert abs(bad["synthetic"] - 0.5) < 0.1 and bad["difference"] > 0.25


def test_ml_efficiency_multiclass_missing_class_and_snapped_labels():
    r = np.random.RandomState(0)

    def make(n):
        x = r.normal(size=(n, 2))
        y = np.digitize(x[:, 0] + 0.3 * r.normal(size=n), [-0.7, 0.7])  # 0, 1, 2
        return np.column_stack([x, y])

    train, test = make(600), make(600)
    syn = make(600)
    syn = syn[syn[:, 2] != 2]  # the synthetic rows lack class 2
    out = ml_efficiency(train, test, syn, target=2)
    assert out["metric"] == "roc_auc"
    assert out["real"] > 0.85 and 0.5 < out["synthetic"] < out["real"]
    noisy = make(600)
    noisy[:, 2] += r.uniform(-0.3, 0.3, size=600)  # continuous labels, snapped to 0, 1, 2
    snapped = ml_efficiency(train, test, noisy, target=-1, task="classification")
    assert abs(snapped["difference"]) < 0.05


def test_ml_efficiency_regression():
    r = np.random.RandomState(0)

    def make(n):
        x = r.normal(size=(n, 3))
        return np.column_stack([x, x[:, 0] - 2 * x[:, 1] + 0.3 * r.normal(size=n)])

    train, test = make(600), make(600)
    good = ml_efficiency(train, test, make(600), target=3)
    assert good["metric"] == "r2" and good["real"] > 0.85 and abs(good["difference"]) < 0.1
    shuffled = train.copy()
    shuffled[:, 3] = r.permutation(shuffled[:, 3])
    bad = ml_efficiency(train, test, shuffled, target=3)
    assert bad["synthetic"] < 0.1 and bad["difference"] > 0.75


class _StrictLabels(BaseEstimator):
    """A logistic regression that, like XGBoost, refuses class labels other than 0..k-1, and
    records the width of what it was fitted on."""

    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression

        if not np.array_equal(np.unique(y), np.arange(len(np.unique(y)))):
            raise ValueError(f"labels must be 0..k-1, got {np.unique(y)}")
        self.n_features_seen_ = X.shape[1]
        self.model_ = LogisticRegression(max_iter=1000).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def test_ml_efficiency_user_estimator(pd):
    from sklearn.linear_model import LinearRegression

    train, test = classification_frame(pd, 800, 0), classification_frame(pd, 800, 1)
    out = ml_efficiency(
        train, test, classification_frame(pd, 800, 2), "y", estimator=_StrictLabels()
    )
    # the logit is linear in x1, x2 and the one-hot group: logistic regression fits it
    assert out["real"] > 0.8 and abs(out["difference"]) < 0.05
    # a synthetic set without the first class: the classes seen are 1, 2, given as 0, 1
    r = np.random.RandomState(0)
    x = r.normal(size=(900, 2))
    y = np.digitize(x[:, 0], [-0.7, 0.7]).astype(float)
    table = np.column_stack([x, y])
    keep = table[table[:, 2] != 0]
    three = ml_efficiency(table[:600], table[600:], keep, target=2, estimator=_StrictLabels())
    assert three["real"] > 0.9 and 0.5 < three["synthetic"] < three["real"]
    # regression through a user's regressor
    reg = np.column_stack([x, x[:, 0] - 2 * x[:, 1]])
    lin = ml_efficiency(
        reg[:600], reg[600:], reg[:600], 2, task="regression", estimator=LinearRegression()
    )
    assert lin["real"] == pytest.approx(1.0) and lin["difference"] == 0.0


def test_ml_efficiency_user_estimator_sees_one_hot_categories(pd):
    train = classification_frame(pd, 300, 0)
    seen = []

    class Spy(_StrictLabels):
        def fit(self, X, y):
            seen.append(X.shape[1])
            return super().fit(X, y)

    ml_efficiency(train, train, train, "y", estimator=Spy())
    assert seen == [2 + 3, 2 + 3]  # x1, x2 and the three groups, for the real and synthetic fit


def test_ml_efficiency_bad_target(pd):
    train = classification_frame(pd, 100, 0)
    with pytest.raises(ValueError, match="target 'z'"):
        ml_efficiency(train, train, train, "z")
    with pytest.raises(ValueError, match="categorical"):
        ml_efficiency(train, train, train, "group", task="regression")
    with pytest.raises(ValueError, match="column index"):
        ml_efficiency(train.to_numpy(), train.to_numpy(), train.to_numpy(), "y")


# ------------------------------------------------------------------------------ scorers
class GaussianSampler(BaseEstimator):
    """A fitted Gaussian whose covariance is scaled by ``scale**2``."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        self.mean_ = X.mean(0)
        self.cov_ = np.cov(X, rowvar=False) * self.scale**2
        self.n_features_in_ = X.shape[1]
        return self

    def sample(self, n_samples=1, random_state=None):
        return check_random_state(random_state).multivariate_normal(
            self.mean_, self.cov_, size=n_samples
        )


class NoInverse(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * 2.0


def test_scorer_in_cross_val_score(arrays):
    X = np.vstack([arrays["real"], arrays["same"]])
    scorer = make_sample_scorer("energy_distance")
    good = cross_val_score(GaussianSampler(), X, scoring=scorer, cv=3)
    wide = cross_val_score(GaussianSampler(scale=2.0), X, scoring=scorer, cv=3)
    assert np.all(good < 0) and np.all(good > -0.05)  # minus the noise level
    assert wide.mean() < good.mean() - 0.1


def test_scorer_selects_the_right_scale_in_grid_search(arrays):
    X = np.vstack([arrays["real"], arrays["same"]])
    search = GridSearchCV(
        GaussianSampler(), {"scale": [0.5, 1.0, 2.0]}, scoring=make_sample_scorer("mmd"), cv=3
    ).fit(X)
    assert search.best_params_ == {"scale": 1.0}


@pytest.mark.parametrize(
    "metric, low, high",
    [
        ("c2st", -0.58, -0.42),  # minus an AUC near 0.5
        ("column_shapes", 0.88, 1.0),
        ("correlation_similarity", 0.9, 1.0),
        ("mmd", -0.01, 0.01),
    ],
)
def test_named_scorers_greater_is_better(arrays, metric, low, high):
    model = GaussianSampler().fit(arrays["real"])
    value = make_sample_scorer(metric)(model, arrays["same"])
    assert low < value < high


def test_scorer_pipeline_samples_are_inverse_transformed(arrays):
    shift, scale = np.array([10.0, -3.0, 0.0]), np.array([5.0, 1.0, 0.1])
    X = arrays["real"] * scale + shift
    pipe = Pipeline([("scale", StandardScaler()), ("gen", GaussianSampler())]).fit(X)
    seen = []

    def keep(real, synthetic):
        seen.append(np.asarray(synthetic))
        return 0.0

    make_sample_scorer(keep, n_samples=4000)(pipe, X)
    S = seen[0]
    assert S.shape == (4000, 3)
    # 4000 draws: the sample means are within 4 std errors (4 sd / 63) of the truth
    np.testing.assert_allclose(S.mean(0), shift, atol=4 * 5.0 / 63)
    np.testing.assert_allclose(S.std(0), X.std(0), rtol=0.05)
    scorer = make_sample_scorer("energy_distance", standardize=X)
    holdout = arrays["same"] * scale + shift
    assert scorer(pipe, holdout) > -0.05  # the noise level, as without the pipeline


def test_scorer_pipeline_step_without_inverse_transform(arrays):
    pipe = Pipeline([("noinv", NoInverse()), ("gen", GaussianSampler())]).fit(arrays["real"])
    with pytest.raises(TypeError, match="'noinv'.*inverse_transform"):
        make_sample_scorer("mmd")(pipe, arrays["same"])


def test_scorer_with_sklearn_gaussian_mixture(arrays):
    # GaussianMixture.sample(n) takes no random_state and returns (X, labels)
    scores = cross_val_score(
        GaussianMixture(random_state=0), arrays["real"], scoring=make_sample_scorer("mmd"), cv=2
    )
    assert np.all(np.abs(scores) < 0.02)


def test_scorer_callable_metric_sign_and_repr(arrays):
    model = GaussianSampler(scale=2.0).fit(arrays["real"])

    def std_gap(real, synthetic):
        return float(np.abs(np.std(real, 0) - np.std(synthetic, 0)).mean())

    lower = make_sample_scorer(std_gap, n_samples=2000)
    higher = make_sample_scorer(std_gap, n_samples=2000, greater_is_better=True)
    assert lower(model, arrays["same"]) == pytest.approx(-higher(model, arrays["same"]))
    assert higher(model, arrays["same"]) > 0.8  # stds 2 vs 1
    assert repr(lower) == (
        "make_sample_scorer(std_gap, n_samples=2000, random_state=0, greater_is_better=False)"
    )
    assert repr(make_sample_scorer("mmd", bandwidth=1.0)) == (
        "make_sample_scorer('mmd', n_samples=None, random_state=0, bandwidth=1.0)"
    )


def test_scorer_argument_errors(arrays):
    with pytest.raises(ValueError, match="unknown metric"):
        make_sample_scorer("kl")
    with pytest.raises(TypeError, match="does not accept"):
        make_sample_scorer("mmd", bins=3)
    with pytest.raises(ValueError, match="greater_is_better"):
        make_sample_scorer("mmd", greater_is_better=True)
    with pytest.raises(ValueError, match="n_samples"):
        make_sample_scorer("mmd", n_samples=0)
    with pytest.raises(TypeError, match="no sample method"):
        make_sample_scorer("mmd")(StandardScaler().fit(arrays["real"]), arrays["same"])


# -------------------------------------------------------------------------- bad inputs
def _call(name, A, B):
    return {
        "energy_distance": lambda: energy_distance(A, B),
        "mmd_rbf": lambda: mmd_rbf(A, B),
        "c2st": lambda: c2st(A, B),
        "column_shapes": lambda: column_shapes(A, B),
        "correlation_similarity": lambda: correlation_similarity(A, B),
        "dcr": lambda: dcr(A, A, B),
        "ml_efficiency": lambda: ml_efficiency(A, A, B, 0 if isinstance(A, np.ndarray) else "a"),
    }[name]()


METRICS = [
    "energy_distance",
    "mmd_rbf",
    "c2st",
    "column_shapes",
    "correlation_similarity",
    "dcr",
    "ml_efficiency",
]


@pytest.mark.parametrize("name", METRICS)
def test_mismatched_columns_raise(name, frames, arrays):
    real = frames["real"]
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['z'\]"):
        _call(name, real, real.rename(columns={"b": "z"}))
    with pytest.raises(ValueError, match="has 2 columns but"):
        _call(name, arrays["real"], arrays["same"][:, :2])


@pytest.mark.parametrize("name", METRICS)
def test_missing_values_raise(name, frames, arrays):
    X = arrays["same"].copy()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _call(name, arrays["real"], X)
    bad = frames["same"].copy()
    bad["color"] = bad["color"].astype(object)
    bad.loc[5, "color"] = None
    with pytest.raises(ValueError, match="'color' contains missing values"):
        _call(name, frames["real"], bad)


def test_other_bad_inputs(frames, arrays):
    with pytest.raises(ValueError, match="2-D"):
        column_shapes(arrays["real"][:, 0], arrays["same"][:, 0])
    text = frames["same"].assign(a="high")
    with pytest.raises(ValueError, match="'a' is numeric in real"):
        column_shapes(frames["real"], text)


def test_frame_against_array_matches_by_position(frames):
    real = frames["real"][["a", "b"]]
    syn = frames["same"][["a", "b"]].to_numpy()  # e.g. what a generator's sample returns
    out = column_shapes(real, syn)
    assert list(out["columns"]) == ["a", "b"] and out["mean"] > 0.89


def test_metrics_work_without_pandas():
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import numpy as np\n"
        "import skbridge.metrics as m\n"
        "X = np.random.RandomState(0).normal(size=(60, 2))\n"
        "C = np.array([['a', 'b', 'c'][i % 3] for i in range(60)], dtype=object)[:, None]\n"
        "M = np.hstack([X.astype(object), C])\n"
        "print(m.energy_distance(M, M[::-1]), m.column_shapes(M, M)['mean'],\n"
        "      m.dcr(X, X + 1, X)['share'], m.correlation_similarity(M, M)['mean'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    ed, shapes, share, corr = map(float, out.stdout.split())
    assert abs(ed) < 1e-12 and shapes == 1.0 and share == 1.0 and corr == 1.0
