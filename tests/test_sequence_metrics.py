"""Sequence metrics: ideal values on same-law samples, clear degradation otherwise, bad input.

Tolerances are derived from the sampling noise at the sizes used; every seed is fixed. The GRU
metrics run with small networks and few iterations so the file stays fast.
"""

import sys

import numpy as np
import pytest
import torch
from scipy.stats import binom
from threadpoolctl import threadpool_limits

from skbridge.metrics import (
    _sequence,
    autocorrelation_error,
    discriminative_score,
    kmer_jsd,
    nearest_hamming,
    predictive_score,
    smiles_validity,
)

DNA = np.array(list("ACGT"))


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # tiny GRU steps are dominated by thread synchronisation on a loaded 2-core machine
    with threadpool_limits(1):
        yield


def sines(n, seed, length=24, channels=5):
    """TimeGAN's sines: x = (sin(f t + phi) + 1) / 2, f and phi ~ U(0, 0.1) per channel."""
    r = np.random.RandomState(seed)
    t = np.arange(length)[None, :, None]
    f = r.uniform(0, 0.1, (n, 1, channels))
    phi = r.uniform(0, 0.1, (n, 1, channels))
    return (np.sin(f * t + phi) + 1) / 2


def dna(n, length, seed):
    r = np.random.RandomState(seed)
    return ["".join(r.choice(DNA, length)) for _ in range(n)]


def brute_hamming(train, synthetic):
    """Nearest normalised Hamming distances, the definition written out."""
    out = []
    for s in synthetic:
        best = np.inf
        for t in train:
            longer = max(len(s), len(t))
            matches = sum(a == b for a, b in zip(s, t, strict=False))
            best = min(best, (longer - matches) / longer if longer else 0.0)
        out.append(best)
    return np.array(out)


# ------------------------------------------------------------------ discriminative score
def test_discriminative_same_law_is_small():
    # 400 per set, 80 held out per class: the accuracy of any classifier on two same-law
    # sets has mean 0.5 and std sqrt(0.25 / 160) = 0.04, so 0.15 is ~3.8 std
    score = discriminative_score(
        sines(400, 1), sines(400, 2), hidden_size=8, n_iter=300, batch_size=64, random_state=0
    )
    assert 0 <= score < 0.15


def test_discriminative_noise_is_large():
    noise = np.random.RandomState(3).rand(300, 24, 5)
    score = discriminative_score(
        sines(300, 1), noise, hidden_size=8, n_iter=200, batch_size=64, random_state=0
    )
    assert 0.3 < score <= 0.5


def test_discriminative_deterministic_and_2d():
    a, b = sines(60, 1, channels=1)[:, :, 0], sines(80, 2, channels=1)[:, :, 0]
    s1 = discriminative_score(a, b, n_iter=20, random_state=7)
    s2 = discriminative_score(a, b, n_iter=20, random_state=7)
    assert s1 == s2
    assert 0 <= s1 <= 0.5


def test_gru_metrics_leave_global_rng_alone():
    torch_state, np_state = torch.random.get_rng_state(), np.random.get_state()  # noqa: NPY002
    a, b = sines(40, 1), sines(40, 2)
    discriminative_score(a, b, n_iter=5, random_state=0)
    predictive_score(a, b, n_iter=5, random_state=0)
    assert torch.equal(torch_state, torch.random.get_rng_state())
    assert np.array_equal(np_state[1], np.random.get_state()[1])  # noqa: NPY002


# --------------------------------------------------------------------- predictive score
@pytest.mark.parametrize("channels", [1, 3])
def test_predictive_real_beats_noise(channels):
    # sines' values lie in about [0.5, 1]: a model trained on U(0, 1) noise predicts ~0.5
    # (MAE ~0.25); one trained on sines tracks their time profile (and, for one channel,
    # the series' own past), so its MAE is well below
    real = sines(200, 1, channels=channels)
    kw = dict(hidden_size=8, n_iter=200, batch_size=64, random_state=0)
    on_real = predictive_score(real, sines(200, 2, channels=channels), **kw)
    on_noise = predictive_score(real, np.random.RandomState(3).rand(200, 24, channels), **kw)
    assert on_real < 0.7 * on_noise
    # the in-sample "original data" reference is as good as the held-out one
    assert predictive_score(real, real, **kw) < 0.7 * on_noise


