"""benchmarks/_results.fit_and_evaluate: the fit-and-evaluate loop the benchmarks share."""

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.mixture import GaussianMixture

from skbridge import ScoreSDE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _results import fit_and_evaluate  # noqa: E402


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

    def broken():
        raise RuntimeError("no such model")

    (row,) = fit_and_evaluate(
        {"dataset": "moons", "model": "broken"}, broken, train, test, evaluate, show=lambda r: None
    )
    assert "no such model" in row["error"] and "fit_s" not in row
