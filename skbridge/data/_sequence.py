r"""The sequence codec: sets of time series or token sequences <-> flat float vectors.

Two kinds of sequence data, told apart in :meth:`SequenceCodec.fit`:

* **real-valued series**: a 3-D array ``(n, length, channels)`` (a list of equal-length
  ``(length, channels)`` arrays is stacked). Each channel is standardised with its mean and
  std over all sequences and time steps; the log-Jacobian, :math:`-L\sum_c \log s_c` per
  sequence, is added to the score, so scores are log-densities in the user's units.
  A list of series of different lengths (the same channels) is padded to the longest
  training length, and every position gets two more coordinates: a relaxed one-hot
  *alive / ended* block, dequantised like a token, from which the model learns how long
  series are. The values of a padded position are not data: during training and scoring they
  are standard normal draws, whose log-density joins the dequantisation's, so the score
  stays a lower bound on the log-density of the series and its length (the continuous
  values of its :math:`L_i` steps and the discrete length). A sample is the values of its
  alive positions in order, a list of ``(length, channels)`` arrays.
* **token sequences**: a list of strings (one token per character), a list of token lists
  (any hashable tokens), or sequences of integer token ids (lists of ints, a 2-D integer
  array). The alphabet is learned in fit. Each position is one-hot over the
  alphabet in the same continuous relaxation as the tabular codec's categorical columns
  (argmax dequantisation), so scores are lower bounds on log-probabilities.
  Sequences of different lengths are padded with an end token to the longest training
  length: the model learns how long sequences are. A sampled sequence is its non-end tokens
  in order (for data, the tokens before the padding), so a stray end token in the middle of
  a sample removes one position instead of cutting the sample short, and no sample is
  empty. Every dequantised draw of a training sequence still decodes to it, so scores stay
  bounds. ``length=<int>`` instead asks for fixed-length data and
  refuses anything else.

Either way the model sees ``length * width`` coordinates, laid out time-major: position
``t`` owns coordinates ``t * width`` to ``(t + 1) * width - 1`` (``width`` is the number of
channels, or the alphabet size plus the end token). ``event_shape_ = (length, width)`` tells
networks to treat the vector as a sequence (:class:`~skbridge.nets.TemporalConvNet`).
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ._codec import Codec
from ._dequantize import relaxed_onehot

__all__ = ["SequenceCodec", "is_sequence_data"]


class _EndToken:
    """The padding token of variable-length token sequences: one object that no user token
    equals (a string such as ``"<end>"`` could be a real token)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __reduce__(self):  # unpickles to the same object
        return (_EndToken, ())

    def __repr__(self):
        return "<end>"


_END = _EndToken()


def _is_token_sequence(item) -> bool:
    if isinstance(item, str):
        return True
    # a list with a string among its tokens (a None among them is then named as missing)
    return isinstance(item, (list, tuple)) and any(isinstance(tok, str) for tok in item)


def _is_id_sequence(item) -> bool:
    """A list or 1-D array of integer token ids (bools are not ids)."""
    if isinstance(item, np.ndarray):
        return item.ndim == 1 and item.dtype.kind in "iu"
    return isinstance(item, (list, tuple)) and all(
        isinstance(tok, Integral) and not isinstance(tok, (bool, np.bool_)) for tok in item
    )


def _known(token, index) -> bool:
    try:
        return token in index
    except TypeError:  # unhashable
        return False


def is_sequence_data(X) -> bool:
    """Whether ``data="auto"`` should read ``X`` as sequences.

    3-D arrays, lists of strings and lists of lists of string tokens are sequences; a list of
    lists of numbers is a table (scikit-learn's convention), so token sequences of integers
    need ``data="sequence"``.
    """
    if isinstance(X, np.ndarray):
        return X.ndim == 3
    if isinstance(X, (list, tuple)) and len(X) > 0:
        if any(_is_token_sequence(item) for item in X):
            return True  # every item, not only the first: the codec names a bad one
        first = X[0]
        return isinstance(first, np.ndarray) and first.ndim == 2
    return False


