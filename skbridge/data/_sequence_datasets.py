"""Offline sequence datasets: synthetic sines and DNA, and a real macroeconomic panel.

Everything here is generated in code or read from a small file shipped with the package;
nothing is downloaded at run time.
"""

from __future__ import annotations

import numbers
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["make_sines", "make_dna", "dna_markov_chain", "load_macrodata"]


def _default_rng(random_state):
    """Turn ``random_state`` into a ``numpy.random.Generator``.

    ``None`` gives fresh OS entropy, an int seeds ``default_rng`` directly, a ``Generator`` is
    used as is (and advanced), and a legacy ``RandomState`` is asked for one 32-bit seed that
    then seeds ``default_rng`` (so it is advanced by one draw).
    """
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(int(random_state.randint(0, 2**32, dtype=np.uint64)))
    raise ValueError(
        f"random_state must be None, an int, a numpy Generator or a RandomState; "
        f"got {random_state!r}."
    )


def _check_positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


# --------------------------------------------------------------------------------------------
# Sines
# --------------------------------------------------------------------------------------------


def _length_range(length):
    """``(min, max)`` of an int length or a (min, max) pair, checked."""
    if isinstance(length, numbers.Integral):
        lo = _check_positive_int(length, "length")
        return lo, lo
    try:
        lo, hi = length
    except (TypeError, ValueError):
        raise ValueError(f"length must be an int or a (min, max) pair, got {length!r}.") from None
    lo = _check_positive_int(lo, "length[0]")
    hi = _check_positive_int(hi, "length[1]")
    if lo > hi:
        raise ValueError(f"length must satisfy min <= max, got {length!r}.")
    return lo, hi


def make_sines(n_samples=10000, length=24, n_channels=5, *, random_state=None):
    """Multichannel sine waves of random frequency and phase (TimeGAN's "sines" data).

    For every sample ``i`` and channel ``c`` a frequency and a phase are drawn independently,
    ``f_ic ~ U(0, 0.1)`` and ``phi_ic ~ U(0, 0.1)``, and the channel is

    ``x[i, t, c] = (sin(f_ic * t + phi_ic) + 1) / 2``  for ``t = 0, ..., length - 1``,

    so all values lie in ``[0, 1]`` (with the default ``length=24`` the argument stays in
    ``[0, 2.4]``, so in fact in ``[0.5, 1]``, as in the original). This is the synthetic benchmark of Yoon, Jarrett and van
    der Schaar, "Time-series Generative Adversarial Networks" (NeurIPS 2019); their standard
    setting is the default ``(10000, 24, 5)``.

    Parameters
    ----------
    n_samples : int, default=10000
        Number of sequences.
    length : int or (int, int), default=24
        Number of time steps per sequence, or the ``(min, max)`` of lengths drawn uniformly
        and independently for each sequence (after the phases): series of different
        lengths, returned as a list.
    n_channels : int, default=5
        Number of channels (independent sines) per sequence.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, default=None
        Seed. An int (or ``None`` for fresh entropy) seeds ``numpy.random.default_rng``; a
        ``Generator`` is used directly; a legacy ``RandomState`` is asked for one 32-bit seed
        for ``default_rng``. With an int the output is reproducible. The frequencies are
        drawn first, as one ``(n_samples, n_channels)`` array, then the phases.

    Returns
    -------
    X : ndarray of shape (n_samples, length, n_channels), dtype float64
        The sequences, values in ``[0, 1]``; with a ``(min, max)`` length, a list of
        ``(length_i, n_channels)`` arrays.

    Examples
    --------
    >>> from skbridge.data import make_sines
    >>> make_sines(100, random_state=0).shape
    (100, 24, 5)
    >>> sorted({len(x) for x in make_sines(100, length=(10, 12), random_state=0)})
    [10, 11, 12]
    """
    n_samples = _check_positive_int(n_samples, "n_samples")
    lo, hi = _length_range(length)
    n_channels = _check_positive_int(n_channels, "n_channels")
    rng = _default_rng(random_state)
    freq = rng.uniform(0.0, 0.1, size=(n_samples, 1, n_channels))
    phase = rng.uniform(0.0, 0.1, size=(n_samples, 1, n_channels))
    t = np.arange(hi, dtype=np.float64)[None, :, None]
    X = (np.sin(freq * t + phase) + 1.0) / 2.0
    if isinstance(length, numbers.Integral):
        return X
    lengths = rng.integers(lo, hi + 1, size=n_samples)
    return [x[:k] for x, k in zip(X, lengths, strict=True)]


# --------------------------------------------------------------------------------------------
# DNA
# --------------------------------------------------------------------------------------------

DNA_ALPHABET = "ACGT"

