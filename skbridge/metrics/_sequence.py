"""Sample-quality metrics for sequences: real-valued time series and token strings.

Real-valued inputs are arrays of shape ``(n, length, channels)``; a 2-D ``(n, length)`` array
is read as one channel. The TimeGAN protocol (Yoon et al., 2019) scores them with two post-hoc
GRUs, :func:`discriminative_score` and :func:`predictive_score`; :func:`autocorrelation_error`
compares their temporal dependence directly.

Token inputs are lists of strings (each character a token) or lists of token lists (any
hashable tokens); lengths may vary. :func:`kmer_jsd` compares k-mer spectra,
:func:`nearest_hamming` measures memorisation of the training sequences and
:func:`smiles_validity` checks molecules (needs the optional rdkit).

NaN, None and infinite values, and empty inputs, raise a ``ValueError``. The GRU metrics run
on the CPU in float32, seed a local ``torch.Generator`` and a NumPy ``RandomState`` from
``random_state`` and never touch the global random state or torch's thread settings.

References
----------
Yoon, Jarrett & van der Schaar, "Time-series Generative Adversarial Networks", NeurIPS 2019,
https://papers.nips.cc/paper/2019/hash/c9efe5f26cd17ba6216bbe2a7d26d490-Abstract.html
(code: https://github.com/jsyoon0823/TimeGAN, ``metrics/``).
"""

from __future__ import annotations

import math
import numbers
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn

__all__ = [
    "autocorrelation_error",
    "discriminative_score",
    "kmer_jsd",
    "nearest_hamming",
    "predictive_score",
    "smiles_validity",
]

# rows pushed through a GRU at once when evaluating
_EVAL_ROWS = 4096
# float32 entries of one block of one-hot rows (64 MiB) and of one block of match counts
_ONEHOT_ENTRIES = 2**24
_BLOCK_ENTRIES = 2**22


