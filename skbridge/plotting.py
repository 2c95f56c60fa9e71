"""Plots of training curves and sample quality (matplotlib, an optional extra: ``pip install
skbridge[plots]``).

Each function draws on a given matplotlib ``Axes`` (or a new figure's) and returns the
``Axes``, so plots compose into the caller's figures::

    import matplotlib.pyplot as plt
    from skbridge import SBVAE
    from skbridge.plotting import plot_training_curves

    model = SBVAE(random_state=0).fit(X)
    ax = plot_training_curves(model)
    plt.savefig("training.png")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._base import optional_import

__all__ = ["plot_training_curves", "plot_prior_mismatch", "plot_quality_vs_steps"]


def _pyplot():
    return optional_import("matplotlib.pyplot", "plots", "skbridge.plotting")


def _xy(points):
    """``[(x, y), ...]`` -> the x and y arrays."""
    return np.asarray(points, dtype=float).T


def _axes(ax):
    return _pyplot().subplots(figsize=(6, 4))[1] if ax is None else ax


def _history(model_or_history) -> list[dict]:
    history = getattr(model_or_history, "history_", model_or_history)
    if isinstance(history, Mapping) or not isinstance(history, Sequence) or not history:
        raise ValueError(
            "expected a fitted skbridge diffusion model or its non-empty history_ list; got "
            f"{type(model_or_history).__name__}"
        )
    if not all(isinstance(h, Mapping) and "iteration" in h for h in history):
        raise ValueError("history entries must be dicts with an 'iteration' key (see history_)")
    return list(history)


def _mark_encoder_phase(ax, history, x="iteration"):
    """Shade the encoder phase; a dashed line where it stopped (the interruption)."""
    enc = [h for h in history if h.get("phase") == "encoder"]
    if not enc:
        return
    lo, hi = enc[0][x], enc[-1][x]
    ax.axvspan(lo, hi, color="0.9", zorder=0, label="encoder phase")
    after = [h for h in history if h[x] > hi]
    if after:  # a decoder phase followed: the encoder was interrupted (or ran its budget)
        ax.axvline(hi, color="0.4", ls="--", lw=1, label="encoder stopped")


def plot_training_curves(model_or_history, *, ax=None, x="iteration", label=None, train=True):
    """Held-out (and training) −ELBO over training, the encoder phase shaded.

    Parameters
    ----------
    model_or_history : fitted ScoreSDE / SBVAE, or its ``history_``
    ax : matplotlib Axes, optional
    x : {"iteration", "time"}, default="iteration"
        The horizontal axis: decoder iterations, or seconds since the fit started.
    label : str, optional
        Prefix of the legend entries (to overlay several models on one ``ax``).
    train : bool, default=True
        Also draw ``train_neg_elbo`` where the history has it (benchmarks/paper.py records it).

    Returns
    -------
    ax : matplotlib Axes
    """
    if x not in ("iteration", "time"):
        raise ValueError(f"x must be 'iteration' or 'time', got {x!r}")
    history = _history(model_or_history)
    ax = _axes(ax)
    prefix = f"{label}: " if label else ""
    val = [(h[x], h["val_neg_elbo"]) for h in history if "val_neg_elbo" in h]
    if not val:
        raise ValueError("the history has no val_neg_elbo entries to plot")
    (line,) = ax.plot(*_xy(val), marker=".", label=f"{prefix}held-out −ELBO")
    if train:
        tr = [(h[x], h["train_neg_elbo"]) for h in history if "train_neg_elbo" in h]
        if tr:
            ax.plot(*_xy(tr), ls=":", color=line.get_color(), label=f"{prefix}training −ELBO")
    if label is None:
        _mark_encoder_phase(ax, history, x)
    ax.set_xlabel("decoder iterations" if x == "iteration" else "seconds")
    ax.set_ylabel("−ELBO (nats per row)")
    ax.legend(fontsize="small")
    return ax


def plot_prior_mismatch(model_or_history, *, ax=None, key="prior_mismatch", label=None):
    """The encoder phase's stopping statistic over encoder steps, the kept encoder marked.

    ``key`` is ``"prior_mismatch"`` (MMD²), ``"prior_kl"`` or ``"val_neg_elbo"``.
    """
    history = _history(model_or_history)
    pts = [(h["encoder_iter"], h[key]) for h in history if "encoder_iter" in h and key in h]
    if not pts:
        raise ValueError(f"the history has no encoder-phase {key!r} entries (was it an SBVAE?)")
    ax = _axes(ax)
    steps, vals = _xy(pts)
    (line,) = ax.plot(steps, vals, marker=".", label=label or key)
    best = int(np.argmin(vals))
    ax.plot(steps[best], vals[best], "o", mfc="none", ms=10, color=line.get_color())
    ax.axhline(vals[0], color="0.5", lw=0.8, ls=":", label="reference encoder")
    ax.set_xlabel("encoder steps")
    ax.set_ylabel(key)
    ax.legend(fontsize="small")
    return ax


def plot_quality_vs_steps(results: Mapping[str, Mapping[int, float]], *, ax=None, ylabel=None):
    """Sample quality against the number of sampling steps, one line per model.

    ``results`` maps a label to ``{n_steps: value}`` (e.g. energy distance to held-out data).
    """
    if not results:
        raise ValueError("results is empty")
    ax = _axes(ax)
    for name, curve in results.items():
        steps = sorted(curve)
        ax.plot(steps, [curve[s] for s in steps], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("sampling steps")
    ax.set_ylabel(ylabel or "quality")
    ax.legend(fontsize="small")
    return ax
