"""benchmarks/_results.fit_and_evaluate: the fit-and-evaluate loop the benchmarks share."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.mixture import GaussianMixture

from skbridge import ScoreSDE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _results import fit_and_evaluate, markdown_tables, save_rows  # noqa: E402


@pytest.fixture(scope="module")
def moons():
    X, _ = make_moons(300, noise=0.05, random_state=0)
    return X[:200], X[200:]


def _mean_sample(gen):
    return {"sample_mean": float(np.mean(gen.sample(50, random_state=0)))}


def test_diffusion_fit_is_evaluated_with_each_sampler(moons):
    train, test = moons
    rows = fit_and_evaluate(
        {"dataset": "moons", "model": "ScoreSDE"},
        lambda: ScoreSDE(max_iter=30, n_steps=10, random_state=0),
        train,
        test,
        _mean_sample,
        samplers=("pc", "dpm-sde"),  # "dpm-sde" is what "auto" runs on tables: no second row
        show=lambda r: None,
    )
    assert [r["model"] for r in rows] == ["ScoreSDE", "ScoreSDE + pc sampler"]
    plain, pc = rows
    for key in ("fit_s", "n_iter", "held_out_score"):  # one fit: its columns are repeated
        assert plain[key] == pc[key]
    assert pc["sampler"] == "pc" and plain["sampler"] == "dpm-sde"
    assert plain["sample_mean"] != pc["sample_mean"]
    assert "error" not in plain and "error" not in pc


def test_models_without_a_sampler_get_one_row_and_errors_are_recorded(moons):
    train, test = moons

    def evaluate(gen):
        return {"sample_mean": float(np.mean(gen.sample(50)[0]))}

    (row,) = fit_and_evaluate(
        {"dataset": "moons", "model": "GMM"},
        lambda: GaussianMixture(2, random_state=0),
        train,
        test,
        evaluate,
        samplers=("pc",),
        show=lambda r: None,
    )
    assert "error" not in row and "sampler" not in row and np.isfinite(row["held_out_score"])

    class Floor:  # a reference row's generator: fit and sample only, no get_params
        def fit(self, X):
            self.X = np.asarray(X)
            return self

        def sample(self, n, random_state=None):
            return self.X[np.random.default_rng(random_state).integers(len(self.X), size=n)], None

    (row,) = fit_and_evaluate(
        {"dataset": "moons", "model": "floor"},
        Floor,
        train,
        test,
        evaluate,
        samplers=("pc",),
        steps=(10,),
        show=lambda r: None,
    )
    assert "error" not in row and np.isfinite(row["sample_mean"])

    class Picky(Floor):  # rows of probability zero (a graph larger than every training one)
        def score_samples(self, X):
            return np.where(np.asarray(X)[:, 0] > 1.0, -np.inf, -1.0 - np.asarray(X)[:, 1])

    (row,) = fit_and_evaluate(
        {"dataset": "moons", "model": "picky"}, Picky, train, test, evaluate, show=lambda r: None
    )
    big = test[:, 0] > 1.0
    assert 0 < row["held_out_impossible"] == big.sum() < len(test)
    np.testing.assert_allclose(row["held_out_score"], np.mean(-1.0 - test[~big, 1]))

    def broken():
        raise RuntimeError("no such model")

    (row,) = fit_and_evaluate(
        {"dataset": "moons", "model": "broken"}, broken, train, test, evaluate, show=lambda r: None
    )
    assert "no such model" in row["error"] and "fit_s" not in row


def test_seeds_are_rows_of_their_own_and_tables_show_mean_and_standard_error(tmp_path):
    out = tmp_path / "r.json"
    first = [
        {"dataset": "d", "model": "m", "seed": seed, "score": value}
        for seed, value in ((0, 1.0), (1, 2.0), (2, 6.0))
    ]
    save_rows(out, first, "benchmarks/x.py", time.time())
    # a later run of seed 1 replaces seed 1 only; an old row without a seed is seed 0
    save_rows(out, [{"dataset": "d", "model": "m", "seed": 1, "score": 5.0}], "x", time.time())
    rows = json.loads(out.read_text())["rows"]
    assert [(r["seed"], r["score"], r["run"]) for r in rows] == [
        (0, 1.0, 0),
        (1, 5.0, 1),
        (2, 6.0, 0),
    ]
    save_rows(out, [{"dataset": "d", "model": "m", "score": 3.0}], "x", time.time())
    rows = json.loads(out.read_text())["rows"]
    assert sorted(r["score"] for r in rows) == [3.0, 5.0, 6.0]

    table = markdown_tables(rows, [("score", "score", "{:.2f}")])
    # mean 14/3, standard error std([3, 5, 6], ddof=1) / sqrt(3) = 1.5275 / 1.7321
    assert "| m (3 seeds) | 4.67 ± 0.88 |" in table
    one = markdown_tables(rows[:1], [("score", "score", "{:.2f}")])
    assert "| m | 3.00 |" in one
    failed = rows + [{"dataset": "d", "model": "m", "seed": 3, "error": "Traceback\nboom"}]
    table = markdown_tables(failed, [("score", "score", "{:.2f}")])
    assert "| m (seed 3) | failed: boom |" in table and "| m (3 seeds) | 4.67 ± 0.88 |" in table


def test_tabular_level_error_averages_every_level_of_every_category():
    """benchmarks/tabular.py's level error: |training - synthetic frequency| averaged over
    the levels of all categorical columns; numbers do not count; levels the sample misses
    count in full."""
    pd = pytest.importorskip("pandas")
    import tabular

    train = pd.DataFrame({"a": list("xxyy"), "b": list("pppq"), "n": [1.0, 2.0, 3.0, 4.0]})
    synth = pd.DataFrame({"a": list("xxxx"), "b": list("pppq"), "n": [9.0, 9.0, 9.0, 9.0]})
    # a: |0.5 - 1| and |0.5 - 0| (y never sampled); b: exact
    assert tabular.level_error(train, synth) == pytest.approx((0.5 + 0.5 + 0 + 0) / 4)
    assert tabular.level_error(train[["n"]], synth[["n"]]) is None


def test_sequences_discriminative_score_is_averaged_over_repeated_classifiers():
    """benchmarks/sequences.py --metric-repeats R: the discriminative score is the mean of R
    classifiers with different seeds, the first of which is the single-classifier score (rows
    stay comparable with earlier ones); the real windows' row has the predictive score only."""
    import sequences

    rng = np.random.default_rng(0)
    real = rng.uniform(size=(60, 6, 2))
    synth = np.clip(real + rng.normal(0, 0.3, real.shape), 0, 1)
    one = sequences.evaluate("stock", real, real, synth, quick=True, seed=4)
    three = sequences.evaluate("stock", real, real, synth, quick=True, seed=4, repeats=3)
    runs = three["discriminative_runs"]
    assert len(runs) == 3 and runs[0] == one["discriminative"]
    assert len(set(runs)) > 1  # different classifiers, not one run three times
    assert three["discriminative"] == pytest.approx(np.mean(runs))
    assert three["predictive"] == one["predictive"]
    ref = sequences.evaluate("stock", real, real, real, quick=True, seed=4, repeats=3, real=True)
    assert set(ref) == {"predictive"}


def test_grid_shape_statistics():
    """benchmarks/graph_shape.py counts 4-cycles per edge exactly (on a 3 x 4 grid: 6
    squares of 4 edges over 17 edges; on K4: 2 per edge), and grid_defects.py's defects
    do what their names say."""
    nx = pytest.importorskip("networkx")
    from graph_shape import squares_per_edge
    from grid_defects import defect

    assert squares_per_edge(nx.grid_2d_graph(3, 4)) == pytest.approx(24 / 17)
    assert squares_per_edge(nx.complete_graph(4)) == pytest.approx(2.0)
    assert squares_per_edge(nx.cycle_graph(5)) == 0.0
    grid = nx.convert_node_labels_to_integers(nx.grid_2d_graph(10, 10))
    rng = np.random.default_rng(0)
    far = defect(grid, "distance 3", 0.1, rng)
    assert far.number_of_edges() == 180 + 18 and nx.is_bipartite(far)
    diagonal = defect(grid, "diagonal", 0.1, rng)
    assert sum(nx.triangles(diagonal).values()) > 0
    rewired = defect(grid, "rewired", 0.1, rng)
    assert rewired.number_of_edges() == 180 and rewired.edges != grid.edges