def test_predictive_deterministic():
    a, b = sines(50, 1, channels=2), sines(70, 2, channels=2)
    assert predictive_score(a, b, n_iter=10, random_state=3) == predictive_score(
        a, b, n_iter=10, random_state=3
    )


# ------------------------------------------------------------------ autocorrelation error
def test_autocorrelation_error():
    a = sines(200, 1)
    assert autocorrelation_error(a, a) == 0.0
    shuffled = a[:, np.random.RandomState(0).permutation(24)]
    # smooth sines keep large positive autocorrelations, a shuffled series about -1/L
    assert autocorrelation_error(a, shuffled) > 0.2
    assert autocorrelation_error(a, shuffled) == pytest.approx(autocorrelation_error(shuffled, a))
    assert autocorrelation_error(a, sines(200, 2)) < 0.05


def test_autocorrelation_lengths_and_constant_series():
    a = sines(50, 1, length=30)
    b = sines(50, 2, length=20)
    # lengths may differ (the biased estimator shrinks with the length, so equal lengths
    # compare best)
    assert 0 <= autocorrelation_error(a, b, max_lag=5) < 0.5
    assert autocorrelation_error(a[:, :20], b, max_lag=5) < 0.05
    c = a.copy()
    c[0] = 0.5  # a constant sequence is left out of the averages
    assert np.isfinite(autocorrelation_error(c, a))


# -------------------------------------------------------------------------------- k-mers
def test_kmer_jsd_identical_disjoint_symmetric():
    a, b = dna(100, 30, 0), dna(80, 25, 1)
    assert kmer_jsd(a, a) == 0.0
    assert kmer_jsd(a, b) == pytest.approx(kmer_jsd(b, a))
    assert kmer_jsd(["ACGT", "AACC"], ["XYZW", "ZZ"], k=1) == pytest.approx(1.0)
    # same-law samples: small at k=1, growing with k as the spectra get sparse
    per_k = kmer_jsd(a, b, return_per_k=True)["per_k"]
    assert per_k[1] < 0.01 < per_k[4]
    assert list(per_k) == [1, 2, 3, 4]


def test_kmer_jsd_tokens_equal_strings():
    a, b = dna(30, 12, 0), dna(30, 9, 1)
    tokens = [list(s) for s in a], [list(s) for s in b]
    assert kmer_jsd(*tokens, k=(1, 3)) == pytest.approx(kmer_jsd(a, b, k=(1, 3)))
    assert kmer_jsd(*tokens, k=2) == pytest.approx(kmer_jsd(a, b, k=(2,)))
    # k-mers never cross sequence boundaries
    assert kmer_jsd(["AB", "CD"], ["ABCD"], k=2) > 0
    # a large vocabulary (codes that overflow base-V integers) takes the row-wise path
    words = [[f"w{i}" for i in range(j, j + 5)] for j in range(50_000)]
    assert _sequence._kmer_codes(np.zeros(5, dtype=np.int64), np.array([5]), 4, 50_004).ndim == 2
    assert kmer_jsd(words, words, k=4) == 0.0
    assert 0 < kmer_jsd(words[:30_000], words[10_000:], k=4) < 1


# ------------------------------------------------------------------------ nearest Hamming
def test_nearest_hamming_copies():
    train = dna(50, 20, 0)
    assert nearest_hamming(train, train[:10]) == {"mean": 0.0, "exact_copies": 1.0}


def test_nearest_hamming_random_strings():
    # against a single training string, each distance is Binomial(L, 3/4) / L: mean 0.75, std
    # sqrt(3/16 / L) = 0.061 for L = 50, so the mean of 400 has std 0.003; 0.02 is ~6 std
    L = 50
    out = nearest_hamming(dna(1, L, 0), dna(400, L, 1))
    assert out["mean"] == pytest.approx(0.75, abs=0.02)
    assert out["exact_copies"] == 0.0
    # the nearest of n independent strings: E[min] = sum_k P(Bin(L, 3/4) > k)^n, over L
    n = 30
    expected = sum(binom.sf(k, L, 0.75) ** n for k in range(L)) / L
    assert nearest_hamming(dna(n, L, 2), dna(400, L, 3))["mean"] == pytest.approx(
        expected, abs=0.02
    )