# Background first-order Markov chain over "ACGT" (rows: previous base, columns: next base).
# Drawn once as ``np.random.default_rng(1).dirichlet(np.full(4, 2.0), size=4)``, rounded to
# three decimals (last column adjusted so rows sum to 1) and written out here so the
# distribution cannot change with the numpy version or with ``random_state``.
_DNA_TRANSITION = np.array(
    [
        [0.254, 0.251, 0.369, 0.126],
        [0.371, 0.289, 0.150, 0.190],
        [0.210, 0.103, 0.205, 0.482],
        [0.263, 0.354, 0.274, 0.109],
    ]
)

_DNA_DEFAULT_MOTIFS = ("TATAAT", "GGATCC", "CACGTG")


def _stationary(P):
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1.0))])
    return pi / pi.sum()


def dna_markov_chain():
    """Background Markov chain of :func:`make_dna`.

    Returns
    -------
    transition : ndarray of shape (4, 4)
        ``transition[a, b] = P(next base = b | previous base = a)``, bases in ``"ACGT"`` order.
    initial : ndarray of shape (4,)
        Distribution of the first base (the chain's stationary distribution).
    """
    P = _DNA_TRANSITION.copy()
    return P, _stationary(P)


def make_dna(
    n_samples=2000,
    length=(40, 60),
    *,
    motifs=_DNA_DEFAULT_MOTIFS,
    motif_prob=0.5,
    random_state=None,
):
    """DNA-like strings: a fixed first-order Markov chain with planted motifs.

    The *distribution* is fixed (it does not depend on ``random_state``); ``random_state``
    only changes the draws. Each sequence is generated independently as follows.

    1. **Length.** ``L = length`` if ``length`` is an int; for ``length=(lo, hi)``, ``L`` is
       uniform on the integers ``lo, ..., hi`` (both inclusive).
    2. **Motif presence.** Each motif ``m_j`` is present independently with probability
       ``motif_prob[j]`` (at most once per sequence). Let ``K`` be the total length of the
       present motifs and ``B = L - K`` the number of background bases.
    3. **Motif placement.** The present motifs are put in a uniformly random order, and
       their offsets in the background are a sorted sample of iid uniform integers in
       ``{0, ..., B}``: a motif with offset ``o`` starts right after the ``o``-th background
       base. Present motifs therefore never overlap and are never cut.
    4. **Bases.** Reading left to right, motif positions take the motif's letters verbatim;
       every background position is drawn from the Markov chain given the *previous base
       in the string* (which may be the last letter of a motif), with transition matrix
       ``P`` from :func:`dna_markov_chain`; a background base at position 0 is drawn from the
       chain's stationary distribution. ``P`` was drawn once from a Dirichlet(2) with a fixed
       seed and is hard-coded; all its entries are between 0.10 and 0.49.

    So bigram (first-order) statistics are dominated by the chain, while the motifs add
    higher-order structure: e.g. the 4-mers and 6-mers inside the motifs are much more
    frequent than the chain predicts, which a k-mer model (k >= 2) can pick up and a unigram
    model cannot. With the defaults each sequence has 1.5 motifs on average.

    Parameters
    ----------
    n_samples : int, default=2000
        Number of sequences.
    length : int or tuple of two ints, default=(40, 60)
        Fixed length, or ``(min, max)`` (inclusive) for lengths uniform on that range. The
        minimum must be at least the total length of all motifs.
    motifs : sequence of str, default=("TATAAT", "GGATCC", "CACGTG")
        Motifs over ``"ACGT"`` (the defaults are the bacterial -10 box, the BamHI site and
        the E-box). An empty sequence gives the plain Markov chain.
    motif_prob : float or sequence of float, default=0.5
        Probability that each motif is planted in a sequence, one value for all motifs or one
        per motif.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, default=None
        Seed, handled as in :func:`make_sines`; an int gives reproducible output.

    Returns
    -------
    sequences : list of str
        ``n_samples`` strings over ``"ACGT"``.

    Examples
    --------
    >>> from skbridge.data import make_dna
    >>> seqs = make_dna(5, length=30, random_state=0)
    >>> len(seqs), {len(s) for s in seqs}
    (5, {30})
    """
    n_samples = _check_positive_int(n_samples, "n_samples")
    lo, hi = _length_range(length)
    if isinstance(motifs, str):
        raise ValueError("motifs must be a sequence of strings, not a single string.")
    motifs = [str(m).upper() for m in motifs]
    for m in motifs:
        if not m or set(m) - set(DNA_ALPHABET):
            raise ValueError(f"Motifs must be non-empty strings over 'ACGT', got {m!r}.")
    n_motifs = len(motifs)
    probs = np.broadcast_to(np.asarray(motif_prob, dtype=float), (n_motifs,))
    if np.any((probs < 0) | (probs > 1)):
        raise ValueError(f"motif_prob must lie in [0, 1], got {motif_prob!r}.")
    if sum(map(len, motifs)) > lo:
        raise ValueError(
            f"The minimum length ({lo}) is smaller than the total motif length "
            f"({sum(map(len, motifs))})."
        )
    rng = _default_rng(random_state)

    # All randomness is drawn up front, in this order.
    lengths = rng.integers(lo, hi + 1, size=n_samples)
    present = rng.random((n_samples, n_motifs)) < probs
    order_keys = rng.random((n_samples, n_motifs))
    offset_u = rng.random((n_samples, n_motifs))
    base_u = rng.random((n_samples, hi))

    # Templates: motif letter codes at motif positions, -1 at background positions.
    codes = {b: i for i, b in enumerate(DNA_ALPHABET)}
    motif_codes = [np.array([codes[b] for b in m]) for m in motifs]
    motif_lens = np.array([len(m) for m in motifs], dtype=int)
    template = np.full((n_samples, hi), -1, dtype=np.int8)
    for i in range(n_samples):
        idx = np.flatnonzero(present[i])
        if idx.size == 0:
            continue
        idx = idx[np.argsort(order_keys[i, idx], kind="stable")]
        n_background = lengths[i] - motif_lens[idx].sum()
        offsets = np.sort(np.floor(offset_u[i, idx] * (n_background + 1)).astype(int))
        start = 0
        for j, off in zip(idx, offsets, strict=True):
            pos = off + start  # motifs already placed shift the start
            template[i, pos : pos + motif_lens[j]] = motif_codes[j]
            start += motif_lens[j]

    # Left-to-right pass, vectorised over samples (inverse-CDF sampling from the chain).
    P, pi = dna_markov_chain()
    cdf = np.cumsum(P, axis=1)
    cdf[:, -1] = 1.0
    cdf0 = np.cumsum(pi)
    cdf0[-1] = 1.0
    out = np.empty((n_samples, hi), dtype=np.int8)
    prev = np.minimum(np.searchsorted(cdf0, base_u[:, 0], side="right"), 3)
    out[:, 0] = np.where(template[:, 0] >= 0, template[:, 0], prev)
    for t in range(1, hi):
        draw = (base_u[:, t, None] >= cdf[out[:, t - 1]]).sum(axis=1)
        out[:, t] = np.where(template[:, t] >= 0, template[:, t], draw)

    letters = np.frombuffer(DNA_ALPHABET.encode(), dtype="S1")
    return [letters[row[:n]].tobytes().decode() for row, n in zip(out, lengths, strict=True)]


