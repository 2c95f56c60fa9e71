"""skbridge.save / load / read_metadata: the model files of the command line."""

import json
import zipfile

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skbridge
from skbridge import ModelFileError, ScoreSDE, load, read_metadata, save
from skbridge.data import make_two_moons


@pytest.fixture(scope="module")
def model():
    X = make_two_moons(200, random_state=0)
    return ScoreSDE(max_iter=20, n_steps=10, hidden_layer_sizes=(16,), random_state=0).fit(X)


def test_round_trip_gives_the_same_samples_and_scores(model, tmp_path):
    path = tmp_path / "m.skb"
    save(model, path, metadata={"source": "moons", "columns": None})
    back = load(path)
    X = make_two_moons(20, random_state=1)
    np.testing.assert_array_equal(back.sample(7, random_state=3), model.sample(7, random_state=3))
    np.testing.assert_array_equal(back.score_samples(X), model.score_samples(X))
    header = read_metadata(path)
    assert header["class"] == "skbridge.models._score_sde.ScoreSDE"
    assert header["fitted"] is True and header["params"]["max_iter"] == 20
    assert header["params"]["hidden_layer_sizes"] == [16]
    assert header["metadata"] == {"source": "moons", "columns": None}
    assert header["skbridge_version"] == skbridge.__version__


def test_unfitted_estimators_and_pipelines(tmp_path):
    save(ScoreSDE(max_iter=5), tmp_path / "u.skb")
    assert read_metadata(tmp_path / "u.skb")["fitted"] is False
    assert load(tmp_path / "u.skb").get_params()["max_iter"] == 5
    pipe = make_pipeline(StandardScaler(), ScoreSDE(max_iter=5, n_steps=5))
    pipe.fit(make_two_moons(100, random_state=0))
    save(pipe, tmp_path / "p.skb")
    assert read_metadata(tmp_path / "p.skb")["class"] == "sklearn.pipeline.Pipeline"
    assert load(tmp_path / "p.skb").score(make_two_moons(10, random_state=1)) == pytest.approx(
        pipe.score(make_two_moons(10, random_state=1))
    )


def test_other_files_are_refused_before_unpickling(model, tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ModelFileError, match="not a skbridge model file"):
        load(tmp_path / "x.csv")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("skbridge.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ModelFileError, match="not a skbridge model file"):
        read_metadata(tmp_path / "other.zip")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skb")


def _rewrite_header(src, dst, **changes):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "skbridge.json":
                data = json.dumps({**json.loads(data), **changes}).encode()
            zout.writestr(item, data)


def test_newer_formats_are_refused_and_other_versions_warned(model, tmp_path):
    save(model, tmp_path / "m.skb")
    _rewrite_header(tmp_path / "m.skb", tmp_path / "new.skb", format_version=99)
    with pytest.raises(ModelFileError, match="upgrade skbridge"):
        load(tmp_path / "new.skb")
    _rewrite_header(tmp_path / "m.skb", tmp_path / "old.skb", skbridge_version="0.0.1")
    with pytest.warns(UserWarning, match="written by skbridge 0.0.1"):
        assert load(tmp_path / "old.skb").n_iter_ == model.n_iter_