# ------------------------------------------------------------------------ real-valued input
@contextmanager
def _one_thread():
    """Run torch on one intra-op thread inside the block, then restore the setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _series(X, label: str) -> np.ndarray:
    """``X`` as a float64 array of shape (n, length, channels), checked."""
    try:
        A = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{label} must be a numeric array of shape (n, length, channels) or (n, length)"
        ) from exc
    if A.ndim == 2:
        A = A[:, :, None]
    if A.ndim != 3:
        raise ValueError(
            f"{label} must be 3-D (n, length, channels) or 2-D (n, length), got shape {A.shape}"
        )
    if 0 in A.shape:
        raise ValueError(f"{label} is empty (shape {A.shape})")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{label} contains NaN or infinite values")
    return A


def _same_shape(real: np.ndarray, synthetic: np.ndarray, *, length: bool = True) -> None:
    if real.shape[2] != synthetic.shape[2]:
        raise ValueError(
            f"real has {real.shape[2]} channels but synthetic has {synthetic.shape[2]}; "
            "they must match"
        )
    if length and real.shape[1] != synthetic.shape[1]:
        raise ValueError(
            f"real has sequences of length {real.shape[1]} but synthetic has length "
            f"{synthetic.shape[1]}; they must match"
        )


def _positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _hidden(hidden_size, channels: int) -> int:
    if hidden_size is None:
        return max(channels // 2, 1)
    return _positive_int(hidden_size, "hidden_size")


class _GRUNet(nn.Module):
    """One-layer GRU and a linear read-out, of the last state or of every step."""

    def __init__(self, n_in: int, hidden: int, n_out: int, *, every_step: bool):
        super().__init__()
        # built on the meta device and filled in by _init_uniform: the global RNG stays untouched
        self.gru = nn.GRU(n_in, hidden, batch_first=True, device="meta")
        self.head = nn.Linear(hidden, n_out, device="meta")
        self.every_step = every_step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, h = self.gru(x)
        return self.head(out if self.every_step else h[-1])


def _network(n_in: int, hidden: int, n_out: int, *, every_step: bool, seed: int) -> _GRUNet:
    """A :class:`_GRUNet` with PyTorch's default initialisation drawn from a local generator.

    PyTorch initialises GRU and linear weights and biases alike as
    :math:`U(-1/\\sqrt{\\text{fan}}, 1/\\sqrt{\\text{fan}})`, fan the hidden size for the GRU
    and the input size for the linear layer.
    """
    net = _GRUNet(n_in, hidden, n_out, every_step=every_step).to_empty(device="cpu")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module, fan in ((net.gru, hidden), (net.head, hidden)):
            bound = 1.0 / math.sqrt(fan)
            for p in module.parameters():
                p.uniform_(-bound, bound, generator=gen)
    return net


def _batches(rng: np.random.RandomState, n: int, batch: int, n_iter: int):
    """``n_iter`` batches of row indices: consecutive slices of fresh permutations of ``n``."""
    need = n_iter * batch
    order = np.concatenate([rng.permutation(n) for _ in range(-(-need // n))])
    return torch.from_numpy(order[:need].reshape(n_iter, batch))


def _predict(net: _GRUNet, X: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([net(X[i : i + _EVAL_ROWS]) for i in range(0, len(X), _EVAL_ROWS)])


def discriminative_score(
    real,
    synthetic,
    *,
    hidden_size=None,
    n_iter=2000,
    batch_size=128,
    test_size=0.2,
    random_state=None,
):
    r"""TimeGAN's discriminative score: :math:`|0.5 - \text{accuracy}|` of a post-hoc GRU.

    The same number of sequences, :math:`m = \min(n_{real}, n_{syn})`, is drawn from each set
    (without replacement); a random ``test_size`` share of each is held out. A one-layer GRU
    reads a sequence, a linear layer turns its last hidden state into a logit, and it is
    trained with Adam (learning rate 1e-3) on the binary cross-entropy for real (0) versus
    synthetic (1), each iteration on ``batch_size`` real plus ``batch_size`` synthetic training
    sequences, as in TimeGAN. The score is

    .. math::
        \left|\tfrac12 - \text{accuracy on the held-out sequences}\right| \in [0, 0.5],

    0 ideal (the classifier does no better than chance), 0.5 when the two sets are perfectly
    separable. Two samples of the same law give values of the order of the sampling noise,
    :math:`\approx 0.5/\sqrt{n_{test}}` with :math:`n_{test} \approx 2\,m\,\text{test\_size}`.

    Parameters
    ----------
    real, synthetic : array-like of shape (n, length, channels) or (n, length)
        The same length and number of channels. Scale the data as for the generator (TimeGAN
        min-max scales every channel to [0, 1]); the score is not scale-invariant.
    hidden_size : int or None, default=None
        GRU width. None is TimeGAN's ``int(channels / 2)``, at least 1, so the scores are
        comparable with the published ones.
    n_iter : int, default=2000
        Adam steps (TimeGAN's 2000).
    batch_size : int, default=128
        Sequences per class and step (at most the training sequences per class).
    test_size : float, default=0.2
        Held-out share of each class (TimeGAN's 80/20 split); rounded up to whole sequences.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsampling, the split, the batches and the GRU's initial weights.

    Returns
    -------
    float
        :math:`|0.5 - \text{accuracy}|`; 0 is ideal.

    Notes
    -----
    The GRU runs on one torch thread for the duration of the call (restored afterwards): it
    is small, so each step is a few hundred tiny operations, and on a 2-core machine with
    other work running, torch's worker threads made it 4–5 times slower (34 s against 128 s
    for 10,000 × 24 × 5 sequences).

    See Also
    --------
    predictive_score : the other half of the TimeGAN protocol.
    skbridge.metrics.c2st : the same idea for tabular rows, with gradient boosting.
    """
    R, S = _series(real, "real"), _series(synthetic, "synthetic")
    _same_shape(R, S)
    n_iter = _positive_int(n_iter, "n_iter")
    batch_size = _positive_int(batch_size, "batch_size")
    if not isinstance(test_size, numbers.Real) or not 0 < test_size < 1:
        raise ValueError(f"test_size must be a number in (0, 1), got {test_size!r}")
    m = min(len(R), len(S))
    n_test = math.ceil(test_size * m)
    if m - n_test < 1:
        raise ValueError(
            f"discriminative_score needs at least one training and one test sequence per set; "
            f"got {m} per set with test_size={test_size}"
        )
    channels = R.shape[2]
    hidden = _hidden(hidden_size, channels)
    rng = check_random_state(random_state)
    seed = int(rng.randint(0, 2**31 - 1))

    R = R[rng.permutation(len(R))[:m]]
    S = S[rng.permutation(len(S))[:m]]
    X_train = torch.from_numpy(np.concatenate([R[n_test:], S[n_test:]]).astype(np.float32))
    X_test = torch.from_numpy(np.concatenate([R[:n_test], S[:n_test]]).astype(np.float32))
    n_train = m - n_test
    batch = min(batch_size, n_train)
    # rows n_train.. of X_train are synthetic; one batch = batch real + batch synthetic rows
    idx = torch.cat(
        [_batches(rng, n_train, batch, n_iter), _batches(rng, n_train, batch, n_iter) + n_train],
        dim=1,
    )
    y = torch.cat([torch.zeros(batch, 1), torch.ones(batch, 1)])

    net = _network(channels, hidden, 1, every_step=False, seed=seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    with _one_thread():
        for it in range(n_iter):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(X_train[idx[it]]), y)
            loss.backward()
            opt.step()
        pred = _predict(net, X_test)[:, 0] > 0
    truth = torch.cat([torch.zeros(n_test, dtype=torch.bool), torch.ones(n_test, dtype=torch.bool)])
    accuracy = (pred == truth).double().mean().item()
    return float(abs(0.5 - accuracy))


def _predictive_xy(A: np.ndarray):
    """TimeGAN's predictive task: inputs at steps 0..L-2, the last channel at steps 1..L-1."""
    X = A[:, :-1, :-1] if A.shape[2] > 1 else A[:, :-1, :]
    Y = A[:, 1:, -1:]
    return (torch.from_numpy(np.ascontiguousarray(B, dtype=np.float32)) for B in (X, Y))


def predictive_score(
    real, synthetic, *, hidden_size=None, n_iter=5000, batch_size=128, random_state=None
):
    r"""TimeGAN's predictive score: train on synthetic, predict the next step of real; MAE.

    A one-layer GRU with a linear read-out at every step is trained with Adam (learning rate
    1e-3) on the mean absolute error, on ``batch_size`` synthetic sequences per step, to
    predict the last channel at steps :math:`1, \dots, L-1` from the other channels at steps
    :math:`0, \dots, L-2` (TimeGAN's exact task; the target channel itself is *not* an input).
    With a single channel it predicts that channel at steps :math:`1, \dots, L-1` from its
    values at steps :math:`0, \dots, L-2`. The score is the mean absolute error of this
    predictor on all ``real`` sequences:

    .. math::
        \text{MAE} = \frac{1}{n (L-1)} \sum_{i=1}^{n} \sum_{t=1}^{L-1}
        \left|\hat y_{i,t} - x^{real}_{i,t,C}\right|.

    Lower is better. The reference value is that of real training data in place of the
    synthetic: ``predictive_score(real_test, real_train)`` (train on some real sequences,
    test on other real data); ``predictive_score(real, real)`` is TimeGAN's "original data"
    row, an in-sample figure, slightly optimistic.

    Parameters
    ----------
    real, synthetic : array-like of shape (n, length, channels) or (n, length)
        The same length (at least 2) and number of channels; ``real`` is the test set,
        ``synthetic`` the training set. The MAE is in the data's units: scale the data as
        TimeGAN does (min-max to [0, 1] per channel) to compare with published numbers.
    hidden_size : int or None, default=None
        GRU width. None is TimeGAN's ``int(channels / 2)``, at least 1.
    n_iter : int, default=5000
        Adam steps (TimeGAN's 5000).
    batch_size : int, default=128
        Synthetic sequences per step (at most the number of synthetic sequences).
    random_state : int, RandomState instance or None, default=None
        Seeds the batches and the GRU's initial weights.

    Returns
    -------
    float
        The mean absolute error on ``real``; lower is better.

    Notes
    -----
    TimeGAN squashes the read-out with a sigmoid, as its data lie in [0, 1]; here it is linear,
    so the score is defined for data on any scale. On [0, 1] data the two agree closely.

    The GRU runs on one torch thread for the duration of the call (restored afterwards): it
    is small, so each step is a few hundred tiny operations, and on a 2-core machine with
    other work running, torch's worker threads made it 4–5 times slower (34 s against 128 s
    for 10,000 × 24 × 5 sequences).

    See Also
    --------
    discriminative_score : the other half of the TimeGAN protocol.
    """
    R, S = _series(real, "real"), _series(synthetic, "synthetic")
    _same_shape(R, S)
    if R.shape[1] < 2:
        raise ValueError("predictive_score needs sequences of length at least 2")
    n_iter = _positive_int(n_iter, "n_iter")
    batch_size = _positive_int(batch_size, "batch_size")
    channels = R.shape[2]
    hidden = _hidden(hidden_size, channels)
    rng = check_random_state(random_state)
    seed = int(rng.randint(0, 2**31 - 1))

    X_syn, Y_syn = _predictive_xy(S)
    X_real, Y_real = _predictive_xy(R)
    batch = min(batch_size, len(S))
    idx = _batches(rng, len(S), batch, n_iter)

    net = _network(X_syn.shape[2], hidden, 1, every_step=True, seed=seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    with _one_thread():
        for it in range(n_iter):
            opt.zero_grad(set_to_none=True)
            rows = idx[it]
            loss = (net(X_syn[rows]) - Y_syn[rows]).abs().mean()
            loss.backward()
            opt.step()
        err = (_predict(net, X_real).double() - Y_real.double()).abs()
    return float(err.mean().item())


def _mean_acf(A: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean over sequences of each channel's autocorrelation at lags 1..max_lag: (max_lag, C).

    A sequence's autocorrelation at lag k is
    :math:`\\sum_{t<L-k} (x_t - \\bar x)(x_{t+k} - \\bar x) / \\sum_t (x_t - \\bar x)^2`.
    """
    D = A - A.mean(axis=1, keepdims=True)
    var = np.einsum("ntc,ntc->nc", D, D)
    L = A.shape[1]
    cov = np.stack(
        [np.einsum("ntc,ntc->nc", D[:, : L - k], D[:, k:]) for k in range(1, max_lag + 1)]
    )
    defined = var > 1e-12 * np.maximum(1.0, np.abs(A).max(axis=1) ** 2) * L
    acf = np.where(defined, cov / np.where(defined, var, 1.0), 0.0)
    counts = defined.sum(axis=0)
    return acf.sum(axis=1) / np.maximum(counts, 1)


def autocorrelation_error(real, synthetic, *, max_lag=None):
    r"""Mean absolute difference of the two sets' average autocorrelation functions.

    For each sequence and channel the sample autocorrelation at lag :math:`k`,

    .. math::
        \rho_k = \frac{\sum_{t=0}^{L-1-k} (x_t - \bar x)(x_{t+k} - \bar x)}
                      {\sum_{t=0}^{L-1} (x_t - \bar x)^2},

    (the usual biased estimator, as ``statsmodels.tsa.acf``) is averaged over the sequences of
    each set, giving :math:`\bar\rho^{real}_{k,c}` and :math:`\bar\rho^{syn}_{k,c}`; the score
    is :math:`\operatorname{mean}_{k,c} |\bar\rho^{real}_{k,c} - \bar\rho^{syn}_{k,c}|` over
    lags :math:`1..` ``max_lag`` and channels, in [0, 2]; 0 is ideal. A constant sequence has
    no autocorrelation and is left out of its channel's average (a channel constant in every
    sequence counts as 0).

    Parameters
    ----------
    real, synthetic : array-like of shape (n, length, channels) or (n, length)
        The same number of channels; the lengths may differ.
    max_lag : int or None, default=None
        Largest lag. None is half the shorter length (at least 1): beyond it the estimates
        rest on few pairs and are noisy. Must be below the shorter length.

    Returns
    -------
    float
    """
    R, S = _series(real, "real"), _series(synthetic, "synthetic")
    _same_shape(R, S, length=False)
    L = min(R.shape[1], S.shape[1])
    if L < 2:
        raise ValueError("autocorrelation_error needs sequences of length at least 2")
    if max_lag is None:
        max_lag = max(L // 2, 1)
    elif (
        isinstance(max_lag, (bool, np.bool_))
        or not isinstance(max_lag, numbers.Integral)
        or not 1 <= max_lag < L
    ):
        raise ValueError(f"max_lag must be an integer in [1, {L - 1}], got {max_lag!r}")
    return float(np.abs(_mean_acf(R, int(max_lag)) - _mean_acf(S, int(max_lag))).mean())


# ----------------------------------------------------------------------------- token input
def _sequences(seqs, label: str) -> list:
    """``seqs`` as a non-empty list of token tuples (a string's tokens are its characters)."""
    if isinstance(seqs, (str, bytes)):
        raise ValueError(
            f"{label} must be a collection of sequences (e.g. a list of strings), not one string"
        )
    try:
        out = [tuple(s) for s in seqs]
    except TypeError as exc:
        raise ValueError(
            f"{label} must be a collection of sequences: strings or lists of tokens"
        ) from exc
    if not out:
        raise ValueError(f"{label} is empty")
    return out


def _ranks(counts: np.ndarray) -> np.ndarray:
    """``0, 1, ..., c - 1`` for each ``c`` in ``counts``, concatenated."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _encode_tokens(*sets):
    """Integer codes on the union vocabulary: per set (flat codes, lengths), and its size."""
    index: dict = {}
    encoded = []
    for seqs in sets:
        try:
            flat = np.fromiter(
                (index.setdefault(t, len(index)) for s in seqs for t in s),
                dtype=np.int64,
                count=sum(len(s) for s in seqs),
            )
        except TypeError as exc:
            raise ValueError(f"tokens must be hashable: {exc}") from exc
        encoded.append((flat, np.array([len(s) for s in seqs], dtype=np.int64)))
    for t in index:
        if t is None or (isinstance(t, (float, np.floating)) and np.isnan(t)):
            raise ValueError("sequences contain missing tokens (None or NaN)")
    return encoded, len(index)


def _kmer_codes(flat: np.ndarray, lengths: np.ndarray, k: int, vocab: int) -> np.ndarray:
    """One code per k-mer window inside a sequence (rows of k codes when base-V overflows)."""
    n_win = np.maximum(lengths - k + 1, 0)
    starts = np.repeat(np.cumsum(lengths) - lengths, n_win) + _ranks(n_win)
    windows = flat[starts[:, None] + np.arange(k)]
    if vocab**k < 2**62:
        return windows @ (vocab ** np.arange(k - 1, -1, -1, dtype=np.int64))
    return windows


def _jsd(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """Jensen–Shannon divergence in bits of two count vectors on the same support."""
    p = p_counts / p_counts.sum()
    q = q_counts / q_counts.sum()
    m = 0.5 * (p + q)

    def kl(a):
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return min(max(0.5 * kl(p) + 0.5 * kl(q), 0.0), 1.0)


def kmer_jsd(real, synthetic, *, k=(1, 2, 3, 4), return_per_k=False):
    r"""Jensen–Shannon divergence between the k-mer spectra of two sets of token sequences.

    For each :math:`k`, the spectrum of a set is the frequency of every k-mer (run of
    :math:`k` consecutive tokens inside one sequence; runs never cross sequences) over all its
    sequences; the two spectra are compared with the Jensen–Shannon divergence in bits,

    .. math::
        \mathrm{JSD}(P, Q) = \tfrac12 \mathrm{KL}(P \,\|\, M) + \tfrac12 \mathrm{KL}(Q \,\|\, M),
        \qquad M = \tfrac12 (P + Q),

    which is symmetric and lies in [0, 1]: 0 for identical spectra, 1 for disjoint ones. The
    result is the mean over the values of ``k``. Use held-out real sequences, not the
    generator's training set, as ``real``; two finite samples of one law give a small positive
    value (more so for large :math:`k`, whose spectra are sparse).

    Parameters
    ----------
    real, synthetic : sequence of str or sequence of sequences of hashable tokens
        A string's tokens are its characters; lengths may vary.
    k : int or tuple of int, default=(1, 2, 3, 4)
        The k-mer sizes. Each set needs at least one sequence of length >= max(k).
    return_per_k : bool, default=False
        Also return the divergence for each ``k``.

    Returns
    -------
    float, or dict
        The mean JSD over ``k``; with ``return_per_k``, ``{"mean": float, "per_k": {k: float}}``.
    """
    ks = (k,) if isinstance(k, numbers.Integral) else tuple(k)
    if not ks or any(
        isinstance(j, (bool, np.bool_)) or not isinstance(j, numbers.Integral) or j < 1 for j in ks
    ):
        raise ValueError(f"k must be a positive integer or a tuple of them, got {k!r}")
    A, B = _sequences(real, "real"), _sequences(synthetic, "synthetic")
    ((fa, la), (fb, lb)), vocab = _encode_tokens(A, B)
    per_k = {}
    for j in sorted(set(int(j) for j in ks)):
        for lengths, label in ((la, "real"), (lb, "synthetic")):
            if lengths.max() < j:
                raise ValueError(
                    f"no sequence in {label} is as long as k={j} (longest: {lengths.max()})"
                )
        ca, cb = _kmer_codes(fa, la, j, vocab), _kmer_codes(fb, lb, j, vocab)
        _, inverse = np.unique(np.concatenate([ca, cb]), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        n_kmers = inverse.max() + 1
        per_k[j] = _jsd(
            np.bincount(inverse[: len(ca)], minlength=n_kmers).astype(np.float64),
            np.bincount(inverse[len(ca) :], minlength=n_kmers).astype(np.float64),
        )
    mean = float(np.mean(list(per_k.values())))
    return {"mean": mean, "per_k": per_k} if return_per_k else mean


def _onehot(lengths, rows, columns, position_token):
    """float32 one-hot of sequences ``rows`` on the kept (position, token) ``columns``."""
    block = np.zeros((len(rows), len(columns)), dtype=np.float32)
    n = lengths[rows]
    r = np.repeat(np.arange(len(rows)), n)
    pt = position_token[np.repeat((np.cumsum(lengths) - lengths)[rows], n) + _ranks(n)]
    col = np.minimum(np.searchsorted(columns, pt), len(columns) - 1)
    keep = columns[col] == pt
    block[r[keep], col[keep]] = 1.0
    return block


def nearest_hamming(train, synthetic):
    r"""Normalised Hamming distance from each synthetic sequence to its nearest training one.

    The distance between sequences :math:`a` and :math:`b` is the share of mismatching
    positions over the longer length,

    .. math::
        d(a, b) = \frac{\max(|a|, |b|) - \#\{t < \min(|a|, |b|) : a_t = b_t\}}{\max(|a|, |b|)},

    so positions beyond the end of the shorter sequence count as mismatches (two empty
    sequences are at distance 0). Small distances flag memorisation: copies of training
    sequences are at 0. For reference, a sequence of :math:`L` uniform tokens from an alphabet
    of :math:`V` is at expected distance :math:`1 - 1/V` from any unrelated sequence of the same
    length (0.75 for DNA), and its nearest neighbour among many is closer.

    Parameters
    ----------
    train : sequence of str or sequence of sequences of hashable tokens
        The generator's training sequences.
    synthetic : sequence of str or sequence of sequences of hashable tokens

    Returns
    -------
    dict
        ``mean``: the mean nearest-neighbour distance over the synthetic sequences;
        ``exact_copies``: the share of synthetic sequences at distance 0 (identical to a
        training sequence).

    Notes
    -----
    Matches are counted as products of one-hot (position, token) encodings, in blocks of
    bounded size (tens of MiB, whatever the number of sequences); the time is
    :math:`O(n_{train}\, n_{syn}\, W)` with :math:`W` at most length times vocabulary.
    """
    T, S = _sequences(train, "train"), _sequences(synthetic, "synthetic")
    ((ft, lt), (fs, ls)), vocab = _encode_tokens(T, S)
    vocab = max(vocab, 1)

    pt, ps = _ranks(lt) * vocab + ft, _ranks(ls) * vocab + fs
    # only (position, token) pairs seen in both sets can match
    columns = np.intersect1d(pt, ps)
    if not len(columns):
        columns = np.array([-1])  # a column nothing matches
    width = len(columns)
    rows_t = max(1, min(len(T), _ONEHOT_ENTRIES // width))
    rows_s = max(1, min(len(S), _BLOCK_ENTRIES // rows_t))
    best = np.full(len(S), np.inf)
    for i in range(0, len(T), rows_t):
        ti = np.arange(i, min(i + rows_t, len(T)))
        OT = _onehot(lt, ti, columns, pt)
        for j in range(0, len(S), rows_s):
            sj = np.arange(j, min(j + rows_s, len(S)))
            matches = _onehot(ls, sj, columns, ps) @ OT.T
            longer = np.maximum(ls[sj, None], lt[None, ti]).astype(np.float64)
            dist = (longer - matches) / np.maximum(longer, 1.0)
            best[sj] = np.minimum(best[sj], dist.min(axis=1))
    # exact float counts (sums of 0/1 in float32 are exact below 2**24): 0 means a copy
    return {"mean": float(best.mean()), "exact_copies": float(np.mean(best == 0))}


def smiles_validity(smiles):
    """Share of SMILES strings that rdkit parses into a molecule.

    A string is valid when ``rdkit.Chem.MolFromSmiles`` returns a molecule (not None); the
    empty string, which rdkit reads as an empty molecule, counts as invalid. rdkit's parse
    error messages are silenced while checking.

    Parameters
    ----------
    smiles : sequence of str

    Returns
    -------
    float
        The valid share, in [0, 1].

    Raises
    ------
    ImportError
        If rdkit is not installed (``pip install rdkit``).
    """
    try:
        from rdkit import Chem, rdBase
    except ImportError as exc:
        raise ImportError(
            "smiles_validity needs rdkit, an optional dependency: pip install rdkit"
        ) from exc
    if isinstance(smiles, (str, bytes)):
        raise ValueError("smiles must be a collection of SMILES strings, not one string")
    items = list(smiles)
    if not items:
        raise ValueError("smiles is empty")
    if not all(isinstance(s, str) for s in items):
        raise ValueError("smiles must contain only strings")
    block = rdBase.BlockLogs() if hasattr(rdBase, "BlockLogs") else None
    try:
        valid = sum(bool(s) and Chem.MolFromSmiles(s) is not None for s in items)
    finally:
        del block
    return valid / len(items)
