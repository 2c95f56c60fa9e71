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


class _Exploit:
    """Unpickling this calls os.system: what a malicious model file does."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def _write_payload(path, obj, version=2):
    import io

    import joblib
    import torch

    buffer = io.BytesIO()
    if version == 2:
        torch.save(obj, buffer)
    else:
        joblib.dump(obj, buffer)
    header = {
        "format": "skbridge-model",
        "format_version": version,
        "skbridge_version": skbridge.__version__,
    }
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("skbridge.json", json.dumps(header))
        zf.writestr({1: "model.joblib", 2: "model.pt"}[version], buffer.getvalue())


@pytest.mark.parametrize("version", [1, 2])
def test_a_model_file_that_runs_code_when_opened_is_refused(tmp_path, version):
    # model files were joblib pickles: opening a crafted one ran its code
    marker = tmp_path / "pwned"
    _write_payload(tmp_path / "evil.skb", {"model": _Exploit(marker)}, version)
    with pytest.raises(ModelFileError, match="trust"):
        load(tmp_path / "evil.skb")
    assert not marker.exists()
    if version == 1:  # the old format opens only when trusted, and then it is a pickle
        load(tmp_path / "evil.skb", trusted=True)
        assert marker.exists()


def _kinds():
    pd = pytest.importorskip("pandas")
    nx = pytest.importorskip("networkx")
    from skbridge.data import make_dna

    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "c": pd.Categorical(rng.choice(list("xyz"), n)),
            "s": rng.choice(["u", "v"], n).astype(object),
            "b": rng.random(n) < 0.5,
            "I": pd.array(rng.integers(0, 3, n), dtype="Int64"),
            "F": pd.array(rng.normal(size=n), dtype="Float64"),
            "st": pd.array(rng.choice(["p", "q"], n), dtype="string"),
            "pa": pd.array(rng.normal(size=n), dtype="double[pyarrow]"),
        }
    )
    graphs = [nx.gnp_random_graph(6, 0.4, seed=i) for i in range(20)]
    return {
        "frame": frame,
        "series": rng.normal(size=(30, 6, 2)),
        "dna": make_dna(30, length=(20, 24), random_state=0),
        "ids": [[1, 2, 3], [2, 3], [4]] * 10,
        "graphs": graphs,
    }


# every model and every data kind once (their networks: MLPs, temporal convolutions, the
# graph network; pandas, Arrow and nullable dtypes)
PAIRS = [("SBVAE", "series"), ("ScoreSDE", "graphs"), ("ScoreSDE", "ids"), ("VAE", "dna")]
PAIRS += [("FlowMatching", "frame"), ("ScoreSDE", "frame")]


@pytest.mark.parametrize("cls, kind", PAIRS)
def test_every_model_and_data_kind_opens_without_trusting(cls, kind, tmp_path):
    import warnings

    X = _kinds()[kind]
    kw = dict(max_iter=4, random_state=0, data="sequence" if kind == "ids" else "auto")
    if cls == "SBVAE":
        kw.update(encoder_min_iter=1, encoder_max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = getattr(skbridge, cls)(**kw).fit(X)
    save(model, tmp_path / "m.skb")
    back = load(tmp_path / "m.skb")
    a, b = model.sample(5, random_state=1), back.sample(5, random_state=1)
    if kind == "frame":
        pd = pytest.importorskip("pandas")
        pd.testing.assert_frame_equal(a, b)
    elif kind == "graphs":
        assert [sorted(g.edges) for g in a] == [sorted(g.edges) for g in b]
    else:
        assert repr(a) == repr(b), kind
    np.testing.assert_array_equal(model.score_samples(X[:5]), back.score_samples(X[:5]))


def test_a_pipeline_step_outside_the_allowlist_needs_trust(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(FunctionTransformer(np.tanh, np.arctanh), ScoreSDE(max_iter=5))
    save(pipe, tmp_path / "p.skb")
    with pytest.raises(ModelFileError, match="FunctionTransformer.*trusted=True"):
        load(tmp_path / "p.skb")
    assert load(tmp_path / "p.skb", trusted=True).steps[0][1].func is np.tanh