# --------------------------------------------------------------------------------------------
# US macroeconomic data
# --------------------------------------------------------------------------------------------

# channel -> transformation; growth rates are 100 * diff(log(x)) (quarterly % change)
_MACRO_CHANNELS = {
    "realgdp": "growth",
    "realcons": "growth",
    "realinv": "growth",
    "realgovt": "growth",
    "realdpi": "growth",
    "cpi": "growth",
    "m1": "growth",
    "pop": "growth",
    "tbilrate": "level",
    "unemp": "level",
}
_MACRO_DEFAULT = (
    "realgdp",
    "realcons",
    "realinv",
    "realgovt",
    "realdpi",
    "cpi",
    "m1",
    "tbilrate",
    "unemp",
)

_MACRO_DESCR = """\
US macroeconomic data, 1959Q1-2009Q3 (203 quarters)
====================================================

Source: statsmodels' ``macrodata`` dataset (statsmodels.datasets.macrodata), compiled by
Skipper Seabold from FRED (Federal Reserve Bank of St. Louis) and the US Bureau of Labor
Statistics (unemployment), accessed 2009-12-15. statsmodels states:
"This is public domain." The CSV shipped with skbridge is statsmodels' ``macrodata.csv``, unchanged.

Raw columns: year, quarter, realgdp, realcons, realinv, realgovt, realdpi (billions of
chained 2005 USD, seasonally adjusted annual rate), cpi (1982-84 = 100), m1, tbilrate (3-month
T-bill, %), unemp (%), pop (millions), infl, realint.

Channels returned by ``load_macrodata``:

- growth channels (realgdp, realcons, realinv, realgovt, realdpi, cpi, m1, pop):
  ``100 * (log x_t - log x_{t-1})``, the quarterly percentage growth rate (for cpi this is
  quarterly inflation);
- level channels (tbilrate, unemp): the value at quarter t, in percent.

Differencing drops the first quarter, leaving a series of 202 quarters (1959Q2-2009Q3).
Growth rates are roughly stationary, which suits generative models; the interest and
unemployment rates are persistent but bounded and their level carries the business-cycle
shape of a window. With ``standardize=True`` each channel is then centred and scaled by
its mean and standard deviation over the whole 202-quarter series.

Windows of ``window`` consecutive quarters are taken every ``stride`` quarters, so with
``stride < window`` they overlap and are not independent; split by time (e.g. by
``window_start``) rather than at random when evaluating.
"""


