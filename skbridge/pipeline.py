"""Sampling from a fitted :class:`~sklearn.pipeline.Pipeline` that ends in a generator.

A generator as the last step of a ``Pipeline`` already gets ``score_samples`` and ``score``
through the pipeline (the rows are transformed first). Samples go the other way: the
generator produces rows in the space of the last transformer's output, and they have to be
mapped back through the earlier steps' ``inverse_transform``. :func:`sample_pipeline` does
that.
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["sample_pipeline"]


def _is_imputer(step) -> bool:
    return type(step).__module__.startswith("sklearn.impute")


def _training_range(generator):
    """Per-column (min, max) of a skbridge generator fitted on a numeric array, else None."""
    codec = getattr(generator, "codec_", None)
    cols = getattr(codec, "_cols", None)
    if cols is None or getattr(codec, "is_frame_", True):
        return None
    lo = np.full(len(codec.columns_), -np.inf)
    hi = np.full(len(codec.columns_), np.inf)
    for col in cols:
        lo[col.name], hi[col.name] = col.min, col.max
    return lo, hi


def sample_pipeline(pipeline, n_samples=1, random_state=None, *, clip="auto"):
    """Sample from a fitted pipeline's last step and map the rows back to the input space.

    Parameters
    ----------
    pipeline : Pipeline or generator
        A fitted :class:`~sklearn.pipeline.Pipeline` whose last step has
        ``sample(n_samples, random_state)``, or such a generator itself.
    n_samples : int, default=1
    random_state : int, RandomState instance or None, default=None
        Passed to the generator's ``sample`` when it takes one (``GaussianMixture.sample``
        does not: it uses the mixture's own ``random_state``).
    clip : bool or "auto", default="auto"
        Clip the generator's samples to the range of the rows it was fitted on (in its own
        space, before the earlier steps' ``inverse_transform``: for per-column steps such
        as ``StandardScaler`` or ``QuantileTransformer`` this is the training range of the
        input columns), as a generator fitted on a DataFrame does for its float columns.
        ``"auto"``: when the pipeline was fitted on a DataFrame (synthetic tables that look
        like the real one); plain arrays are sampled unclipped, like ``KernelDensity``.
        Only skbridge generators know their range; others are never clipped.

    Returns
    -------
    X : ndarray or DataFrame of shape (n_samples, n_features_in)
        Rows in the space of the pipeline's input: each earlier step's
        ``inverse_transform`` is applied, last step first. Imputers (``sklearn.impute``)
        are passed over: they leave complete rows unchanged, and generated rows are complete.
        A DataFrame with the input's column names when the pipeline was fitted on one.

    Raises
    ------
    TypeError
        If the last step cannot sample, or an earlier step has no ``inverse_transform``
        (e.g. a ``ColumnTransformer``, ``PolynomialFeatures``): name it, so it can be
        replaced by an invertible step.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.datasets import make_moons
    >>> from skbridge import ScoreSDE, sample_pipeline
    >>> X, _ = make_moons(300, noise=0.05, random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), ScoreSDE(max_iter=100, random_state=0)).fit(X)
    >>> sample_pipeline(pipe, 5, random_state=0).shape
    (5, 2)
    """
    steps = getattr(pipeline, "steps", None)
    if steps is None:
        steps = [("generator", pipeline)]
    name, generator = steps[-1]
    if not hasattr(generator, "sample"):
        raise TypeError(
            f"the last step {name!r} ({type(generator).__name__}) has no sample method; "
            "end the pipeline with a generator (SBVAE, ScoreSDE, VAE, FlowMatching, "
            "GaussianMixture, KernelDensity, ...)"
        )
    check_is_fitted(generator)
    if "random_state" in inspect.signature(generator.sample).parameters:
        out = generator.sample(n_samples, random_state=random_state)
    else:  # e.g. GaussianMixture: seeded by its own random_state
        out = generator.sample(n_samples)
    if isinstance(out, tuple):  # GaussianMixture.sample returns (X, labels)
        out = out[0]
    names = getattr(steps[0][1], "feature_names_in_", None) if len(steps) > 1 else None
    if clip not in ("auto", True, False):
        raise ValueError(f"clip must be True, False or 'auto', got {clip!r}")
    bounds = _training_range(generator) if (names is not None if clip == "auto" else clip) else None
    if bounds is not None:
        out = np.clip(out, *bounds)
    for step_name, step in reversed(steps[:-1]):
        if step is None or step == "passthrough" or _is_imputer(step):
            continue
        if not hasattr(step, "inverse_transform"):
            raise TypeError(
                f"pipeline step {step_name!r} ({type(step).__name__}) has no inverse_transform, "
                "so generated rows cannot be mapped back through it. Use invertible steps "
                "before the generator (StandardScaler, QuantileTransformer, PowerTransformer, "
                "PCA, ...), or sample from the last step and keep the transformed space."
            )
        out = step.inverse_transform(out)
    if names is not None and isinstance(out, np.ndarray) and out.shape[1:] == (len(names),):
        import pandas as pd

        out = pd.DataFrame(out, columns=list(names))
    return out
