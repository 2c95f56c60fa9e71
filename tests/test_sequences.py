"""Sequences: the codec (real series, token strings, token lists), the temporal drift network,
every model on sequence data, and bad input."""

import pickle

import numpy as np
import pytest
import torch

from skbridge import SBVAE, VAE, FlowMatching, ScoreSDE
from skbridge.data import SequenceCodec, TabularCodec, make_dna, make_sines
from skbridge.data._dequantize import dequantize
from skbridge.data._sequence import is_sequence_data
from skbridge.nets import DriftMLP, TemporalConvNet, auto_hidden, drift_network

FAST = {
    ScoreSDE: dict(max_iter=30, n_steps=8, hidden_layer_sizes=(16,), n_elbo_samples=1),
    SBVAE: dict(
        max_iter=30, n_steps=8, hidden_layer_sizes=(16,), n_elbo_samples=1, encoder_max_iter=2
    ),
    FlowMatching: dict(max_iter=30, n_steps=4, hidden_layer_sizes=(16,)),
    VAE: dict(max_iter=30, hidden_layer_sizes=(16,), n_importance_samples=4),
}
MODELS = [pytest.param(cls, id=cls.__name__) for cls in FAST]


@pytest.fixture(scope="module")
def sines():
    return make_sines(120, length=12, n_channels=2, random_state=0)


@pytest.fixture(scope="module")
def dna():
    return make_dna(120, length=(8, 14), motifs=("TATA",), random_state=0)


# ------------------------------------------------------------------------- codec
def test_real_round_trip_and_units(sines):
    codec = SequenceCodec().fit(sines)
    assert codec.kind_ == "real" and codec.event_shape_ == (12, 2)
    P, offset = codec.encode(sines)
    assert P.shape == (120, 24)
    np.testing.assert_allclose(codec.decode(P), sines, atol=1e-12)
    # scaling every value by c shifts the log-Jacobian by -(L*C) log c
    c = 3.0
    _, offset_c = SequenceCodec().fit(sines * c).encode(sines * c)
    np.testing.assert_allclose(offset_c - offset, -24 * np.log(c), rtol=1e-10)


def test_variable_length_strings_round_trip(dna):
    codec = SequenceCodec().fit(dna)
    assert codec.kind_ == "tokens" and codec.alphabet_ == list("ACGT")
    assert codec.variable_length_ and codec.length_ == max(map(len, dna))
    P, offset = codec.encode(dna)
    assert np.all(offset == 0)
    assert codec.decode(P) == dna
    # every dequantisation draw decodes back to the same strings, with a finite log q
    Pt = torch.as_tensor(P, dtype=torch.float32)
    v, log_q = dequantize(codec, Pt, generator=torch.Generator().manual_seed(0))
    assert codec.decode(v.numpy()) == dna
    assert torch.isfinite(log_q).all()


@pytest.fixture(scope="module")
def ragged():
    return make_sines(80, length=(5, 9), n_channels=2, random_state=0)


