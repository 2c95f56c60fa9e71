"""sample_pipeline: samples of a generator mapped back through the earlier steps."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from skbridge import ScoreSDE, sample_pipeline

FAST = dict(max_iter=40, n_steps=10, hidden_layer_sizes=(16,), batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal([100.0, -50.0, 3.0], [10.0, 5.0, 0.1], size=(300, 3))


def test_samples_come_back_in_the_input_units(data):
    model = ScoreSDE(**{**FAST, "max_iter": 400, "n_steps": 25, "hidden_layer_sizes": (32, 32)})
    pipe = make_pipeline(SimpleImputer(), StandardScaler(), PCA(3), model).fit(data)
    out = sample_pipeline(pipe, 500, random_state=0)
    assert out.shape == (500, 3)
    # the generator works on whitened data; samples must be back in the data's units
    assert np.all(np.abs(out.mean(0) - data.mean(0)) < data.std(0))
    assert np.all(out.std(0) > 0.3 * data.std(0)) and np.all(out.std(0) < 3 * data.std(0))
    np.testing.assert_array_equal(out, sample_pipeline(pipe, 500, random_state=0))


def test_sklearn_generators_and_bare_estimators(data):
    pipe = make_pipeline(StandardScaler(), GaussianMixture(2, random_state=0)).fit(data)
    assert sample_pipeline(pipe, 7).shape == (7, 3)
    model = ScoreSDE(**FAST).fit(data)
    np.testing.assert_array_equal(
        sample_pipeline(model, 4, random_state=1), model.sample(4, random_state=1)
    )


def test_step_without_inverse_is_named(data):
    pipe = make_pipeline(PolynomialFeatures(2, include_bias=False), ScoreSDE(**FAST)).fit(data)
    with pytest.raises(TypeError, match="'polynomialfeatures'.*inverse_transform"):
        sample_pipeline(pipe, 3)
    with pytest.raises(TypeError, match="no sample method"):
        sample_pipeline(make_pipeline(StandardScaler(), PCA(2)).fit(data), 3)


def test_a_pipeline_fitted_on_a_dataframe_samples_a_dataframe_within_range(data):
    # samples came back as a bare array, a fifth of them beyond the training range
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(data, columns=["mass", "depth", "ph"])
    model = ScoreSDE(**{**FAST, "max_iter": 20})  # undertrained: wide samples
    pipe = make_pipeline(StandardScaler(), model).fit(frame)
    out = sample_pipeline(pipe, 400, random_state=0)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["mass", "depth", "ph"]
    lo, hi = frame.min().to_numpy(), frame.max().to_numpy()
    span = hi - lo
    assert np.all(out.to_numpy() >= lo - 1e-9 * span) and np.all(out.to_numpy() <= hi + 1e-9 * span)
    raw = sample_pipeline(pipe, 400, random_state=0, clip=False)
    outside = (raw.to_numpy() < lo) | (raw.to_numpy() > hi)
    assert outside.any()  # the clip did something here
    np.testing.assert_array_equal(
        np.clip(raw.to_numpy(), lo, hi)[~outside], out.to_numpy()[~outside]
    )
    # arrays stay arrays, unclipped by default
    arr = sample_pipeline(make_pipeline(StandardScaler(), model).fit(data), 400, random_state=0)
    assert isinstance(arr, np.ndarray)
    with pytest.raises(ValueError, match="clip"):
        sample_pipeline(pipe, 3, clip="yes")