def load_macrodata(*, window=24, stride=1, columns=None, standardize=True):
    """Sliding windows over the US quarterly macroeconomic series (statsmodels' macrodata).

    The data (203 quarters, 1959Q1-2009Q3; public domain, from FRED and the BLS via
    statsmodels) ship with skbridge, so neither statsmodels nor a network connection is
    needed. Real aggregates, prices, money stock and population are turned into quarterly
    growth rates ``100 * diff(log x)``; the T-bill rate and unemployment rate are kept as
    levels. See ``DESCR`` of the result for details.

    Parameters
    ----------
    window : int, default=24
        Window length in quarters (at most 202).
    stride : int, default=1
        Step between the starts of consecutive windows.
    columns : sequence of str, default=None
        Channels to return, in that order. Available: ``"realgdp"``, ``"realcons"``,
        ``"realinv"``, ``"realgovt"``, ``"realdpi"``, ``"cpi"``, ``"m1"``, ``"pop"``
        (growth rates) and ``"tbilrate"``, ``"unemp"`` (levels). ``None`` selects all but
        ``"pop"`` (whose growth is nearly constant), i.e. 9 channels.
    standardize : bool, default=True
        Centre and scale each channel by its mean and standard deviation over the full
        202-quarter series (``mean`` and ``scale`` of the result undo this).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes

        data : ndarray of shape (n_windows, window, n_channels)
            The windows, ``n_windows = (202 - window) // stride + 1``.
        series : ndarray of shape (202, n_channels)
            The full transformed (and, if requested, standardised) series.
        feature_names : list of str
            Channel names (the raw column each was derived from).
        transforms : dict
            Channel name -> ``"growth"`` (``100 * diff(log x)``) or ``"level"``.
        quarters : ndarray of str, shape (202,)
            Quarter label of each row of ``series``, ``"1959Q2"`` to ``"2009Q3"``.
        window_start : ndarray of int, shape (n_windows,)
            Row of ``series`` where each window starts.
        mean, scale : ndarray of shape (n_channels,)
            Standardisation constants (zeros and ones if ``standardize=False``); the
            unstandardised values are ``data * scale + mean``.
        DESCR : str
            Description of the data set.

    Examples
    --------
    >>> from skbridge.data import load_macrodata
    >>> bunch = load_macrodata(window=24)
    >>> bunch.data.shape
    (179, 24, 9)
    """
    if columns is None:
        columns = list(_MACRO_DEFAULT)
    elif isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    unknown = [c for c in columns if c not in _MACRO_CHANNELS]
    if unknown or not columns:
        raise ValueError(
            f"Unknown or empty columns {unknown or columns!r}; available: {list(_MACRO_CHANNELS)}."
        )
    if len(set(columns)) != len(columns):
        raise ValueError(f"columns contains duplicates: {columns!r}.")
    window = _check_positive_int(window, "window")
    stride = _check_positive_int(stride, "stride")

    path = resources.files("skbridge.data").joinpath("_files", "macrodata.csv")
    with path.open("r", encoding="utf-8") as fh:
        header = [h.strip().strip('"') for h in fh.readline().split(",")]
        raw = np.loadtxt(fh, delimiter=",", dtype=np.float64)
    col = {name: raw[:, k] for k, name in enumerate(header)}

    channels = []
    for name in columns:
        x = col[name]
        if _MACRO_CHANNELS[name] == "growth":
            channels.append(100.0 * np.diff(np.log(x)))
        else:
            channels.append(x[1:])
    series = np.stack(channels, axis=1)
    n_steps = series.shape[0]
    if window > n_steps:
        raise ValueError(f"window must be at most {n_steps}, got {window}.")

    if standardize:
        mean = series.mean(axis=0)
        scale = series.std(axis=0)
        series = (series - mean) / scale
    else:
        mean = np.zeros(series.shape[1])
        scale = np.ones(series.shape[1])

    starts = np.arange(0, n_steps - window + 1, stride)
    data = np.stack([series[s : s + window] for s in starts])
    quarters = np.array(
        [f"{int(y)}Q{int(q)}" for y, q in zip(col["year"][1:], col["quarter"][1:], strict=True)]
    )
    return Bunch(
        data=data,
        series=series,
        feature_names=columns,
        transforms={name: _MACRO_CHANNELS[name] for name in columns},
        quarters=quarters,
        window_start=starts,
        mean=mean,
        scale=scale,
        DESCR=_MACRO_DESCR,
    )