def test_variable_length_series_round_trip_and_bound_terms(ragged):
    from scipy.stats import norm

    from skbridge.data._dequantize import relaxed_onehot

    codec = SequenceCodec().fit(ragged)
    assert codec.kind_ == "real" and codec.variable_length_ and codec.has_discrete_
    assert codec.event_shape_ == (9, 4)  # two channels, then the alive / ended block
    lengths = np.array([len(x) for x in ragged])
    np.testing.assert_array_equal(codec.lengths_, np.bincount(lengths))
    P, offset = codec.encode(ragged)
    back = codec.decode(P)
    assert [len(x) for x in back] == lengths.tolist()
    for x, y in zip(ragged, back, strict=True):
        np.testing.assert_allclose(y, x, atol=1e-12)
    # the log-Jacobian counts the steps a series has: scaling by c shifts it by -L_i C log c
    c = 3.0
    scaled = [x * c for x in ragged]
    _, offset_c = SequenceCodec().fit(scaled).encode(scaled)
    np.testing.assert_allclose(offset_c - offset, -lengths * 2 * np.log(c), rtol=1e-10)
    # every dequantised draw decodes to the same series; the values after the end are
    # standard normal draws whose log-density is in log q beside the alive blocks'
    Pt = torch.as_tensor(P, dtype=torch.float64)
    u = torch.rand(Pt.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    v, log_q = dequantize(codec, Pt, u)
    for x, y in zip(ragged, codec.decode(v.numpy()), strict=True):
        np.testing.assert_allclose(y, x, atol=1e-12)
    V = v.numpy().reshape(len(ragged), 9, 4)
    after = np.arange(9)[None, :] >= lengths[:, None]
    np.testing.assert_array_equal(V[~after][:, :2], P.reshape(-1, 9, 4)[~after][:, :2])
    noise = V[after][:, :2]
    assert abs(noise.mean()) < 4 / np.sqrt(noise.size) and abs(noise.std() - 1) < 0.1
    _, lq_blocks = relaxed_onehot(
        Pt.reshape(-1, 9, 4)[..., 2:].reshape(-1, 2), u.reshape(-1, 9, 4)[..., 2:].reshape(-1, 2)
    )
    expected = lq_blocks.reshape(len(ragged), -1).sum(1).numpy() + np.array(
        [norm.logpdf(V[i][after[i]][:, :2]).sum() for i in range(len(ragged))]
    )
    np.testing.assert_allclose(log_q.numpy(), expected, rtol=1e-10)
    # the alive blocks carry each position's training frequencies (half a count added)
    alive_at_6 = (lengths > 6).sum()
    np.testing.assert_allclose(
        codec.onehot_frequencies_[6], (np.array([alive_at_6, 80 - alive_at_6]) + 0.5) / 81
    )
    assert codec.onehot_blocks_[6] == (6 * 4 + 2, 7 * 4)


def test_decoding_drops_stray_end_tokens_and_never_returns_empty():
    codec = SequenceCodec().fit(["AC", "GTA"])  # alphabet ACGT + end token, length 3
    end = np.eye(5)[4]
    V = np.stack(
        [
            np.stack([np.eye(5)[0], end, np.eye(5)[1]]),  # A <end> C -> "AC"
            np.stack([end + 0.3 * np.eye(5)[2], end, end]),  # all end -> likeliest token "G"
        ]
    )
    assert codec.decode(V.reshape(2, -1)) == ["AC", "G"]


def test_token_lists_keep_tokens_and_type():
    seqs = [["Cl", "C", "O"], ["C", "C"], ["O", "Cl", "C", "C"]]
    codec = SequenceCodec().fit(seqs)
    assert codec.alphabet_ == ["C", "Cl", "O"]
    P, _ = codec.encode(seqs)
    assert codec.decode(P) == seqs


def test_integer_tokens_need_explicit_kind():
    ids = [[0, 3, 2, 1], [1, 1, 2, 0]]
    assert not is_sequence_data(ids)  # a list of number lists is a table (sklearn)
    codec = SequenceCodec(kind="tokens").fit(ids)
    assert codec.alphabet_ == [0, 1, 2, 3] and not codec.variable_length_
    assert codec.decode(codec.encode(ids)[0]) == ids


def test_auto_detection(sines, dna):
    assert is_sequence_data(sines) and is_sequence_data(dna)
    assert is_sequence_data([np.zeros((5, 2)), np.ones((5, 2))])
    assert not is_sequence_data(np.zeros((5, 2)))


# -------------------------------------------------------------------- bad input
def test_bad_input(sines, dna):
    with pytest.raises(ValueError, match="different shapes.*length='auto'"):
        SequenceCodec(length=6).fit([np.zeros((5, 2)), np.zeros((6, 2))])
    with pytest.raises(ValueError, match="different numbers of channels"):
        SequenceCodec().fit([np.zeros((5, 2)), np.zeros((6, 3))])
    fixed = SequenceCodec().fit(sines)
    with pytest.raises(ValueError, match="needs a fixed length"):
        fixed.encode([sines[0], sines[1][:5]])
    padded = SequenceCodec().fit(list(make_sines(10, length=(4, 6), n_channels=2, random_state=0)))
    with pytest.raises(ValueError, match="lengths up to 6"):
        padded.encode([np.zeros((7, 2))])
    with pytest.raises(ValueError, match="3 channels, but the model was fitted on 2"):
        padded.encode([np.zeros((4, 3)), np.zeros((5, 3))])
    with pytest.raises(ValueError, match="NaN"):
        bad = sines.copy()
        bad[3, 4, 1] = np.nan
        SequenceCodec().fit(bad)
    with pytest.raises(ValueError, match="empty"):
        SequenceCodec().fit(["ACG", ""])
    with pytest.raises(ValueError, match="empty"):
        SequenceCodec().fit([])
    with pytest.raises(ValueError, match="length=10 was asked for"):
        SequenceCodec(length=10).fit(dna)
    codec = SequenceCodec().fit(dna)
    with pytest.raises(ValueError, match="not seen in fit: .*'N'"):
        codec.encode(["ACGN"])
    with pytest.raises(ValueError, match="lengths up to"):
        codec.encode(["A" * 40])
    with pytest.raises(ValueError, match="fitted on tokens"):
        codec.encode(sines)
    with pytest.raises(ValueError, match="constant"):
        SequenceCodec().fit(np.ones((4, 3, 2)))
    with pytest.raises(TypeError, match="sequence data must be"):
        SequenceCodec().fit(42)


# ---------------------------------------------------------------------- network
def test_temporal_net_covers_the_sequence_and_starts_at_zero():
    torch.manual_seed(0)
    net = TemporalConvNet((30, 3), width=16)
    assert net.reach >= 29
    x = torch.randn(2, 90, requires_grad=True)
    out = net(torch.tensor(0.3), x)
    assert out.shape == x.shape
    # the first time step's output depends on the last time step's input
    grad = torch.autograd.grad(out.reshape(2, 30, 3)[:, 0].sum(), x)[0].reshape(2, 30, 3)
    assert grad[:, -1].abs().sum() > 0
    zero = TemporalConvNet((30, 3), width=16, zero_init=True)
    assert torch.all(zero(torch.tensor(0.3), x) == 0)


def test_drift_network_factory(sines):
    codec = SequenceCodec().fit(sines)
    assert isinstance(drift_network(codec, "auto"), TemporalConvNet)
    table = TabularCodec().fit(np.random.default_rng(0).normal(size=(20, 10)))
    net = drift_network(table, "auto")
    assert isinstance(net, DriftMLP) and net(torch.tensor(0.5), torch.zeros(3, 10)).shape == (3, 10)
    assert auto_hidden(10) == (128,) * 3
    assert auto_hidden(106) == (256,) * 3
    assert auto_hidden(5000) == (1024,) * 3


# ------------------------------------------------------------------------ models
@pytest.mark.parametrize("cls", MODELS)
def test_models_fit_sample_score_series(cls, sines):
    model = cls(**FAST[cls], random_state=0).fit(sines)
    S = model.sample(7, random_state=0)
    assert S.shape == (7, 12, 2) and np.isfinite(S).all()
    scores = model.score_samples(sines[:5])
    assert scores.shape == (5,) and np.isfinite(scores).all()
    # scores are per-sequence and do not depend on the batch they come in
    np.testing.assert_allclose(model.score_samples(sines[2:3]), scores[2:3], rtol=1e-4)


@pytest.mark.parametrize("cls", MODELS)
def test_models_fit_sample_score_series_of_different_lengths(cls, ragged):
    model = cls(**FAST[cls], random_state=0).fit(ragged)
    S = model.sample(20, random_state=0)
    assert isinstance(S, list) and len(S) == 20
    assert all(x.ndim == 2 and x.shape[1] == 2 and 1 <= len(x) <= 9 for x in S)
    assert all(np.isfinite(x).all() for x in S)
    scores = model.score_samples(ragged[:5])
    assert scores.shape == (5,) and np.isfinite(scores).all()
    np.testing.assert_allclose(model.score_samples(ragged[2:3]), scores[2:3], rtol=1e-4)


@pytest.mark.parametrize("cls", MODELS)
def test_models_fit_sample_score_strings(cls, dna):
    model = cls(**FAST[cls], random_state=0).fit(dna)
    S = model.sample(20, random_state=0)
    assert isinstance(S, list) and len(S) == 20
    assert all(isinstance(s, str) and set(s) <= set("ACGT") for s in S)
    assert max(map(len, S)) <= max(map(len, dna))
    scores = model.score_samples(dna[:4])
    assert np.isfinite(scores).all() and np.all(scores < 0)  # log-probabilities (bounds)


# ----------------------------------------------------------------------- quality
@pytest.mark.slow
def test_token_samples_follow_the_training_lengths_and_kmers():
    """A short fit learns where strings end and beats i.i.d. letters on k-mer spectra."""
    from skbridge.metrics import kmer_jsd

    dna = make_dna(900, length=(8, 16), motifs=("TATA",), motif_prob=0.8, random_state=0)
    train, test = dna[:600], dna[600:]
    model = ScoreSDE(max_iter=800, n_steps=50, hidden_layer_sizes=(32,), random_state=0)
    synth = model.fit(train).sample(300, random_state=1)
    lengths = np.array([len(s) for s in synth])
    assert set("".join(synth)) <= set("ACGT")
    assert lengths.min() >= 1 and lengths.max() <= 16
    # training lengths are uniform on 8..16 (mean 12, sd 2.6): the sample mean of 300 has
    # Monte Carlo sd 0.15, so 1.0 leaves room for model error only
    assert abs(lengths.mean() - 12.0) < 1.0
    rng = np.random.default_rng(0)  # i.i.d. letters with the training frequencies
    letters, counts = np.unique(list("".join(train)), return_counts=True)
    iid = ["".join(rng.choice(letters, n, p=counts / counts.sum())) for n in lengths]
    assert kmer_jsd(test, synth) < kmer_jsd(test, iid)


@pytest.mark.slow
def test_series_samples_keep_the_temporal_structure():
    """Sines keep their autocorrelation, unlike the same values shuffled in time."""
    from skbridge.metrics import autocorrelation_error

    X = make_sines(1200, length=16, n_channels=2, random_state=0)
    train, test = X[:900], X[900:]
    model = ScoreSDE(max_iter=800, n_steps=50, hidden_layer_sizes=(32,), random_state=0)
    synth = model.fit(train).sample(300, random_state=1)
    shuffled = np.random.default_rng(0).permuted(test, axis=1)
    assert autocorrelation_error(test, synth) < 0.5 * autocorrelation_error(test, shuffled)
    assert synth.min() > -0.5 and synth.max() < 1.5  # sines live in [0, 1]


@pytest.mark.slow
def test_series_of_different_lengths_learn_their_lengths():
    """A short fit samples the training lengths' law and series in the sines' range."""
    X = make_sines(400, length=(8, 16), n_channels=2, random_state=0)
    model = ScoreSDE(max_iter=300, n_steps=30, hidden_layer_sizes=(32,), random_state=0)
    synth = model.fit(X).sample(300, random_state=1)
    lengths = np.array([len(x) for x in synth])
    assert lengths.min() >= 1 and lengths.max() <= 16
    # training lengths are uniform on 8..16 (mean 12, sd 2.6): the sample mean of 300 has
    # Monte Carlo sd 0.15, so 1.0 leaves room for model error only; likewise the share
    # shorter than 8 (none in training). A fit this short under-disperses the lengths
    # (sd 1.6: each position's alive / ended block is still drawn nearly independently; a
    # default fit of 3000 iterations reaches sd 2.59 against 2.66, benchmarks/ragged_series.py),
    # so the spread is only required not to collapse.
    assert abs(lengths.mean() - 12.0) < 1.0 and np.mean(lengths < 8) < 0.1
    assert lengths.std() > 1.0
    values = np.concatenate(synth)
    assert values.shape[1] == 2 and np.quantile(values, 0.01) > -0.3
    assert np.quantile(values, 0.99) < 1.3


def test_a_user_token_named_like_the_end_token_is_kept():
    # the padding token was the string "<end>": a user token "<end>" was taken for padding
    # and silently dropped from every sequence
    X = [["a", "<end>", "b"], ["<end>", "a"], ["b"], ["a", "b", "<end>", "a"]]
    codec = SequenceCodec().fit(X)
    assert "<end>" in codec.alphabet_ and codec.variable_length_
    P, _ = codec.encode(X)
    assert codec.decode(P) == X
    restored = pickle.loads(pickle.dumps(codec))  # the padding object survives pickling
    assert restored.decode(P) == X


@pytest.mark.parametrize(
    "X",
    [
        [[3, 1, 4, 1, 5], [9, 2, 6], [5, 3]],  # lists of ints, variable lengths
        np.array([[3, 1, 4], [1, 5, 9], [2, 6, 5]]),  # a 2-D integer array
    ],
    ids=["lists", "array"],
)
def test_integer_token_ids_are_tokens_under_data_sequence(X):
    # data="sequence" on integer ids (as the user guide advises) refused variable lengths
    # and modelled equal-length ids as real numbers
    codec = SequenceCodec().fit(X)
    assert codec.kind_ == "tokens"
    assert codec.alphabet_ == sorted({int(t) for s in X for t in s})
    P, _ = codec.encode(X)
    assert codec.decode(P) == [list(map(int, s)) for s in X]
    model = ScoreSDE(**FAST[ScoreSDE], data="sequence", random_state=0).fit(list(X) * 10)
    samples = model.sample(20, random_state=0)
    assert all(isinstance(s, list) and set(s) <= set(codec.alphabet_) for s in samples)
    assert np.isfinite(model.score_samples(samples)).all()
    # float values stay real series; SequenceCodec(kind="real") reads ids as numbers
    assert SequenceCodec().fit(np.arange(12.0).reshape(3, 4)).kind_ == "real"
    assert SequenceCodec(kind="real").fit(np.array([[3, 1], [4, 1], [5, 9]])).kind_ == "real"