def test_nearest_hamming_matches_definition(monkeypatch):
    r = np.random.RandomState(0)
    train = ["".join(r.choice(DNA, r.randint(0, 9))) for _ in range(40)]
    synthetic = ["".join(r.choice(DNA, r.randint(0, 9))) for _ in range(30)] + train[:5]
    d = brute_hamming(train, synthetic)
    want = {"mean": pytest.approx(d.mean()), "exact_copies": pytest.approx(np.mean(d == 0))}
    assert nearest_hamming(train, synthetic) == want
    # tiny blocks: the chunked loops give the same answer
    monkeypatch.setattr(_sequence, "_ONEHOT_ENTRIES", 7)
    monkeypatch.setattr(_sequence, "_BLOCK_ENTRIES", 5)
    assert nearest_hamming(train, synthetic) == want
    # token lists, a position beyond the shorter sequence is a mismatch
    assert nearest_hamming([[1, 2], [3]], [[1, 2, 3]])["mean"] == pytest.approx(1 / 3)
    assert nearest_hamming(["AB"], ["CD"])["mean"] == 1.0


# ---------------------------------------------------------------------------------- SMILES
def test_smiles_validity():
    pytest.importorskip("rdkit")
    assert smiles_validity(["CCO", "c1ccccc1", "", "C1CC", "not a smiles"]) == pytest.approx(0.4)


def test_smiles_validity_without_rdkit(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdkit", None)
    with pytest.raises(ImportError, match="pip install rdkit"):
        smiles_validity(["CCO"])


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("metric", [discriminative_score, predictive_score, autocorrelation_error])
def test_real_valued_bad_input(metric):
    a = sines(20, 1)
    nan = a.copy()
    nan[0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        metric(a, nan)
    with pytest.raises(ValueError, match="empty"):
        metric(a[:0], a)
    with pytest.raises(ValueError, match="channels"):
        metric(a, a[:, :, :3])
    with pytest.raises(ValueError, match="3-D"):
        metric(a[..., None], a)
    with pytest.raises(ValueError, match="numeric"):
        metric(a, [["a", "b"], ["c", "d"]])


def test_gru_metrics_bad_options():
    a = sines(20, 1)
    with pytest.raises(ValueError, match="length"):
        discriminative_score(a, a[:, :10])
    with pytest.raises(ValueError, match="length"):
        predictive_score(a, a[:, :10])
    with pytest.raises(ValueError, match="length at least 2"):
        predictive_score(a[:, :1], a[:, :1])
    with pytest.raises(ValueError, match="n_iter"):
        discriminative_score(a, a, n_iter=0)
    with pytest.raises(ValueError, match="hidden_size"):
        predictive_score(a, a, hidden_size=0)
    with pytest.raises(ValueError, match="test_size"):
        discriminative_score(a, a, test_size=1.0)
    with pytest.raises(ValueError, match="training and one test"):
        discriminative_score(a[:1], a[:1])
    with pytest.raises(ValueError, match="max_lag"):
        autocorrelation_error(a, a, max_lag=24)


def test_token_bad_input():
    with pytest.raises(ValueError, match="not one string"):
        kmer_jsd("ACGT", ["ACGT"])
    with pytest.raises(ValueError, match="empty"):
        nearest_hamming([], ["ACGT"])
    with pytest.raises(ValueError, match="missing"):
        kmer_jsd([["A", None]], ["AC"])
    with pytest.raises(ValueError, match="missing"):
        nearest_hamming([[1.0, float("nan")]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="collection of sequences"):
        nearest_hamming([1, 2], [[1, 2]])
    with pytest.raises(ValueError, match="k must be"):
        kmer_jsd(["AC"], ["AC"], k=0)
    with pytest.raises(ValueError, match="as long as k=3"):
        kmer_jsd(["AC"], ["ACGT"])
