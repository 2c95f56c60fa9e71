"""Helpers for testing generators: what a test of a fitted model needs beyond its public API.

Used by skbridge's own fuzz tests and its bad-input catalogue (``benchmarks/bad_inputs.py``),
and available to users who test pipelines built on skbridge.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_recorded", "small_data", "SMALL_KINDS"]

SMALL_KINDS = ("table", "frame", "series", "tokens", "tokenlists", "graphs")


def sample_recorded(model, n, **kwargs):
    """``model.sample(n, **kwargs)``, and the model vectors its codec decoded.

    A graph or a token sequence decoded from non-finite model vectors looks like any other;
    the vectors show whether the sampler produced garbage that decoding hid.

    Parameters
    ----------
    model : fitted skbridge generator
    n : int
        Number of samples.
    **kwargs
        Passed to ``model.sample``.

    Returns
    -------
    samples : what ``model.sample`` returns
    vectors : ndarray of shape (n, n_latent) or None
        The (float64) model vectors of the first decode call; None if it made none.

    Examples
    --------
    >>> import numpy as np
    >>> from skbridge import VAE
    >>> from skbridge.testing import sample_recorded
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> model = VAE(max_iter=20, random_state=0).fit(X)
    >>> S, V = sample_recorded(model, 5, random_state=0)
    >>> bool(np.isfinite(V).all())
    True
    """
    codec, seen = model.codec_, []
    decode = codec.decode

    def recording(V, random_state=None):
        seen.append(np.array(V, dtype=np.float64))
        return decode(V, random_state=random_state)

    codec.decode = recording  # an instance attribute shadows the method for this call
    try:
        samples = model.sample(n, **kwargs)
    finally:
        del codec.decode
    return samples, (seen[0] if seen else None)


def small_data(kind, n=None, seed=0, **options):
    """A small, valid training set of one kind of data, the same for a given ``seed``.

    ``"table"``: three float columns of different scales (40 rows). ``"frame"``: a pandas
    DataFrame with float, integer, category, bool and string columns (40 rows).
    ``"series"``: noisy sines of random frequency and phase, ``(n, length, channels)``
    (30 × 8 × 2; ``length`` and ``channels`` in ``options``). ``"tokens"``: strings over
    ``"abc"`` of lengths 2-5 (30). ``"tokenlists"``: the same as token lists over
    ``{"A", "B", "C"}``. ``"graphs"``: G(n, 0.5) networkx graphs of 3-5 nodes (20).

    Examples
    --------
    >>> from skbridge.testing import small_data
    >>> small_data("series", 4, length=6).shape
    (4, 6, 2)
    >>> small_data("tokens", 3, seed=1) == small_data("tokens", 3, seed=1)
    True
    """
    if kind not in _MAKERS:
        raise ValueError(f"kind must be one of {SMALL_KINDS}, got {kind!r}")
    maker, default_n = _MAKERS[kind]
    return maker(default_n if n is None else int(n), np.random.default_rng(seed), seed, **options)


def _table(n, rng, seed):
    return rng.normal(size=(n, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -1.0]


def _frame(n, rng, seed):
    import pandas as pd

    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c"]),
            "b": rng.random(n) < 0.5,
            "s": rng.choice(["u", "v", "w"], n).astype(object),
        }
    )


def _series(n, rng, seed, length=8, channels=2):
    t = np.linspace(0.0, 2 * np.pi, length)[None, :, None]
    f = rng.uniform(1.0, 2.0, (n, 1, channels))
    p = rng.uniform(0.0, np.pi, (n, 1, channels))
    return np.sin(f * t + p) + 0.05 * rng.normal(size=(n, length, channels))


def _tokens(n, rng, seed):
    return ["".join(rng.choice(list("abc"), int(rng.integers(2, 6)))) for _ in range(n)]


def _tokenlists(n, rng, seed):
    return [list(s.upper()) for s in _tokens(n, rng, seed)]


def _graphs(n, rng, seed):
    import networkx as nx

    return [
        nx.gnp_random_graph(int(rng.integers(3, 6)), 0.5, seed=seed * 1000 + i) for i in range(n)
    ]


_MAKERS = {
    "table": (_table, 40),
    "frame": (_frame, 40),
    "series": (_series, 30),
    "tokens": (_tokens, 30),
    "tokenlists": (_tokenlists, 30),
    "graphs": (_graphs, 20),
}
