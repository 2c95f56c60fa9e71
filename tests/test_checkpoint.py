"""Checkpoints: fit(X, checkpoint=path) saves its state at every check and resumes from it.

A fit interrupted after a check (an exception, or the process killed) and fitted again with
the same checkpoint continues where it was saved, and ends with the model of the
uninterrupted fit, bit for bit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from skbridge import SBVAE, VAE, FlowMatching, ScoreSDE
from skbridge.data import make_two_moons
from skbridge.models import _training

MODELS = {
    "ScoreSDE": (ScoreSDE, dict(max_iter=200, n_steps=10, hidden_layer_sizes=(32,))),
    "VAE": (VAE, dict(max_iter=200, hidden_layer_sizes=(32,))),
    "FlowMatching": (FlowMatching, dict(max_iter=200, n_steps=4, hidden_layer_sizes=(32,))),
}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits: ConvergenceWarning
        yield


def _X():
    return make_two_moons(400, random_state=0)


def _without_time(history):
    return [{k: v for k, v in h.items() if k not in ("time", "monitor_time")} for h in history]


def _same_model(a, b):
    X = _X()
    np.testing.assert_array_equal(a.sample(50, random_state=0), b.sample(50, random_state=0))
    np.testing.assert_array_equal(a.score_samples(X[:50]), b.score_samples(X[:50]))
    assert _without_time(a.history_) == _without_time(b.history_)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("name", MODELS)
def test_a_fit_interrupted_after_a_check_resumes_to_the_uninterrupted_result(
    name, tmp_path, monkeypatch
):
    cls, params = MODELS[name]
    path = tmp_path / "fit.ckpt"
    uninterrupted = cls(random_state=0, **params).fit(_X())

    saves = []
    save = _training.Checkpoint.save

    def interrupting_save(self, trainer, run_index, done):
        save(self, trainer, run_index, done)
        saves.append(done)
        if len(saves) == 7:
            raise KeyboardInterrupt  # as Ctrl-C right after the 7th check

    monkeypatch.setattr(_training.Checkpoint, "save", interrupting_save)
    model = cls(random_state=0, **params)
    with pytest.raises(KeyboardInterrupt):
        model.fit(_X(), checkpoint=path)
    assert path.exists() and not hasattr(model, "n_iter_")  # the estimator is untouched
    monkeypatch.setattr(_training.Checkpoint, "save", save)

    steps = []
    update = _training.Trainer.update
    monkeypatch.setattr(
        _training.Trainer, "update", lambda self, loss: (steps.append(1), update(self, loss))
    )
    model.fit(_X(), checkpoint=path)
    assert len(steps) == params["max_iter"] - saves[-1]  # resumed, not refitted
    _same_model(model, uninterrupted)
    assert not path.exists()  # removed once the fit succeeded


def test_a_checkpointed_fit_equals_a_plain_one(tmp_path):
    cls, params = MODELS["ScoreSDE"]
    a = cls(random_state=0, **params).fit(_X(), checkpoint=tmp_path / "a.ckpt")
    _same_model(a, cls(random_state=0, **params).fit(_X()))


CHILD = """
import sys, warnings
warnings.simplefilter("ignore")
from skbridge import ScoreSDE
from skbridge.data import make_two_moons
ScoreSDE(random_state=0, **{params}).fit(make_two_moons(400, random_state=0), checkpoint=sys.argv[1])
"""


def test_a_killed_fit_resumes_to_the_uninterrupted_result(tmp_path):
    params = dict(max_iter=1500, n_steps=10, hidden_layer_sizes=(32,))
    path = tmp_path / "fit.ckpt"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD.format(params=params)))
    child = subprocess.Popen([sys.executable, str(script), str(path)])
    try:
        deadline = time.monotonic() + 120
        while not path.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # somewhere after the first check, maybe in the middle of a write
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the fit ended before it could be killed"
    assert path.exists()
    resumed = ScoreSDE(random_state=0, **params).fit(_X(), checkpoint=path)
    _same_model(resumed, ScoreSDE(random_state=0, **params).fit(_X()))


def test_a_checkpoint_of_another_fit_is_refused(tmp_path, monkeypatch):
    cls, params = MODELS["VAE"]
    path = tmp_path / "fit.ckpt"
    save = _training.Checkpoint.save

    def interrupting_save(self, *args):
        save(self, *args)
        raise KeyboardInterrupt

    monkeypatch.setattr(_training.Checkpoint, "save", interrupting_save)
    with pytest.raises(KeyboardInterrupt):
        cls(random_state=0, **params).fit(_X(), checkpoint=path)
    monkeypatch.setattr(_training.Checkpoint, "save", save)
    with pytest.raises(ValueError, match="another fit"):
        cls(random_state=1, **params).fit(_X(), checkpoint=path)
    with pytest.raises(ValueError, match="another fit"):
        cls(random_state=0, **params).fit(_X()[:300], checkpoint=path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        cls(random_state=0, **params).fit(_X(), checkpoint=path)


def test_unsupported_combinations_are_refused(tmp_path):
    with pytest.raises(ValueError, match="SBVAE does not support checkpoint"):
        SBVAE(max_iter=10).fit(_X(), checkpoint=tmp_path / "x")
    model = VAE(max_iter=10, warm_start=True).fit(_X())
    with pytest.raises(ValueError, match="warm start"):
        model.fit(_X(), checkpoint=tmp_path / "x")
