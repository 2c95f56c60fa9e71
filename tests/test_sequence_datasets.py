"""Offline sequence datasets: sines, DNA with planted motifs, US macro windows."""

import numpy as np
import pytest

from skbridge.data import dna_markov_chain, load_macrodata, make_dna, make_sines

MOTIFS = ("TATAAT", "GGATCC", "CACGTG")


# ------------------------------------------------------------------------------ sines


def test_sines_shape_and_range():
    X = make_sines(200, length=30, n_channels=3, random_state=0)
    assert X.shape == (200, 30, 3)
    assert X.dtype == np.float64
    assert np.all((X >= 0.0) & (X <= 1.0))
    # t = 0 gives (sin(phi) + 1) / 2 with phi in [0, 0.1]
    assert np.all((X[:, 0] >= 0.5) & (X[:, 0] <= (np.sin(0.1) + 1) / 2))


def test_sines_default_shape():
    assert make_sines(random_state=0).shape == (10000, 24, 5)


def test_sines_follow_a_sine():
    X = make_sines(50, length=24, n_channels=2, random_state=1)
    # arguments stay in [0, 2.4]; below pi/2 arcsin inverts the map, so the first steps
    # (argument <= 0.1 * 15 + 0.1 < pi/2) are affine in t
    theta = np.arcsin(2 * X[:, :15] - 1)
    second_diff = np.diff(theta, n=2, axis=1)
    np.testing.assert_allclose(second_diff, 0.0, atol=1e-8)
    slopes = theta[:, 1] - theta[:, 0]
    assert np.all((slopes >= 0) & (slopes <= 0.1))


