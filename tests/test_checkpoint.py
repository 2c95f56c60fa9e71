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

from skbridge import SBVAE, VAE, EncoderNotKeptWarning, FlowMatching, ScoreSDE
from skbridge.data import make_two_moons
from skbridge.models import _sbvae as sbvae_module
from skbridge.models import _training

MODELS = {
    "ScoreSDE": (ScoreSDE, dict(max_iter=200, n_steps=10, hidden_layer_sizes=(32,))),
    "VAE": (VAE, dict(max_iter=200, hidden_layer_sizes=(32,))),
    "FlowMatching": (FlowMatching, dict(max_iter=200, n_steps=4, hidden_layer_sizes=(32,))),
    # the default reference reaches the prior on two moons: the encoder phase is skipped
    "SBVAE skipped": (SBVAE, dict(max_iter=200, n_steps=100, hidden_layer_sizes=(32,))),
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

    def interrupting_save(self, trainer, run_index, done, extra=None):
        save(self, trainer, run_index, done, extra)
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
    if cls is SBVAE:
        assert model.history_[0]["encoder_skipped"] and model.encoder_stopped_iter_ == 0


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


def test_warm_start_and_checkpoint_are_refused(tmp_path):
    model = VAE(max_iter=10, warm_start=True).fit(_X())
    with pytest.raises(ValueError, match="warm start"):
        model.fit(_X(), checkpoint=tmp_path / "x")


# SBVAE: warm-up (run 0), encoder phase (run 1), decoder phase (run 2). Correlated Gaussian
# rows under a reference that does not reach the prior; the encoder learns fast enough at
# 1e-2 to be kept (the decoder phase then trains on cached encoder paths, refreshed every
# 43 steps), at 3e-3 not (the reference and the decoder's warm-up state come back)
SB = dict(
    max_iter=400,
    n_steps=10,
    hidden_layer_sizes=(32,),
    sde="vp",
    beta_max=1.0,
    T=0.3,
    batch_size=128,
    encoder_gradient="mmd",
    encoder_criterion="gaussian_kl",
    encoder_min_iter=10,
    encoder_max_iter=40,
    validation_interval=2,
    n_decoder_steps=2,
    random_state=0,
)
SB_CASES = {"kept": 1e-2, "reference restored": 3e-3}


def _gaussian():
    rng = np.random.RandomState(0)
    return rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=600)


def _counting(monkeypatch):
    """Count the decoder's optimiser steps and the encoder's (SBVAE's own optimiser)."""
    counts = {"decoder": 0, "encoder": 0}
    update = _training.Trainer.update

    def counted_update(self, loss):
        counts["decoder"] += 1
        update(self, loss)

    step = sbvae_module.EncoderPhase.step

    def counted_step(self):
        counts["encoder"] += 1
        return step(self)

    monkeypatch.setattr(_training.Trainer, "update", counted_update)
    monkeypatch.setattr(sbvae_module.EncoderPhase, "step", counted_step)
    return counts


@pytest.fixture(scope="module")
def sbvae_fits(tmp_path_factory):
    """The uninterrupted fit of each case, and the run index of each checkpoint save."""
    out = {}
    save = _training.Checkpoint.save
    for case, lr in SB_CASES.items():
        runs = []

        def recording_save(self, trainer, run_index, *args, runs=runs):
            save(self, trainer, run_index, *args)
            runs.append(run_index)

        _training.Checkpoint.save = recording_save
        try:
            model = SBVAE(encoder_learning_rate=lr, **SB)
            model.fit(_gaussian(), checkpoint=tmp_path_factory.mktemp("sb") / "fit.ckpt")
        finally:
            _training.Checkpoint.save = save
        assert model.encoder_kept_ == (case == "kept")
        out[case] = (model, runs)
    return out


@pytest.mark.parametrize("run", [0, 1, 2], ids=["warm-up", "encoder phase", "decoder phase"])
@pytest.mark.parametrize("case", SB_CASES)
def test_sbvae_interrupted_in_any_phase_resumes_to_the_uninterrupted_result(
    case, run, sbvae_fits, tmp_path, monkeypatch
):
    uninterrupted, runs = sbvae_fits[case]
    saves_of_run = [i for i, r in enumerate(runs) if r == run]
    stop_after = saves_of_run[len(saves_of_run) // 2] + 1  # a save in the middle of the run
    path = tmp_path / "fit.ckpt"
    counts = _counting(monkeypatch)
    save = _training.Checkpoint.save
    n_saves = []

    def interrupting_save(self, *args):
        save(self, *args)
        n_saves.append(1)
        if len(n_saves) == stop_after:
            raise KeyboardInterrupt

    monkeypatch.setattr(_training.Checkpoint, "save", interrupting_save)
    model = SBVAE(encoder_learning_rate=SB_CASES[case], **SB)
    with pytest.raises(KeyboardInterrupt):
        model.fit(_gaussian(), checkpoint=path)
    before = dict(counts)
    monkeypatch.setattr(_training.Checkpoint, "save", save)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(_gaussian(), checkpoint=path)
    # resumed where it was saved: no step of either network is run twice (the counts
    # cover the interrupted fit and the resumed one)
    full = _step_counts(uninterrupted)
    assert counts == full
    assert 0 < before["decoder"] < full["decoder"]
    X = _gaussian()
    np.testing.assert_array_equal(
        model.sample(50, random_state=0), uninterrupted.sample(50, random_state=0)
    )
    np.testing.assert_array_equal(model.score_samples(X[:50]), uninterrupted.score_samples(X[:50]))
    assert _without_time(model.history_) == _without_time(uninterrupted.history_)
    for attr in ("encoder_kept_", "encoder_stopped_iter_", "encoder_best_iter_", "n_iter_"):
        assert getattr(model, attr) == getattr(uninterrupted, attr)
    # a fit resumed after the encoder phase repeats its warning
    not_kept = [w for w in caught if issubclass(w.category, EncoderNotKeptWarning)]
    assert len(not_kept) == (case != "kept")
    assert not path.exists()


def _step_counts(model):
    """Decoder and encoder optimiser steps of an uninterrupted fit (n_iter_ counts every
    decoder step, those of a discarded encoder phase too)."""
    return {"decoder": model.n_iter_, "encoder": model.encoder_stopped_iter_}
