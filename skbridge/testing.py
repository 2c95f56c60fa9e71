"""Helpers for testing generators: what a test of a fitted model needs beyond its public API.

Used by skbridge's own fuzz tests and its bad-input catalogue (``benchmarks/bad_inputs.py``),
and available to users who test pipelines built on skbridge.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_recorded"]


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
