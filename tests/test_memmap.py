"""Fitting from a memory-mapped array: rows are read and encoded as training draws them.

A float32 ``np.load(..., mmap_mode="r")`` array used to be copied whole three times (as
float64 by validation, encoded, then packed as float32). Now ``fit`` reads it through: no
call encodes more rows than a training draw, a check's probe or an offsets chunk, and the
model is the in-memory fit's, bit for bit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from skbridge import SBVAE, VAE, FlowMatching, ScoreSDE
from skbridge.data import TabularCodec
from skbridge.models import _training

FAST = dict(max_iter=60, hidden_layer_sizes=(16,))
MODELS = {
    "ScoreSDE": lambda: ScoreSDE(n_steps=8, early_stopping=True, **FAST),
    "SBVAE": lambda: SBVAE(n_steps=8, encoder_max_iter=4, validation_interval=2, **FAST),
    "VAE": lambda: VAE(early_stopping=True, **FAST),
    "FlowMatching": lambda: FlowMatching(n_steps=4, **FAST),
}


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.normal(size=3000)
    X = np.column_stack([x, 2 * x + rng.normal(size=3000), rng.integers(0, 5, 3000)])
    path = tmp_path_factory.mktemp("memmap") / "X.npy"
    np.save(path, X.astype(np.float32))
    return np.load(path, mmap_mode="r")


@pytest.mark.parametrize("name", MODELS)
def test_a_memmap_is_read_through_and_fits_the_in_memory_model(name, mapped, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits: ConvergenceWarning, EncoderNotKept
        in_memory = MODELS[name]().set_params(random_state=0).fit(np.array(mapped))
        seen = []
        encode = TabularCodec.encode

        def counting(self, X):
            seen.append(len(X))
            return encode(self, X)

        monkeypatch.setattr(TabularCodec, "encode", counting)
        monkeypatch.setattr(_training, "_CHUNK_ROWS", 500)
        model = MODELS[name]().set_params(random_state=0).fit(mapped)
        monkeypatch.undo()
    # never the whole array at once: offsets in chunks of 500, draws of a batch, the
    # probe of the training range (1000 rows)
    assert seen and max(seen) <= 1000 < len(mapped)
    np.testing.assert_array_equal(
        model.sample(20, random_state=0), in_memory.sample(20, random_state=0)
    )
    X = np.array(mapped[:50], dtype=np.float64)
    np.testing.assert_array_equal(model.score_samples(X), in_memory.score_samples(X))


def test_a_checkpoint_fingerprint_does_not_depend_on_memory_mapping(mapped):
    """A fit interrupted on the array in memory resumes from the file, and back."""
    model = ScoreSDE(random_state=0)
    codec = TabularCodec().fit(mapped)
    P, _ = codec.encode(np.array(mapped))
    rows = _training.EncodedRows(codec, mapped)
    seeds = np.arange(4)
    assert _training._fingerprint(model, rows, seeds) == _training._fingerprint(model, P, seeds)


def test_memmap_detection(mapped):
    assert _training.backed_by_memmap(mapped) and _training.backed_by_memmap(mapped[10:, :2])
    assert _training.backed_by_memmap(np.asarray(mapped))  # a plain view of the file
    assert not _training.backed_by_memmap(np.array(mapped))  # a copy
    assert not _training.backed_by_memmap(np.zeros((3, 2)))
    assert not _training.backed_by_memmap([[1.0]])