def _real_array(a) -> np.ndarray:
    """``a`` as float64; complex values are refused (casting would drop the imaginary part)."""
    a = np.asarray(a)
    if np.iscomplexobj(a):
        raise ValueError(
            "sequence data contains complex values; split them into real channels (e.g. "
            "np.concatenate([X.real, X.imag], axis=-1)) before fitting"
        )
    return np.asarray(a, dtype=np.float64)


class SequenceCodec(Codec):
    """Sets of sequences <-> flat model vectors (see the module docstring).

    Parameters
    ----------
    kind : {"auto", "real", "tokens"}, default="auto"
        ``"auto"``: float arrays are real-valued series; strings, token lists and
        sequences of integer token ids (lists of ints, a 2-D integer array) are tokens.
        ``"real"`` reads integer values as real series; ``"tokens"`` reads anything as
        tokens.
    length : "auto" or int, default="auto"
        ``"auto"`` accepts sequences of different lengths (padded, the length learned); an
        int requires every sequence to have exactly that length.

    Attributes
    ----------
    kind_ : {"real", "tokens"}
    length_ : int
        Number of time steps the model sees (the longest training sequence).
    n_channels_ : int
        Real series: number of channels.
    alphabet_ : list
        Tokens: the sorted alphabet learned in fit.
    variable_length_ : bool
        Whether sequences are padded: token sequences with an end token, real series with
        an alive / ended block at every position.
    event_shape_ : tuple of int
        ``(length_, width)`` of one model vector, time-major.
    n_latent_, n_packed_ : int
        Model dimension (``length_ * width``) and packed-row width (the same).
    has_discrete_ : bool
        True for tokens (their model vectors are dequantised).
    """

    modality = "sequence"
    validates_input = True  # estimators hand raw X to the codec instead of sklearn's checks

    _parameter_constraints: dict = {
        "kind": [StrOptions({"auto", "real", "tokens"})],
        "length": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, kind="auto", length="auto"):
        self.kind = kind
        self.length = length

    # ------------------------------------------------------------------ input
    def _read(self, X, fitting):
        """``X`` -> ("real", float array (n, L, C) or, for series of different lengths, a list
        of (L_i, C) arrays) or ("tokens", list of token lists)."""
        kind = self.kind if fitting else self.kind_
        if isinstance(X, np.ndarray) and X.ndim == 3:
            if kind == "tokens":
                raise ValueError(
                    "the codec reads tokens (it was fitted on tokens), but got a 3-D array of "
                    "real-valued series"
                )
            return "real", self._check_real(X)
        if not isinstance(X, (list, tuple, np.ndarray)):
            raise TypeError(
                "sequence data must be a 3-D array (n, length, channels), a list of strings or "
                f"a list of token lists; got {type(X).__name__}"
            )
        if len(X) == 0:
            raise ValueError("no sequences were given (X is empty)")
        items = list(X)
        # "auto": strings and token lists are tokens, and so are sequences of integer ids
        # (a list of int lists, a 2-D integer array); float values are real series
        tokens = any(map(_is_token_sequence, items)) or all(map(_is_id_sequence, items))
        if kind == "real" or (kind == "auto" and not tokens):
            if kind == "auto" and not isinstance(items[0], np.ndarray):
                if isinstance(items[0], (list, tuple)) and not items[0]:
                    raise ValueError("sequence 0 is empty; every sequence needs a token")
            arrays = [_real_array(a) for a in items]
            if arrays[0].ndim == 1:
                arrays = [a[:, None] for a in arrays]
            shapes = {a.shape for a in arrays}
            if len(shapes) > 1:
                channels = {a.shape[1:] for a in arrays}
                if len(channels) > 1:
                    raise ValueError(
                        "real-valued sequences with different numbers of channels "
                        f"{sorted(c[0] if c else 1 for c in channels)[:5]}: every series "
                        "needs the same channels"
                    )
                if not (fitting and self.length == "auto") and not (
                    not fitting and self.variable_length_
                ):
                    asked = "length=" + str(self.length) if fitting else "a fixed length"
                    raise ValueError(
                        f"real-valued sequences of different shapes {sorted(shapes)[:5]}, "
                        f"but the codec needs {asked}: pad or cut them to one length, or "
                        "fit on series of different lengths with length='auto'"
                    )
                return "real", [self._check_real(a[None])[0] for a in arrays]
            return "real", self._check_real(np.stack(arrays))
        seqs = []
        for i, item in enumerate(items):
            if not isinstance(item, (str, list, tuple, np.ndarray)):
                raise TypeError(
                    f"sequence {i} is a {type(item).__name__}; token sequences are strings "
                    "or lists of tokens"
                )
            seq = list(item) if not isinstance(item, np.ndarray) else item.tolist()
            if len(seq) == 0:
                raise ValueError(f"sequence {i} is empty; every sequence needs a token")
            if any(tok is None for tok in seq):
                raise ValueError(
                    f"sequence {i} has a None token (a missing value): drop or replace it "
                    "(e.g. with a token of its own such as '?')"
                )
            seqs.append(seq)
        return "tokens", seqs

    @staticmethod
    def _check_real(A):
        A = _real_array(A)
        if A.shape[0] == 0 or A.shape[1] == 0 or A.shape[2] == 0:
            raise ValueError(f"sequence array has an empty dimension: shape {A.shape}")
        if not np.isfinite(A).all():
            bad = np.unique(np.nonzero(~np.isfinite(A))[0])
            raise ValueError(
                f"sequence data contains NaN or infinite values (sequences {bad[:10].tolist()}"
                f"{' …' if bad.size > 10 else ''}); impute or drop them before fitting"
            )
        return A

    # -------------------------------------------------------------------- fit
    def fit(self, X):
        """Learn the channel scales, or the alphabet and lengths, from sequences ``X``."""
        self._validate_params()
        kind, data = self._read(X, fitting=True)
        self.kind_ = kind
        if kind == "real":
            variable = isinstance(data, list)
            lengths = np.array([len(a) for a in data])
            L, C = int(lengths.max()), data[0].shape[1]
            if self.length != "auto" and L != self.length:
                raise ValueError(f"length={self.length} was asked for, but X has length {L}")
            steps = np.concatenate(data) if variable else data.reshape(-1, C)
            # moments of data / c (c a power of two near each channel's largest value):
            # the raw squares overflow from about 1e154 on
            c = np.ldexp(1.0, np.minimum(np.frexp(np.abs(steps).max(axis=0))[1], 1023))
            self.mean_ = (steps / c).mean(axis=0) * c
            std = (steps / c).std(axis=0) * c
            if np.any(std == 0):
                const = np.nonzero(std == 0)[0].tolist()
                raise ValueError(
                    f"channels {const} are constant over all sequences and time steps; drop "
                    "them (a generator has nothing to learn there, and no density exists)"
                )
            self.scale_ = std
            self.length_, self.n_channels_ = L, C
            self.variable_length_ = variable
            self.event_shape_ = (L, C + 2) if variable else (L, C)
            self.has_discrete_ = variable
            if variable:
                self.lengths_ = np.bincount(lengths)
        else:
            lengths = np.array([len(s) for s in data])
            if self.length != "auto" and np.any(lengths != self.length):
                bad = np.nonzero(lengths != self.length)[0]
                raise ValueError(
                    f"length={self.length} was asked for, but {bad.size} sequence(s) have "
                    f"another length (e.g. sequence {bad[0]} has {lengths[bad[0]]}); use "
                    "length='auto' for variable-length sequences"
                )
            try:
                alphabet = sorted({tok for s in data for tok in s})
            except TypeError:  # unorderable mix of token types
                alphabet = sorted({tok for s in data for tok in s}, key=repr)
            self.alphabet_ = alphabet
            self.is_string_ = all(isinstance(s, str) for s in X)
            self.variable_length_ = bool(lengths.min() != lengths.max())
            self._levels = alphabet + ([_END] if self.variable_length_ else [])
            self._index = {tok: i for i, tok in enumerate(alphabet)}
            self.length_ = int(lengths.max())
            self.lengths_ = np.bincount(lengths)  # training length counts (a diagnostic)
            self.event_shape_ = (self.length_, len(self._levels))
            self.has_discrete_ = True
            if len(self._levels) < 2:
                raise ValueError(
                    f"every sequence is {self.length_} × the token {alphabet[0]!r}: there is "
                    "nothing to model"
                )
        self.n_latent_ = int(np.prod(self.event_shape_))
        self.n_packed_ = self.n_latent_
        # tokens: every position is a relaxed one-hot block of the model vector (time-major),
        # with its tokens' training frequencies at that position (the end token after a
        # sequence's end; half a count added to each, so no token is impossible anywhere)
        L, W = self.event_shape_
        self.onehot_blocks_, self.onehot_frequencies_ = [], []
        if kind == "real" and self.variable_length_:  # the alive / ended block of each step
            alive = (np.arange(L)[:, None] < lengths[None, :]).sum(1)
            counts = np.c_[alive, len(lengths) - alive] + 0.5
            self.onehot_blocks_ = [(i * W + W - 2, (i + 1) * W) for i in range(L)]
            self.onehot_frequencies_ = list(counts / counts.sum(1, keepdims=True))
        elif kind != "real":
            counts = np.full((L, W), 0.5)
            for seq in data:
                counts[np.arange(len(seq)), [self._index[tok] for tok in seq]] += 1
                counts[len(seq) :, W - 1] += self.variable_length_
            self.onehot_blocks_ = [(i * W, (i + 1) * W) for i in range(L)]
            self.onehot_frequencies_ = list(counts / counts.sum(1, keepdims=True))
        return self

    # ----------------------------------------------------------------- encode
    def encode(self, X):
        """Sequences -> ``(P, offset)``: packed rows (n, ``n_packed_``) and the per-row
        log-Jacobian (0 for tokens)."""
        kind, data = self._read(X, fitting=False)
        if kind != self.kind_:
            raise ValueError(f"the codec was fitted on {self.kind_} sequences, got {kind} ones")
        if kind == "real" and self.variable_length_:
            return self._encode_padded(data if isinstance(data, list) else list(data))
        if kind == "real":
            if data.shape[1:] != self.event_shape_:
                raise ValueError(
                    f"sequences have shape (length, channels) = {data.shape[1:]}, but the model "
                    f"was fitted on {self.event_shape_}"
                )
            Z = self._standardize(data)
            offset = np.full(data.shape[0], -self.length_ * float(np.log(self.scale_).sum()))
            return Z.reshape(data.shape[0], -1), offset
        n, L, W = len(data), self.length_, len(self._levels)
        idx = np.empty((n, L), dtype=np.int64)
        for i, seq in enumerate(data):
            if len(seq) > L or (not self.variable_length_ and len(seq) != L):
                raise ValueError(
                    f"sequence {i} has length {len(seq)}, but the model was fitted on "
                    + (f"lengths up to {L}" if self.variable_length_ else f"length {L}")
                )
            try:
                idx[i, : len(seq)] = [self._index[tok] for tok in seq]
            except (KeyError, TypeError):
                unseen = sorted({repr(t) for t in seq if not _known(t, self._index)}, key=str)
                raise ValueError(
                    f"sequence {i} has tokens not seen in fit: {unseen[:10]}; the alphabet is "
                    f"{self.alphabet_[:30]}"
                ) from None
            idx[i, len(seq) :] = W - 1  # end token
        P = np.zeros((n, L, W))
        np.put_along_axis(P, idx[..., None], 1.0, axis=2)
        return P.reshape(n, -1), np.zeros(n)

    def _standardize(self, data):
        with np.errstate(over="ignore", invalid="ignore"):
            Z = (data - self.mean_) / self.scale_
            far = ~np.isfinite(Z)  # data - mean overflowed (values near the float max)
            if far.any():
                Z[far] = (data / self.scale_ - self.mean_ / self.scale_)[far]
        return Z

    def _encode_padded(self, series):
        """Series of different lengths -> packed rows: the standardised values (0 after the
        end), then the alive / ended one-hot, at every position."""
        L, W = self.event_shape_
        C = W - 2
        P = np.zeros((len(series), L, W))
        offset = np.empty(len(series))
        log_scale = float(np.log(self.scale_).sum())
        for i, a in enumerate(series):
            if a.shape[1] != C:
                raise ValueError(
                    f"sequence {i} has {a.shape[1]} channels, but the model was fitted on {C}"
                )
            if len(a) > L:
                raise ValueError(
                    f"sequence {i} has length {len(a)}, but the model was fitted on lengths "
                    f"up to {L}"
                )
            P[i, : len(a), :C] = self._standardize(a)
            P[i, : len(a), C] = 1.0
            P[i, len(a) :, C + 1] = 1.0
            offset[i] = -len(a) * log_scale
        return P.reshape(len(series), -1), offset

    def perturb(self, P: torch.Tensor, u: torch.Tensor):
        """Dequantise packed rows: ``(v, log q(v|x))``; fixed-length real series pass through
        unchanged. For padded real series, the values of the positions after the end are
        standard normal draws (their log-density counts in ``log q``)."""
        if not self.has_discrete_:
            return P, torch.zeros(P.shape[0], dtype=P.dtype, device=P.device)
        n = P.shape[0]
        W = self.event_shape_[1]
        if self.kind_ == "tokens":
            vb, lq = relaxed_onehot(P.reshape(-1, W), u.reshape(-1, W))
            return vb.reshape(n, -1).to(P.dtype), lq.reshape(n, -1).sum(1).to(P.dtype)
        P3, u3 = P.reshape(n, -1, W), u.reshape(n, -1, W)
        vb, lq = relaxed_onehot(P3[..., W - 2 :].reshape(-1, 2), u3[..., W - 2 :].reshape(-1, 2))
        ended = P3[..., W - 1 :] > 0.5  # (n, L, 1)
        noise = torch.special.ndtri(u3[..., : W - 2].double().clamp(1e-7, 1 - 1e-7))
        values = torch.where(ended, noise, P3[..., : W - 2].double())
        log_noise = -0.5 * noise**2 - 0.5 * math.log(2 * math.pi)
        lq = lq.reshape(n, -1).sum(1) + (log_noise * ended).sum((1, 2))
        v = torch.cat([values, vb.reshape(n, -1, 2)], dim=2).reshape(n, -1)
        return v.to(P.dtype), lq.to(P.dtype)

    # ----------------------------------------------------------------- decode
    def decode(self, V, random_state=None):
        """Model vectors -> sequences of the kind fitted: a 3-D array, strings or token lists."""
        V = np.asarray(V, dtype=np.float64).reshape(-1, *self.event_shape_)
        if self.kind_ == "real":
            C = self.n_channels_
            with np.errstate(over="ignore"):
                X = V[..., :C] * self.scale_ + self.mean_
            big = np.finfo(np.float64).max  # a far sample of data near the float maximum
            X = np.clip(X, -big, big)  # stays finite
            if not self.variable_length_:
                return X
            alive = V[..., C] > V[..., C + 1]
            alive[~alive.any(1), 0] = True  # never an empty series
            return [x[keep] for x, keep in zip(X, alive, strict=True)]
        idx = V.argmax(2)
        end = len(self._levels) - 1 if self.variable_length_ else -1
        out = []
        for v, row in zip(V, idx, strict=True):
            keep = row[row != end]
            if keep.size == 0:  # all end tokens: the likeliest real token at the first step
                keep = v[0, :end].argmax(keepdims=True)
            toks = [self._levels[i] for i in keep]
            out.append("".join(toks) if self.is_string_ else toks)
        return out
