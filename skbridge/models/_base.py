"""What every skbridge generator shares: input validation, the codec, fit safety, sample/score.

A generator subclass implements three hooks:

* ``_fit(X)``: validate and encode with ``self._encode_fit(X, warm)``, which gives the codec,
  the packed rows ``P`` (see :meth:`~skbridge.data.TabularCodec.encode`) and the per-row
  codec offsets; train on model vectors from :func:`dequantize` (a fresh draw per batch);
  set the fitted attributes only at the end;
* ``_generate(n, generator)``: ``n`` model vectors, a tensor of shape (n, d);
* ``_log_density(P)``: per-row log-density (or lower bound) of packed rows, with the
  dequantisation's ``-log q(v|x)`` already included (the base adds the codec offset);
  Monte Carlo noise drawn per row from :func:`row_generators`.

The base turns user data into packed rows and back, adds the codec's log-Jacobian to the
scores, and restores the estimator if a fit fails. :class:`NetworkGenerator` adds the
mini-batch training loop of the single-network baselines (VAE, FlowMatching).
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, DensityMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import (
    Progress,
    TorchStateMixin,
    TrainingError,
    resolve_device,
    seed_from,
    torch_generator,
)
from ..data._sequence import SequenceCodec, is_sequence_data
from ..data._tabular import TabularCodec, _is_frame

__all__ = ["GeneratorEstimator", "dequantize", "row_generators"]


def _is_graph_list(X) -> bool:
    """A list or tuple whose first item is a networkx graph (checked without importing it)."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    return any(c.__module__.startswith("networkx") for c in type(X[0]).__mro__)


def dequantize(codec, P: torch.Tensor, u: torch.Tensor | None = None, generator=None):
    """Dequantised model vectors ``v`` and ``log q(v|x)`` (n,) for packed rows ``P``.

    ``u`` (n, d) fixes the uniforms; otherwise they are drawn from ``generator``. Without
    discrete columns ``v`` is ``P`` and ``log q`` is 0.
    """
    if not codec.has_discrete_:
        return P, torch.zeros(P.shape[0], dtype=P.dtype, device=P.device)
    if u is None:
        u = torch.rand(
            (P.shape[0], codec.n_latent_), generator=generator, device=P.device, dtype=P.dtype
        )
    return codec.perturb(P, u)


def row_generators(rows: np.ndarray, seed: int):
    """One numpy Generator per row, seeded by ``seed`` and a hash of the row's bytes.

    Scores drawn with them make a row's score independent of the other rows passed with
    it, their order and the chunking.
    """
    for row in np.ascontiguousarray(rows, dtype=np.float32):
        digest = hashlib.blake2b(row.tobytes(), digest_size=8).digest()
        yield np.random.default_rng([seed, int.from_bytes(digest, "little")])


