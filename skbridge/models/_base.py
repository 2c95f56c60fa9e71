"""What every skbridge generator shares: input validation, the codec, fit safety, sample/score.

A generator subclass implements three hooks:

* ``_fit(X)``: validate, encode, build, train, adopt (the steps of
  :mod:`skbridge.models._training`); set the fitted attributes only at the end;
* ``_generate(n, generator)``: ``n`` model vectors, a tensor of shape (n, d);
* ``_log_density(P)``: per-row log-density (or lower bound) of packed rows, with the
  dequantisation's ``-log q(v|x)`` already included (the base adds the codec offset);
  Monte Carlo noise drawn per row by :func:`row_draws`.

The base turns user data into packed rows and back (through the codec, chosen by
:func:`skbridge.data._codec.make_codec`), adds the codec's log-Jacobian to the scores, and
restores the estimator if a fit fails. :class:`NetworkGenerator` adds the fit of the
single-network baselines (VAE, FlowMatching).
"""

from __future__ import annotations

import copy
import hashlib
import math
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import metadata_routing
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import distributed
from .._base import TorchStateMixin, TrainingError, resolve_device, seed_from, torch_generator
from ..data._codec import Codec, is_frame, make_codec
from ..data._dequantize import dequantize
from ._training import (
    VAL_ROWS,
    EncodedRows,
    Trainer,
    adopt_history,
    backed_by_memmap,
    build_seeded,
    prepare_fit,
)

# the divergence probe at the end of fit: model vectors drawn, and the largest sane size
_PROBE_ROWS, _PROBE_SPAN = 64, 1e4
# ... and the share of their coordinates outside the training rows' range that says "far
# from convergence" (converged fits: 0-2.3%; 20-100 iteration ScoreSDE fits: 95-100%)
_PROBE_OUTSIDE = 0.1
# the networks of a sampler see the chain's state clamped to this many times that scale
_SAMPLING_BOUND = 100.0

__all__ = ["GeneratorEstimator", "NetworkGenerator", "row_generators", "row_draws"]


# max_iter="auto" (DiscreteDiffusion, ScoreSDE, SBVAE): graphs and sequences get
# AUTO_MAX_ITER; tables about AUTO_TABLE_PASSES passes over the training rows, within
# [AUTO_MAX_ITER, AUTO_TABLE_MAX_ITER] (benchmarks/README.md: "max_iter='auto'")
AUTO_MAX_ITER, AUTO_TABLE_PASSES, AUTO_TABLE_MAX_ITER = 3000, 1250, 12000


def resolve_max_iter(max_iter, codec, n_train: int, batch_size: int) -> int:
    """``max_iter`` for a fit on ``n_train`` rows of ``codec``'s data, ``"auto"`` resolved:
    3000 for graphs and sequences; for tables ``1250 * n_train / batch_size`` (1250 passes
    over the rows), at least 3000 and at most 12000."""
    if not isinstance(max_iter, str):
        return int(max_iter)
    if codec.modality != "tabular":
        return AUTO_MAX_ITER
    passes = math.ceil(AUTO_TABLE_PASSES * n_train / min(int(batch_size), n_train))
    return min(AUTO_TABLE_MAX_ITER, max(AUTO_MAX_ITER, passes))


def row_generators(rows: np.ndarray, seed: int):
    """One numpy Generator per row, seeded by ``seed`` and a hash of the row's bytes.

    Scores drawn with them make a row's score independent of the other rows passed with
    it, their order and the chunking.
    """
    for row in np.ascontiguousarray(rows, dtype=np.float32):
        digest = hashlib.blake2b(row.tobytes(), digest_size=8).digest()
        yield np.random.default_rng([seed, int.from_bytes(digest, "little")])


_DRAWS = {
    "normal": lambda rng, shape: rng.standard_normal(shape, dtype=np.float32),
    "uniform": lambda rng, shape: rng.random(shape, dtype=np.float32),
    "sign": lambda rng, shape: rng.integers(0, 2, shape, dtype=np.int8) * 2 - 1,
}


