"""Model selection on a Dask cluster (issue: distributed model selection).

``GridSearchCV`` and cross-validation over skbridge models with joblib's Dask backend give
the same scores as a local run, and fitted models travel between worker processes and back
(pickled with their networks on the CPU) unchanged. The cluster is a
``distributed.LocalCluster`` of two single-threaded worker processes on the loopback
interface, started once for this module and closed at its end.

The local references run torch with one thread, as the workers do (the Dask nanny sets
``OMP_NUM_THREADS=1`` before it starts a worker process), so both sides do the same float
operations; the comparisons are exact.
"""

import logging
import os
from operator import methodcaller

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

from skbridge import ScoreSDE
from skbridge.data import make_two_moons

distributed = pytest.importorskip("distributed")

# about 0.2 s a fit (one thread, 2-core machine)
TINY = dict(
    max_iter=30,
    n_steps=8,
    hidden_layer_sizes=(16,),
    batch_size=32,
    n_elbo_samples=1,
    device="cpu",
    random_state=0,
)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,  # no dashboard, no fixed port
            memory_limit="2GiB",  # per worker; a tiny fit peaks well under 0.5 GiB
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def one_thread():
    """Run the local reference with one torch thread, like the workers."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_workers_run_torch_with_one_thread(client):
    """The nanny's ``distributed.nanny.pre-spawn-environ`` sets OMP_NUM_THREADS=1, so torch
    starts with one thread in each worker process, in the threads that run tasks too."""
    workers = sorted(client.scheduler_info()["workers"])
    assert len(workers) == 2
    assert set(client.run(os.environ.get, "OMP_NUM_THREADS").values()) == {"1"}
    assert set(client.run(torch.get_num_threads).values()) == {1}
    in_tasks = [client.submit(torch.get_num_threads, workers=[w], pure=False) for w in workers]
    assert client.gather(in_tasks) == [1, 1]


def test_grid_search_on_dask_equals_local(client, one_thread):
    X = make_two_moons(200, random_state=0)
    grid = {"learning_rate": [1e-3, 5e-3]}
    local = GridSearchCV(ScoreSDE(**TINY), grid, cv=2, n_jobs=1).fit(X)
    search = GridSearchCV(ScoreSDE(**TINY), grid, cv=2, n_jobs=-1)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        search.fit(X)
    assert tasks.data, "no task ran on the cluster"
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(search.cv_results_[key], local.cv_results_[key])
    assert search.best_params_ == local.best_params_
    best, ref = search.best_estimator_, local.best_estimator_
    np.testing.assert_array_equal(best.sample(16, random_state=0), ref.sample(16, random_state=0))
    np.testing.assert_array_equal(best.score_samples(X), ref.score_samples(X))


def test_cross_val_score_on_dask_equals_local(client, one_thread):
    X = make_two_moons(200, random_state=1)
    cv = KFold(2, shuffle=True, random_state=0)
    local = cross_val_score(ScoreSDE(**TINY), X, cv=cv, n_jobs=1)
    with joblib.parallel_backend("dask"):
        scores = cross_val_score(ScoreSDE(**TINY), X, cv=cv, n_jobs=2)
    np.testing.assert_array_equal(scores, local)


def test_models_fitted_on_workers_on_a_dataframe(client, one_thread):
    """Mixed float / integer / categorical columns; the fitted models come back."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 160
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])),
        }
    )
    local = cross_validate(ScoreSDE(**TINY), df, cv=2, n_jobs=1, return_estimator=True)
    with joblib.parallel_backend("dask"):
        result = cross_validate(ScoreSDE(**TINY), df, cv=2, n_jobs=-1, return_estimator=True)
    np.testing.assert_array_equal(result["test_score"], local["test_score"])
    for model, ref in zip(result["estimator"], local["estimator"], strict=True):
        pd.testing.assert_frame_equal(
            model.sample(16, random_state=0), ref.sample(16, random_state=0)
        )
        np.testing.assert_array_equal(model.score_samples(df), ref.score_samples(df))


def test_fitted_model_travels_between_workers(client, one_thread):
    X = make_two_moons(200, random_state=2)
    first, second = sorted(client.scheduler_info()["workers"])
    with distributed.get_task_stream(client) as tasks:
        fitted = client.submit(ScoreSDE(**TINY).fit, X, workers=[first], pure=False)
        # run on the other worker: the fitted model is pickled over there
        sample = client.submit(methodcaller("sample", 16, random_state=0), fitted, workers=[second])
        scores = client.submit(methodcaller("score_samples", X), fitted, workers=[second])
        sample, scores = sample.result(), scores.result()
    ran_on = {task["key"]: task["worker"] for task in tasks.data}
    assert ran_on[fitted.key] == first
    assert set(ran_on.values()) == {first, second}
    model = fitted.result()  # and back to this process
    assert next(model.decoder_.parameters()).device.type == "cpu"

    ref = ScoreSDE(**TINY).fit(X)
    np.testing.assert_array_equal(sample, ref.sample(16, random_state=0))
    np.testing.assert_array_equal(scores, ref.score_samples(X))
    np.testing.assert_array_equal(model.sample(16, random_state=0), sample)
    np.testing.assert_array_equal(model.score_samples(X), scores)