class GeneratorEstimator(TorchStateMixin, DensityMixin, BaseEstimator):
    """Base class of the skbridge generators (not public)."""

    _parameter_constraints: dict = {
        "data": [
            StrOptions({"auto", "tabular", "sequence", "graph"}),
            HasMethods(["fit", "encode", "perturb", "decode"]),
        ],
        "warm_start": ["boolean"],
        "device": [str, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ----------------------------------------------------------------- input
    def _make_codec(self, X):
        if not isinstance(self.data, str):
            return clone(self.data)
        if self.data == "graph" or (self.data == "auto" and _is_graph_list(X)):
            from ..data._graph import GraphCodec  # networkx is optional

            return GraphCodec()
        if self.data == "sequence" or (self.data == "auto" and is_sequence_data(X)):
            return SequenceCodec()
        return TabularCodec()

    def _validate_input(self, X, reset):
        """Check ``X`` (names, feature count, rows); arrays become float64, frames stay frames."""
        frame_fit = (not reset) and getattr(self.codec_, "is_frame_", False)
        if _is_frame(X) or frame_fit:
            names = list(getattr(X, "columns", []))
            if len(set(map(repr, names))) != len(names):
                dup = sorted({repr(n) for n in names if names.count(n) > 1})
                raise ValueError(
                    f"X has duplicated column names {dup}; rename them (each column needs its "
                    "own name to be restored in samples)."
                )
            validate_data(self, X, skip_check_array=True, reset=reset)
            n_rows, n_cols = np.shape(X)[:2]
            if n_cols == 0:
                raise ValueError("X has 0 feature(s); at least 1 is required")
            if n_rows < (2 if reset else 1):
                raise ValueError(
                    f"Found array with {n_rows} sample(s) while a minimum of "
                    f"{2 if reset else 1} is required"
                )
            return X
        try:
            X = validate_data(
                self,
                X,
                dtype=[np.float64, np.float32],
                ensure_min_samples=2 if reset else 1,
                reset=reset,
            )
        except ValueError as err:
            if "could not convert" in str(err):
                raise ValueError(
                    f"{err}. Arrays must be numeric; pass a pandas DataFrame to model "
                    "categorical (string, category, bool) columns."
                ) from err
            raise
        return np.asarray(X, dtype=np.float64)

    def _encode_fit(self, X, warm):
        """Validate and encode training data: ``(codec, P, offset)`` as numpy arrays.

        A codec with ``validates_input = True`` (sequences) checks ``X`` itself; tables go
        through scikit-learn's ``validate_data`` first.
        """
        codec = self.codec_ if warm else self._make_codec(X)
        if not getattr(codec, "validates_input", False):
            X = self._validate_input(X, reset=not warm)
        elif not warm:  # no column counts or names for sequences
            for attr in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(attr, None)
        if not warm:
            codec.fit(X)
        P, offset = codec.encode(X)
        return codec, P, offset

    def _encode(self, X):
        check_is_fitted(self)
        if not getattr(self.codec_, "validates_input", False):
            X = self._validate_input(X, reset=False)
        return self.codec_.encode(X)

    # ----------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the generator to the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or pandas DataFrame
            Training data: a numeric array, or a DataFrame of float, integer, categorical,
            string and bool columns (no missing values), at least 2 rows.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        saved = dict(self.__dict__)
        try:
            return self._fit(X)
        except BaseException:
            # a failed fit leaves a previously fitted model exactly as it was
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    # --------------------------------------------------------------- inference
    def sample(self, n_samples=1, random_state=None):
        """Draw new rows from the fitted generator.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds this call only (like ``KernelDensity.sample``); the estimator's own state
            is not used or changed, so ``sample(random_state=0)`` is reproducible.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features) or DataFrame
            Of the kind that was fitted: a DataFrame with the training columns, names and
            dtypes when fitted on a DataFrame.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        seed = seed_from(random_state)
        gen = torch_generator(seed, self.device_)
        with torch.inference_mode():
            V = self._generate(int(n_samples), gen)
        V = V.detach().cpu().double().numpy()
        return self.codec_.decode(V, random_state=seed)

    def score_samples(self, X):
        """Per-row log-likelihood (or its lower bound), in nats and the user's units.

        Float columns contribute a log-density, integer and categorical columns a
        log-probability; the log-Jacobian of the codec's scaling is included, so
        rescaling a column by ``c`` shifts the score by ``-log|c|``. Deterministic for a
        fitted model: each row's Monte Carlo noise is drawn from a hash of its values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or DataFrame

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        P, offset = self._encode(X)
        P = torch.as_tensor(P, dtype=torch.float32, device=self.device_)
        return self._log_density(P) + offset

    def score(self, X, y=None):
        """Mean per-row score (nats, user's units): comparable across folds of any size."""
        return float(np.mean(self.score_samples(X)))

    def _device(self):
        return resolve_device(self.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


# ---------------------------------------------------------------------------- baselines
_VAL_ROWS = 256  # validation rows whose log-likelihood is monitored


class NetworkGenerator(GeneratorEstimator):
    """Base of the single-network baselines, VAE and FlowMatching (not public).

    One torch module is trained by Adam on mini-batches of training rows, each batch with a
    fresh dequantisation draw; every ``max_iter // 20`` iterations the held-out negative
    log-likelihood (fixed noise, user's units) is recorded in ``history_`` and, with
    ``early_stopping``, the best module is kept. Optionally the kept module is an
    exponential moving average of the trained weights (``_ema_decay``). Subclasses
    implement:

    * ``_build(d, codec)``: a fresh module for ``d``-dimensional model vectors (called under a
      forked, seeded torch RNG, so the global RNG is never touched);
    * ``_loss(module, v, generator)``: the scalar training loss of a dequantised batch ``v``;
    * ``_validator(codec, P_val, seed)``: a callable ``module -> log-densities (n_val,)``
      of the validation rows with noise fixed once (without the codec offset: ``_fit``
      adds it, so ``history_`` is in the user's units);
    * ``_adopt(module)`` / ``_module()``: store the fitted module in the fitted attributes,
      and give it back for a warm start.
    """

    _val_rows = _VAL_ROWS  # at most this many validation rows are monitored

    def _ema_decay(self) -> float:
        return 0.0

    def _fit(self, X):
        warm = bool(self.warm_start) and all(hasattr(self, a) for a in self._torch_attributes)
        codec, P, offset = self._encode_fit(X, warm)
        dev = resolve_device(self.device)
        rng = np.random.RandomState(seed_from(self.random_state))
        seeds = rng.randint(0, 2**31 - 1, size=4)

        Z = torch.as_tensor(P, dtype=torch.float32, device=dev)
        n = Z.shape[0]
        n_val = int(round(self.validation_fraction * n))
        if self.early_stopping and n_val >= 2 and n - n_val >= 2:
            perm = rng.permutation(n)
            val_idx, train_idx = perm[:n_val], perm[n_val:]
            z_train = Z[torch.as_tensor(train_idx, device=dev)]
        else:  # nothing held out: the monitored likelihood is on training rows
            val_idx, z_train = np.arange(n), Z
        val_idx = val_idx[: self._val_rows]
        val_rows = Z[torch.as_tensor(val_idx, device=dev)]
        val_offset = float(np.mean(offset[val_idx]))
        val_log_density = self._validator(codec, val_rows, int(seeds[1]))

        if warm:
            module = copy.deepcopy(self._module()).to(dev).requires_grad_(True)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seeds[2]))
                module = self._build(codec.n_latent_, codec)
            module = module.to(dev)

        def val_nll(m):
            return -float(np.mean(val_log_density(m))) - val_offset

        kept, n_iter, history = _train_minibatch(
            self, module, codec, z_train, val_nll, seed=int(seeds[0]), ema_decay=self._ema_decay()
        )
        kept.requires_grad_(False)
        # adopt the results only now: any failure above leaves the estimator untouched
        done_before = self.n_iter_ if warm else 0
        for entry in history:  # iterations count across warm-started fits
            entry["iteration"] += done_before
        self.device_ = dev
        self.codec_ = codec
        self._adopt(kept)
        self.n_iter_ = n_iter + done_before
        self.history_ = (list(self.history_) if warm else []) + history
        self._score_seed = int(seeds[3])
        return self


def _train_minibatch(est, module, codec, z_train, val_nll, *, seed, ema_decay):
    """Adam on ``module`` for ``est.max_iter`` mini-batches; returns ``(kept, n_iter, history)``.

    ``kept`` is the EMA copy of the weights (``ema_decay > 0``) or ``module`` itself, restored
    to its best monitored state when ``est.early_stopping``. A non-finite loss raises
    :class:`~skbridge.TrainingError` naming the iteration.
    """
    dev = z_train.device
    gen = torch_generator(seed, dev)
    opt = torch.optim.Adam(module.parameters(), lr=float(est.learning_rate))
    ema = copy.deepcopy(module).requires_grad_(False) if ema_decay > 0 else module
    max_iter = int(est.max_iter)
    n = z_train.shape[0]
    batch = min(int(est.batch_size), n)
    check_every = max(1, max_iter // 20)
    progress = Progress(max_iter, int(est.verbose), type(est).__name__)
    history: list[dict] = []
    best_val, best_state, no_improve = math.inf, None, 0
    loss_sum, loss_n, it = 0.0, 0, 0
    t_start = time.perf_counter()
    try:
        while it < max_iter:
            rows = torch.randint(0, n, (batch,), generator=gen, device=dev)
            v = dequantize(codec, z_train[rows], generator=gen)[0]
            loss = est._loss(module, v, gen)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainingError(
                    f"non-finite training loss at iteration {it + 1}; the model was left as it "
                    "was before this fit. Try a smaller learning_rate, or check the data scale."
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not module:
                with torch.no_grad():
                    for p_ema, p in zip(ema.parameters(), module.parameters(), strict=True):
                        p_ema.lerp_(p, 1.0 - ema_decay)
            it += 1
            loss_sum, loss_n = loss_sum + value, loss_n + 1
            if it % check_every and it < max_iter:
                continue
            val = val_nll(ema)
            history.append(
                {
                    "iteration": it,
                    "time": time.perf_counter() - t_start,
                    "loss": loss_sum / loss_n,
                    "val_neg_log_lik": val,
                }
            )
            progress.update(check_every, {"loss": loss_sum / loss_n, "val_nll": val})
            loss_sum, loss_n = 0.0, 0
            if est.early_stopping:
                no_improve = 0 if val < best_val - est.tol else no_improve + 1
                if val < best_val:
                    best_val, best_state = val, copy.deepcopy(ema.state_dict())
                if no_improve >= est.n_iter_no_change:
                    break
    finally:
        progress.close()
    if est.early_stopping and best_state is not None:
        ema.load_state_dict(best_state)
    return ema, it, history