def test_sines_seeding():
    a = make_sines(20, random_state=3)
    np.testing.assert_array_equal(a, make_sines(20, random_state=3))
    assert not np.allclose(a, make_sines(20, random_state=4))
    b = make_sines(20, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(b, make_sines(20, random_state=np.random.RandomState(3)))
    c = make_sines(20, random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("bad", [dict(n_samples=0), dict(length=-1), dict(random_state="x")])
def test_sines_validation(bad):
    with pytest.raises(ValueError):
        make_sines(**{"n_samples": 5, **bad})


# ------------------------------------------------------------------------------ DNA


def count(seqs, word):
    """Occurrences of ``word`` (overlapping ones included)."""
    total = 0
    for s in seqs:
        i = s.find(word)
        while i >= 0:
            total += 1
            i = s.find(word, i + 1)
    return total


def test_dna_alphabet_and_variable_length():
    seqs = make_dna(500, length=(40, 60), random_state=0)
    assert isinstance(seqs, list) and len(seqs) == 500
    assert all(isinstance(s, str) for s in seqs)
    assert set("".join(seqs)) <= set("ACGT")
    lengths = np.array([len(s) for s in seqs])
    assert lengths.min() >= 40 and lengths.max() <= 60
    assert {40, 60} <= set(lengths.tolist())  # both ends reachable
    assert len(set(lengths.tolist())) > 15


def test_dna_fixed_length():
    seqs = make_dna(100, length=30, random_state=0)
    assert {len(s) for s in seqs} == {30}


def test_dna_seeding():
    a = make_dna(50, random_state=7)
    assert a == make_dna(50, random_state=7)
    assert a != make_dna(50, random_state=8)
    assert make_dna(50, random_state=np.random.RandomState(1)) == make_dna(
        50, random_state=np.random.RandomState(1)
    )


def test_dna_motifs_planted_above_chain_rate():
    seqs = make_dna(2000, random_state=0)
    background = make_dna(2000, motif_prob=0.0, random_state=0)
    for m in MOTIFS:
        present = np.mean([m in s for s in seqs])
        assert 0.45 < present < 0.6  # planted with probability 0.5 (+ rare chance hits)
        assert count(seqs, m) > 15 * max(count(background, m), 1)
        assert np.mean([m in s for s in background]) < 0.05
    # 4-mer structure: a 4-mer inside a motif is much more frequent than the chain gives
    assert count(seqs, "TATA") > 3 * count(background, "TATA")
    assert count(seqs, "GGAT") > 3 * count(background, "GGAT")
    assert count(seqs, "CACG") > 2 * count(background, "CACG")


def test_dna_motifs_are_intact_and_nonoverlapping():
    seqs = make_dna(300, length=18, motif_prob=1.0, random_state=2)  # 18 = total motif length
    # every sequence is exactly a permutation of the three motifs
    for s in seqs:
        parts = sorted(s[i : i + 6] for i in range(0, 18, 6))
        assert parts == sorted(MOTIFS)


def test_dna_background_follows_markov_chain():
    P, pi = dna_markov_chain()
    assert P.shape == (4, 4) and np.allclose(P.sum(1), 1.0) and np.all(P > 0.05)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-10)
    seqs = make_dna(2000, length=60, motifs=(), random_state=0)
    idx = {b: i for i, b in enumerate("ACGT")}
    counts = np.zeros((4, 4))
    for s in seqs:
        codes = [idx[b] for b in s]
        np.add.at(counts, (codes[:-1], codes[1:]), 1)
    P_hat = counts / counts.sum(1, keepdims=True)
    np.testing.assert_allclose(P_hat, P, atol=0.015)
    first = np.bincount([idx[s[0]] for s in seqs], minlength=4) / len(seqs)
    np.testing.assert_allclose(first, pi, atol=0.04)


def test_dna_distribution_independent_of_seed():
    # the chain is fixed internally: bigram statistics agree across seeds
    def bigram_freq(seqs):
        return count(seqs, "GT") / sum(len(s) - 1 for s in seqs)

    a = bigram_freq(make_dna(1000, motifs=(), random_state=0))
    b = bigram_freq(make_dna(1000, motifs=(), random_state=123))
    assert abs(a - b) < 0.01


def test_dna_per_motif_prob_and_custom_motifs():
    seqs = make_dna(1000, length=(20, 30), motifs=["AAAA", "CGCG"], motif_prob=[1.0, 0.0])
    assert all("AAAA" in s for s in seqs)
    assert np.mean(["CGCG" in s for s in seqs]) < 0.1


@pytest.mark.parametrize(
    "bad",
    [
        dict(length=10),  # shorter than the motifs together
        dict(length=(50, 40)),
        dict(length="long"),
        dict(motifs=["ACGU"]),
        dict(motifs="TATAAT"),
        dict(motif_prob=1.5),
        dict(n_samples=0),
    ],
)
def test_dna_validation(bad):
    with pytest.raises(ValueError):
        make_dna(**{"n_samples": 5, **bad})


# ------------------------------------------------------------------------------ macrodata


def test_macrodata_default():
    b = load_macrodata()
    assert b.data.shape == (179, 24, 9)
    assert b.series.shape == (202, 9)
    assert np.all(np.isfinite(b.data))
    assert b.feature_names == [
        "realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "tbilrate", "unemp",
    ]  # fmt: skip
    assert b.quarters[0] == "1959Q2" and b.quarters[-1] == "2009Q3"
    np.testing.assert_allclose(b.series.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(b.series.std(0), 1.0)
    for i, s in enumerate(b.window_start):
        np.testing.assert_array_equal(b.data[i], b.series[s : s + 24])
    assert "public domain" in b.DESCR


def test_macrodata_raw_values_and_columns():
    b = load_macrodata(window=8, stride=4, columns=["realgdp", "unemp", "pop"], standardize=False)
    assert b.data.shape == ((202 - 8) // 4 + 1, 8, 3)
    assert b.transforms == {"realgdp": "growth", "unemp": "level", "pop": "growth"}
    np.testing.assert_array_equal(b.mean, 0.0)
    # 1959Q2: realgdp 2710.349 -> 2778.801, unemployment 5.1 %
    np.testing.assert_allclose(b.series[0, 0], 100 * np.log(2778.801 / 2710.349))
    assert b.series[0, 1] == 5.1
    assert b.series[-1, 1] == 9.6  # 2009Q3
    assert 0.5 < b.series[:, 0].mean() < 1.0  # mean quarterly real growth ~0.8 %
    np.testing.assert_array_equal(b.window_start, np.arange(0, 195, 4))


def test_macrodata_inverse_standardisation():
    raw = load_macrodata(window=10, standardize=False)
    std = load_macrodata(window=10)
    np.testing.assert_allclose(std.data * std.scale + std.mean, raw.data)


@pytest.mark.parametrize(
    "bad", [dict(window=203), dict(window=0), dict(stride=0), dict(columns=["gdp"])]
)
def test_macrodata_validation(bad):
    with pytest.raises(ValueError):
        load_macrodata(**bad)