def row_draws(rows: np.ndarray, seed: int, *draws: tuple[str, tuple[int, ...]]):
    """Monte Carlo noise for scoring, drawn per row from :func:`row_generators`.

    Each of ``draws`` is ``(kind, shape)``, kind ``"normal"`` (float32 standard normals),
    ``"uniform"`` (float32 on [0, 1)) or ``"sign"`` (int8 Rademacher signs); for every row
    they are drawn in the order given. Returns one array per draw, of shape
    ``(n, *shape)`` (rows first). ``rows`` are the packed rows, so a row's noise does not
    depend on the other rows passed with it, their order, the chunking, or the units of
    the features (only float32 rounding remains).
    """
    n = rows.shape[0]
    out = [
        np.empty((n, *shape), dtype=np.int8 if kind == "sign" else np.float32)
        for kind, shape in draws
    ]
    for i, rng in enumerate(row_generators(rows, seed)):
        for arr, (kind, shape) in zip(out, draws, strict=True):
            arr[i] = _DRAWS[kind](rng, shape)
    return out


def _finite_abs(v) -> float:
    return abs(v) if isinstance(v, float) and math.isfinite(v) else 0.0


def _head(X, n: int):
    """The first ``n`` rows (items) of a table, array or list."""
    if is_frame(X):
        return X.iloc[:n]
    if isinstance(X, (list, tuple)):
        return list(X[:n])
    return np.asarray(X)[:n]


