"""Sample-quality scorers for model selection (``scoring=`` of GridSearchCV, cross_val_score)."""

from __future__ import annotations

import inspect
import numbers

from ..pipeline import sample_pipeline
from ._distances import energy_distance, mmd_rbf
from ._tabular import c2st, column_shapes, correlation_similarity

__all__ = ["make_sample_scorer"]


def _column_shapes_mean(real, synthetic):
    return column_shapes(real, synthetic)["mean"]


def _correlation_similarity_mean(real, synthetic, *, bins=10):
    return correlation_similarity(real, synthetic, bins=bins)["mean"]


# name -> (function(real, synthetic, **kwargs) -> float, greater_is_better)
_METRICS = {
    "energy_distance": (energy_distance, False),
    "mmd": (mmd_rbf, False),
    "c2st": (c2st, False),
    "column_shapes": (_column_shapes_mean, True),
    "correlation_similarity": (_correlation_similarity_mean, True),
}


class _SampleScorer:
    """Callable ``scorer(estimator, X, y=None) -> float``, greater is better."""

    def __init__(self, metric, n_samples, random_state, greater_is_better, kwargs):
        self.metric = metric
        self.n_samples = n_samples
        self.random_state = random_state
        self.greater_is_better = greater_is_better
        self.kwargs = kwargs

    def _func(self):
        return _METRICS[self.metric][0] if isinstance(self.metric, str) else self.metric

    def __call__(self, estimator, X, y=None):
        n = self.n_samples if self.n_samples is not None else len(X)
        S = sample_pipeline(estimator, n, random_state=self.random_state)
        value = float(self._func()(X, S, **self.kwargs))
        return value if self.greater_is_better else -value

    def __repr__(self):
        metric = (
            repr(self.metric)
            if isinstance(self.metric, str)
            else getattr(self.metric, "__name__", repr(self.metric))
        )
        args = [metric, f"n_samples={self.n_samples!r}", f"random_state={self.random_state!r}"]
        if not isinstance(self.metric, str):
            args.append(f"greater_is_better={self.greater_is_better!r}")
        args += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"make_sample_scorer({', '.join(args)})"


def make_sample_scorer(
    metric, *, n_samples=None, random_state=0, greater_is_better=None, **metric_kwargs
):
    """A scorer comparing a generator's samples with held-out rows, for model selection.

    ``scorer(estimator, X, y=None)`` draws ``estimator.sample(n_samples or len(X),
    random_state=random_state)`` and computes ``metric(X, samples)``, ``X`` being the held-out
    fold, the real reference. The value is "greater is better", as ``scoring=`` in
    ``GridSearchCV`` and ``cross_val_score`` expects: negated for metrics where lower is
    better. Sampling goes through :func:`skbridge.sample_pipeline`: for a ``Pipeline`` the
    last step samples and the earlier steps' ``inverse_transform`` map the samples back to the
    input space (a step without one raises a ``TypeError`` naming it).

    Parameters
    ----------
    metric : str or callable
        ``"energy_distance"`` (returns minus the distance), ``"mmd"`` (minus :func:`mmd_rbf`),
        ``"c2st"`` (minus the AUC, so the best is -0.5), ``"column_shapes"`` or
        ``"correlation_similarity"`` (their ``mean``, as is), or a callable
        ``f(real, synthetic, **metric_kwargs) -> float``.
    n_samples : int or None, default=None
        Rows to sample; None samples as many as the held-out fold has.
    random_state : int or None, default=0
        Passed to ``sample``: a fixed seed makes candidates comparable on the same noise.
    greater_is_better : bool, default=False
        For a callable metric only: whether larger values of it are better (else it is
        negated).
    **metric_kwargs
        Passed to the metric (e.g. ``bandwidth=`` for ``"mmd"``, ``cv=`` for ``"c2st"``).

    Returns
    -------
    callable
    """
    if isinstance(metric, str):
        if metric not in _METRICS:
            raise ValueError(
                f"unknown metric {metric!r}; use one of {sorted(_METRICS)} or a callable"
            )
        if greater_is_better is not None:
            raise ValueError(
                f"greater_is_better is fixed for the named metric {metric!r}; it only applies "
                "to a callable metric"
            )
        func, greater_is_better = _METRICS[metric]
    elif callable(metric):
        func, greater_is_better = metric, bool(greater_is_better)
    else:
        raise TypeError(f"metric must be a string or a callable, got {type(metric).__name__}")
    if n_samples is not None and (not isinstance(n_samples, numbers.Integral) or n_samples < 1):
        raise ValueError(f"n_samples must be a positive integer or None, got {n_samples!r}")
    try:  # a wrong keyword fails here, not inside every fit of a grid search
        inspect.signature(func).bind(None, None, **metric_kwargs)
    except TypeError as exc:
        raise TypeError(f"metric {metric!r} does not accept {metric_kwargs}: {exc}") from None
    except ValueError:  # pragma: no cover - callables without a signature
        pass
    return _SampleScorer(metric, n_samples, random_state, greater_is_better, dict(metric_kwargs))
