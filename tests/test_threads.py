"""Thread control: fits follow threadpoolctl's limits and joblib's per-worker limits, and the
command line's ``--threads``; skbridge never sets torch's thread count behind the user's back."""

import os

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from skbridge import ScoreSDE
from skbridge.models import _training

FAST = dict(max_iter=6, n_steps=4, hidden_layer_sizes=(8,), n_elbo_samples=1, random_state=0)


def _threads_seen_by_fit(X):
    """Torch's intra-op thread counts at each training step of a tiny fit."""
    seen = []
    update = _training.Trainer.update

    def recording(self, loss):
        seen.append(torch.get_num_threads())
        return update(self, loss)

    _training.Trainer.update = recording
    try:
        ScoreSDE(**FAST).fit(X)
    finally:
        _training.Trainer.update = update
    return seen


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(64, 2))


def test_threadpool_limits_bounds_the_threads_of_a_fit(X):
    default = torch.get_num_threads()
    with threadpool_limits(limits=1, user_api="openmp"):
        assert set(_threads_seen_by_fit(X)) == {1}
    assert set(_threads_seen_by_fit(X)) == {default}  # and the limit is lifted after


def _worker_fit(X):
    return os.environ.get("OMP_NUM_THREADS"), set(_threads_seen_by_fit(X))


def test_joblib_workers_get_their_share_of_the_cores(X):
    # loky gives each of n_jobs workers cpu_count // n_jobs threads (at least 1); a fit in a
    # worker (a GridSearchCV fold) must keep to it, not take every core
    n_cores = os.cpu_count() or 1
    (env, seen), _ = Parallel(n_jobs=2, backend="loky")(delayed(_worker_fit)(X) for _ in range(2))
    assert seen == {max(1, n_cores // 2)}, (env, seen)


def test_the_command_line_threads_option(tmp_path, monkeypatch):
    pytest.importorskip("pandas")
    from skbridge import cli

    np.savetxt(tmp_path / "x.csv", np.random.default_rng(0).normal(size=(64, 2)), delimiter=",")
    seen = []
    update = _training.Trainer.update
    monkeypatch.setattr(
        _training.Trainer,
        "update",
        lambda self, loss: (seen.append(torch.get_num_threads()), update(self, loss))[1],
    )
    args = ["fit", str(tmp_path / "x.csv"), "-o", str(tmp_path / "m.skb"), "--max-iter", "4"]
    assert cli.main([*args, "-q", "--threads", "1"]) == 0
    assert set(seen) == {1}
    with pytest.raises(SystemExit) as exit_info:  # argparse: a usage error
        cli.main([*args, "-q", "--threads", "0"])
    assert exit_info.value.code == 2