class GeneratorEstimator(TorchStateMixin, DensityMixin, BaseEstimator):
    """Base class of the skbridge generators (not public)."""

    _parameter_constraints: dict = {
        "data": [
            StrOptions({"auto", "tabular", "sequence", "graph"}),
            Codec,
        ],
        "warm_start": ["boolean"],
        "device": [str, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ----------------------------------------------------------------- input
    # ----------------------------------------------------------------- input
    def _validate_input(self, X, reset):
        """Check ``X`` (names, feature count, rows); arrays become float64 (a memory-mapped
        one stays as it is, to be read through), frames stay frames."""
        # a frame is read column by column when the codec is (or will be) fitted on one;
        # a frame passed to a model fitted on an array is checked as an array
        frame_codec = is_frame(X) if reset else self.codec_.is_frame_
        if frame_codec:
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
            if "inhomogeneous" in str(err) or "array element with a sequence" in str(err):
                kinds = sorted({type(x).__name__ for x in X}) if isinstance(X, list) else []
                advice = (
                    "graphs, token sequences and series are read with data='auto' (or "
                    "'graph', 'sequence')"
                    if reset
                    else "this model was fitted on a numeric table"
                )
                raise ValueError(
                    "X is not a numeric table: its rows have different lengths or are not "
                    f"numbers (items of type {kinds[:5]}); {advice}."
                ) from err
            if "could not convert" in str(err):
                raise ValueError(
                    f"{err}. Arrays must be numeric; pass a pandas DataFrame to model "
                    "categorical (string, category, bool) columns."
                ) from err
            raise
        if backed_by_memmap(X):  # read through, not copied (float32 or float64)
            return X
        return np.asarray(X, dtype=np.float64)

    def _encode_fit(self, X, warm):
        """Validate and encode training data: ``(codec, P, offset)`` as numpy arrays, or
        with ``P`` an :class:`~skbridge.models._training.EncodedRows` for a memory-mapped
        numeric array (its rows are encoded when read).

        A codec with ``validates_input = True`` (sequences) checks ``X`` itself; tables go
        through scikit-learn's ``validate_data`` first.
        """
        codec = self.codec_ if warm else make_codec(self.data, X)
        if not codec.validates_input:
            X = self._validate_input(X, reset=not warm)
        elif not warm:  # no column counts or names for sequences
            for attr in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(attr, None)
        if not warm:
            codec.fit(X)
        if backed_by_memmap(X) and not getattr(codec, "is_frame_", True):
            # a memory-mapped numeric table: rows are encoded when training draws them
            rows = EncodedRows(codec, X)
            return codec, rows, rows.offsets()
        P, offset = codec.encode(X)
        impossible = np.flatnonzero(offset == -np.inf)
        if impossible.size:  # only a warm start's codec can meet them
            raise ValueError(
                f"rows {impossible[:10].tolist()} of X have probability zero under the model "
                "fitted before (a graph with more nodes than its node positions, a fractional "
                "value in an integer column); a warm start cannot train on them: refit with "
                "warm_start=False."
            )
        return codec, P, offset

    def _encode(self, X):
        check_is_fitted(self)
        if not self.codec_.validates_input:
            X = self._validate_input(X, reset=False)
        return self.codec_.encode(X)

    # ----------------------------------------------------------------- fitting
    _checkpointable = True  # whether fit(checkpoint=...) is supported
    # a file path, not data for a meta-estimator to route: no set_fit_request method
    __metadata_request__fit = {"checkpoint": metadata_routing.UNUSED}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, checkpoint=None):
        """Fit the generator to the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or pandas DataFrame
            Training data: a numeric array, or a DataFrame of float, integer, categorical,
            string and bool columns (no missing values), at least 2 rows. A memory-mapped
            array (``np.load(path, mmap_mode="r")``, ``np.memmap``) is read through: rows
            are read and encoded as training draws them, not copied whole.
        y : None
            Ignored; present for API consistency.
        checkpoint : str or path-like, default=None
            A file where the fit saves its state at every check (about every
            ``max_iter / 20`` iterations; atomically, in a format that loads without
            running code). If the file holds the state of an interrupted fit of the same
            estimator (same parameters and ``random_state``) on the same data, the fit
            resumes from it and ends with the model the uninterrupted fit would have
            given; a file from another fit is refused. The file is removed when the fit
            succeeds. Not supported with ``warm_start``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if checkpoint is not None:
            self._check_checkpointable()
        saved = dict(self.__dict__)
        try:
            self._fit_checkpoint = checkpoint
            self._fit(X)
            del self._fit_checkpoint
            self._check_outputs(X)
        except BaseException:
            # a failed fit leaves a previously fitted model exactly as it was
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        if checkpoint is not None and not (distributed.is_active() and distributed.rank()):
            Path(checkpoint).unlink(missing_ok=True)
        return self

    def _check_checkpointable(self):
        if not self._checkpointable:
            raise ValueError(
                f"{type(self).__name__} does not support checkpoint yet (its encoder phase "
                "is not saved); fit without it"
            )
        if self.warm_start and all(hasattr(self, a) for a in self._torch_attributes):
            raise ValueError("checkpoint cannot be combined with a warm start; fit without it")

    def _check_outputs(self, X):
        """Refuse a fit that diverged, and warn about one far from convergence.

        A diverged network can keep a finite loss (1e17-1e31) while it samples NaN. The
        held-out values of the last check must be finite and must not explode (grow a
        thousandfold over the first check and beyond a thousand nats per dimension, or
        pass a million per dimension): else :class:`TrainingError`. A few model vectors are
        then sampled: if they are not finite, or reach ``_PROBE_SPAN`` times the largest
        coordinate of the training rows in model space, the sampler is unstable on this
        fit (an undertrained drift network can feed back on itself), and a
        ``ConvergenceWarning`` says so. So it does when more than ``_PROBE_OUTSIDE`` of
        their coordinates fall outside the range of the (dequantised) training rows, where
        a converged model puts about ``2 / (n + 1)``: an undertrained model samples too
        wide, and a DataFrame's columns would be clipped onto their training min/max.
        """
        self._check_history()
        d = self.codec_.n_latent_
        P, _ = self._encode(_head(X, 1000))
        scale = max(1.0, float(np.abs(P[:, :d]).max()))
        # score_samples: beyond _PROBE_SPAN times it is "far"; samplers bound the state there
        self._latent_scale = scale
        with torch.inference_mode():
            V = self._generate(_PROBE_ROWS, torch_generator(0, self.device_))
        V = V.detach().double().cpu()
        size = float(V.abs().max()) if bool(torch.isfinite(V).all()) else math.inf
        if size > _PROBE_SPAN * scale:
            what = (
                "are not finite"
                if size == math.inf
                else f"reach {size:.3g} in model units, where the training rows stay within "
                f"{scale:.3g}"
            )
            self._warn_unconverged(
                f"samples from this fit {what}",
                "the fit is far from convergence and its sampler unstable",
            )
            return
        # an undertrained model samples too wide: of a converged one's samples, a coordinate
        # falls outside the range of n training rows with probability 2 / (n + 1)
        W, _ = dequantize(
            self.codec_,
            torch.as_tensor(P, dtype=torch.float64),
            generator=torch_generator(0, torch.device("cpu")),
        )
        outside = float(((V < W.min(0).values) | (V > W.max(0).values)).double().mean())
        expected = 2.0 / (P.shape[0] + 1)
        if outside > max(_PROBE_OUTSIDE, 10 * expected):
            self._warn_unconverged(
                f"{outside:.0%} of the values sampled from this fit fall outside the range of "
                f"the training data (about {expected:.1%} would for a converged model)",
                "the fit is far from convergence (a DataFrame's float and integer columns "
                "would be clipped onto their training min/max)",
            )

    def _check_history(self):
        """Raise :class:`TrainingError` when the last held-out check is not finite or
        exploded (see :meth:`_check_outputs`)."""
        history = self.history_ or [{}]
        first, last = history[0], history[-1]
        d = self.codec_.n_latent_
        bad = [k for k, v in last.items() if isinstance(v, float) and not math.isfinite(v)]
        exploded = [
            k
            for k, v in last.items()
            if k.startswith("val_")
            and isinstance(v, float)
            and math.isfinite(v)
            and (abs(v) > 1e3 * max(_finite_abs(first.get(k)), d) or abs(v) > 1e6 * d)
        ]
        if bad or exploded:
            what = ", ".join(f"{k}={last[k]:.4g}" for k in bad + exploded)
            if exploded:
                what += " (" + ", ".join(
                    f"{first.get(k, math.nan):.4g} at the first check" for k in exploded
                )
                what += f"; {d} dimensions)"
            raise TrainingError(
                f"training diverged: the last held-out check gave {what}, last training loss "
                f"{last.get('loss', float('nan')):.4g}. The model was left as it was before "
                f"this fit. Try a smaller learning_rate (now {self.learning_rate!r}), or check "
                "the data scale."
            )

    def _sampling_net(self, net):
        """``net(t, x)`` evaluated on ``x`` clamped to ``_SAMPLING_BOUND`` times the
        training rows' scale in model space: a sampler's chain stays finite when an
        undertrained drift runs away (the end-of-fit probe then warns), where it turned NaN
        (a graph network's output overflowed float32 from inputs of about 1e4). Samples of
        a trained model never come near the bound."""
        bound = _SAMPLING_BOUND * getattr(self, "_latent_scale", math.inf)
        if net is None or not math.isfinite(bound):
            return net
        return lambda t, x: net(t, x.clamp(-bound, bound))

    def _warn_unconverged(self, what: str, meaning: str):
        warnings.warn(
            f"{type(self).__name__}: {what} ({self.n_iter_} iterations): {meaning}. Train "
            "longer (max_iter) or with a smaller learning_rate before sampling.",
            ConvergenceWarning,
            stacklevel=5,  # the caller of fit (through scikit-learn's fit wrapper)
        )

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

        Raises
        ------
        TrainingError
            If the sampler diverges (a sample is not finite): the fit is far from
            convergence. No NaN is ever returned.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        seed = seed_from(random_state)
        gen = torch_generator(seed, self.device_)
        with torch.inference_mode():
            V = self._generate(int(n_samples), gen)
        V = V.detach().cpu().double().numpy()
        bad = int((~np.isfinite(V)).any(axis=tuple(range(1, V.ndim))).sum())
        if bad:  # decoded, they would be NaN rows, or graphs and sequences of nothing
            raise TrainingError(
                f"the sampler diverged: {bad} of {len(V)} samples are not finite. The fit is "
                "far from convergence (it warned with a ConvergenceWarning); train longer "
                "(max_iter) or with a smaller learning_rate."
            )
        return self.codec_.decode(V, random_state=seed)

    def iter_samples(self, n_samples, chunk_size=10_000, random_state=None):
        """Draw ``n_samples`` new rows in chunks, as a generator: memory stays that of one
        chunk however many rows are drawn (write each chunk to a file as it comes).

        Parameters
        ----------
        n_samples : int
            Rows in all.
        chunk_size : int, default=10_000
            Rows per chunk (the last one may be shorter).
        random_state : int, RandomState instance or None, default=None
            Seeds this call; the chunks are reproducible for a fixed ``random_state`` and
            ``chunk_size``, and each chunk has its own seed (a chunk is not a slice of
            ``sample(n_samples)``).

        Yields
        ------
        X : ndarray, DataFrame or list
            ``chunk_size`` rows at a time, of the kind :meth:`sample` returns.
        """
        check_is_fitted(self)
        for name, value in (("n_samples", n_samples), ("chunk_size", chunk_size)):
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        n_chunks = -(-int(n_samples) // int(chunk_size))
        seeds = np.random.SeedSequence(seed_from(random_state)).generate_state(n_chunks)
        for i, seed in enumerate(seeds):
            size = min(int(chunk_size), int(n_samples) - i * int(chunk_size))
            yield self.sample(size, random_state=int(seed))

    def score_samples(self, X):
        """Per-row log-likelihood (or its lower bound), in nats and the user's units.

        Float columns contribute a log-density, integer and categorical columns a
        log-probability; the log-Jacobian of the codec's scaling is included, so
        rescaling a column by ``c`` shifts the score by ``-log|c|``. Deterministic for a
        fitted model: each row's Monte Carlo noise is drawn from a hash of its values.

        A score is finite or exactly ``-inf``, never NaN: ``-inf`` for an impossible row (a
        fractional value in an integer column) and for a row so far outside the training
        data (ten thousand times its spread and more) that its log-density is beyond the
        model's float32 arithmetic.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or DataFrame

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        P, offset = self._encode(X)
        scores = self._log_density(torch.as_tensor(P, dtype=torch.float32, device=self.device_))
        scores = np.asarray(scores, dtype=np.float64) + offset
        # never NaN: an impossible row (offset -inf) scores -inf whatever the network says,
        # and so does a row so far outside the training data (beyond _PROBE_SPAN times its
        # scale in model space) that the network's float32 arithmetic overflows
        bad = np.isnan(scores) | (scores == np.inf)
        if bad.any():
            d = self.codec_.n_latent_
            far = np.abs(P[:, :d]).max(1) > _PROBE_SPAN * getattr(self, "_latent_scale", 1.0)
            scores[bad & far] = -np.inf
        scores[offset == -np.inf] = -np.inf
        return scores

    def score(self, X, y=None):
        """Mean per-row score (nats, user's units): comparable across folds of any size."""
        return float(np.mean(self.score_samples(X)))

    def _device(self):
        return resolve_device(self.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

    def _max_iter(self, codec, n_train: int) -> int:
        """The optimisation steps for ``n_train`` training rows of this codec's data
        (``max_iter``, ``"auto"`` resolved by :func:`resolve_max_iter`)."""
        return resolve_max_iter(self.max_iter, codec, n_train, self.batch_size)


# ---------------------------------------------------------------------------- baselines
class NetworkGenerator(GeneratorEstimator):
    """Base of the single-network baselines, VAE and FlowMatching (not public).

    One torch module is trained by :class:`~skbridge.models._training.Trainer` on
    mini-batches of training rows, each batch with a fresh dequantisation draw; every
    ``max_iter // 20`` iterations the held-out negative log-likelihood (fixed noise, user's
    units) is recorded in ``history_`` and, with ``early_stopping``, the best module is
    kept. Optionally the kept module is an exponential moving average of the trained
    weights (``_ema_decay``). Subclasses implement:

    * ``_build(codec)``: a fresh module for the codec's model vectors (called under a
      forked, seeded torch RNG, so the global RNG is never touched);
    * ``_loss(module, v, generator)``: the scalar training loss of a batch ``v`` (a
      dequantised batch, unless ``_training_batch`` says otherwise);
    * ``_validator(codec, P_val, seed)``: a callable ``module -> log-densities (n_val,)``
      of the validation rows with noise fixed once (without the codec offset: ``_fit``
      adds it, so ``history_`` is in the user's units);
    * ``_adopt(module)`` / ``_module()``: store the fitted module in the fitted attributes,
      and give it back for a warm start.
    """

    _val_rows = VAL_ROWS  # at most this many validation rows are monitored

    def _ema_decay(self) -> float:
        return 0.0

    def _max_grad_norm(self) -> float | None:
        """Gradients longer than this are scaled down to it before each step (None: never)."""
        return None

    def _init_module(self, module, x_train):
        """Set what a fresh module learns from the training rows before training (e.g.
        frequencies); nothing by default."""

    def _monitored_rows(self, check_every: int, batch: int) -> int:
        """How many validation rows each check scores, for checks every ``check_every``
        steps of ``batch`` rows: ``_val_rows`` by default."""
        return self._val_rows

    def _learning_rate(self, codec) -> float:
        """The Adam step size for this codec's data (``learning_rate``)."""
        return float(self.learning_rate)

    def _training_batch(self, codec, rows, gen):
        """What ``_loss`` trains on for a batch of packed rows: a fresh dequantisation
        draw by default."""
        return dequantize(codec, rows, generator=gen)[0]

    def _fit(self, X):
        fd = prepare_fit(self, X, hold_out=self.early_stopping)
        codec, dev, seeds = fd.codec, fd.device, fd.seeds
        x_train = fd.x_train
        n, batch = x_train.shape[0], min(int(self.batch_size), x_train.shape[0])
        max_iter = self._max_iter(codec, n)
        check_every = max(1, max_iter // 20)
        n_val = self._monitored_rows(check_every, batch)
        val_rows = fd.x_val[:n_val]
        val_offset = float(np.mean(fd.offset_val[:n_val]))
        val_log_density = self._validator(codec, val_rows, int(seeds[1]))
        if fd.warm:
            module = copy.deepcopy(self._module()).to(dev).requires_grad_(True)
        else:
            module = build_seeded(seeds[2], lambda: self._build(codec)).to(dev)
            self._init_module(module, x_train)

        gen = torch_generator(int(seeds[0]), dev)
        trainer = Trainer(
            module,
            learning_rate=self._learning_rate(codec),
            ema_decay=self._ema_decay(),
            max_grad_norm=self._max_grad_norm(),
            total=max_iter,
            check_every=check_every,
            verbose=self.verbose,
            name=f"{type(self).__name__} on {dev}",
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            checkpoint=fd.checkpoint,
            generators=(gen,),
        )

        def step():
            rows = torch.randint(0, n, (batch,), generator=gen, device=dev)
            trainer.update(self._loss(module, self._training_batch(codec, x_train[rows], gen), gen))

        def monitor():
            return {"val_neg_log_lik": -float(np.mean(val_log_density(trainer.ema))) - val_offset}

        try:
            trainer.run(
                max_iter,
                step,
                phase="train",
                monitor=monitor,
                key="val_neg_log_lik",
                early_stopping=self.early_stopping,
            )
        finally:
            trainer.close()
        kept = trainer.ema.requires_grad_(False)
        # adopt the results only now: any failure above leaves the estimator untouched
        self.device_ = dev
        self.codec_ = codec
        self._adopt(kept)
        adopt_history(self, trainer.history, trainer.it, fd.warm)
        self._score_seed = int(seeds[3])
        return self
