"""The one training loop of every generator, and the fit preamble they share.

A generator's ``_fit`` reads: validate and encode (:func:`prepare_fit`), build its networks
(:func:`build_seeded`), train (:class:`Trainer`), adopt the results (:func:`adopt_history`
and the model's own attributes). The trainer owns the optimiser, the exponential moving
average of the weights, the non-finite guard, the periodic checks (monitoring passed in as
a callable), early stopping, the progress report and ``history_``.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import distributed
from .._base import Progress, TrainingError, resolve_device, seed_from

__all__ = [
    "FitData",
    "prepare_fit",
    "build_seeded",
    "Trainer",
    "adopt_history",
    "Checkpoint",
    "EncodedRows",
    "backed_by_memmap",
]

VAL_ROWS = 256  # at most this many validation rows are monitored
_CHUNK_ROWS = 65536  # rows encoded at a time when a memory-mapped array is read through


def backed_by_memmap(A) -> bool:
    """Whether the numpy array ``A`` is a view of a memory-mapped file (``np.memmap``,
    ``np.load(..., mmap_mode=...)``)."""
    while isinstance(A, np.ndarray):
        if isinstance(A, np.memmap):
            return True
        A = A.base
    return A is not None and type(A).__name__ == "mmap"


class EncodedRows:
    """The rows of a memory-mapped numeric array, encoded when they are read.

    What ``fit`` trains on in place of a packed float32 copy of the whole array: indexing
    (an index tensor or array, or a slice) reads just those rows from the file, encodes
    them with the fitted codec and returns a float32 tensor on ``device``, the tensor the
    packed copy would have given for them. ``take`` narrows it to a subset of rows (a
    held-out split, a process's shard) without reading any.
    """

    def __init__(self, codec, X, device="cpu", index=None):
        self.codec, self.X, self.device = codec, X, torch.device(device)
        self.index = index  # None: every row, in order

    def __len__(self):
        return len(self.X) if self.index is None else len(self.index)

    @property
    def shape(self):
        return (len(self), self.codec.n_packed_)

    def to(self, device):
        return EncodedRows(self.codec, self.X, device, self.index)

    def take(self, rows):
        rows = np.asarray(rows)
        return EncodedRows(
            self.codec, self.X, self.device, rows if self.index is None else self.index[rows]
        )

    def _rows(self, key):
        if isinstance(key, torch.Tensor):
            key = key.cpu().numpy()
        if self.index is None:
            return key
        return self.index[key]

    def __getitem__(self, key):
        P, _ = self.codec.encode(self.X[self._rows(key)])
        return torch.as_tensor(P, dtype=torch.float32, device=self.device)

    def chunks(self):
        """``(P, offset)`` of consecutive blocks of rows, in order (numpy, float64)."""
        for start in range(0, len(self), _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, len(self))
            yield self.codec.encode(self.X[self._rows(slice(start, stop))])

    def offsets(self) -> np.ndarray:
        return np.concatenate([offset for _, offset in self.chunks()])


@dataclass
class FitData:
    """What :func:`prepare_fit` gives a generator's ``_fit``.

    ``seeds`` are four seeds drawn from ``random_state``: training draws, validation
    noise, network initialisation, scoring noise. ``x_train``/``x_val`` are packed rows
    (tensors on ``device``) and ``offset_train``/``offset_val`` their codec log-Jacobians;
    without a held-out split both are all rows.
    """

    warm: bool
    codec: object
    device: torch.device
    seeds: np.ndarray
    x_train: torch.Tensor | EncodedRows
    x_val: torch.Tensor | EncodedRows
    offset_train: np.ndarray
    offset_val: np.ndarray
    checkpoint: Checkpoint | None = None


def prepare_fit(est, X, *, hold_out: bool) -> FitData:
    """The fit preamble: warm start, validation and encoding, device, seeds, split.

    ``hold_out``: whether the generator wants held-out rows (``validation_fraction`` of
    them, when at least 2 rows remain on each side); otherwise it monitors its training
    rows. In a data-parallel fit (:mod:`skbridge.distributed`) each process keeps its share
    of the training rows and draws its batches with its own seed; the held-out rows, the
    initialisation and the other seeds are the same on every process.
    """
    warm = bool(est.warm_start) and all(hasattr(est, a) for a in est._torch_attributes)
    codec, P, offset = est._encode_fit(X, warm)
    dev = resolve_device(est.device)
    rng = np.random.RandomState(seed_from(est.random_state))
    seeds = rng.randint(0, 2**31 - 1, size=4)
    if isinstance(P, EncodedRows):  # a memory-mapped array: rows are read when drawn
        Z = P.to(dev)
    else:
        Z = torch.as_tensor(P, dtype=torch.float32, device=dev)
    n = Z.shape[0]
    n_val = int(round(est.validation_fraction * n))
    if hold_out and n_val >= 2 and n - n_val >= 2:
        perm = rng.permutation(n)
        val, train = perm[:n_val], perm[n_val:]
    else:
        val = train = np.arange(n)
    if distributed.is_active():
        train = train[distributed.shard(len(train))]
        if len(train) == 0:
            raise ValueError(
                f"{n} rows cannot be shared by {distributed.world_size()} processes: each "
                "needs at least one training row"
            )
        seeds[0] = (int(seeds[0]) + 7919 * distributed.rank()) % (2**31 - 1)
    path = getattr(est, "_fit_checkpoint", None)
    checkpoint = None if path is None else Checkpoint(path, _fingerprint(est, P, seeds))
    if len(train) == n and len(val) == n:
        return FitData(warm, codec, dev, seeds, Z, Z, offset, offset, checkpoint)
    subset = Z.take if isinstance(Z, EncodedRows) else Z.__getitem__
    return FitData(
        warm, codec, dev, seeds, subset(train), subset(val), offset[train], offset[val], checkpoint
    )


def _fingerprint(est, P, seeds) -> str:
    """What a checkpoint must have been written by: the class, its parameters (but
    ``verbose``), the encoded training data, the seeds and the number of processes."""
    h = hashlib.sha256(type(est).__name__.encode())
    params = sorted((k, repr(v)) for k, v in est.get_params().items() if k != "verbose")
    h.update(repr(params).encode())
    for block in (p for p, _ in P.chunks()) if isinstance(P, EncodedRows) else (P,):
        h.update(np.ascontiguousarray(block).tobytes())
    h.update(np.asarray(seeds, dtype=np.int64).tobytes())
    h.update(str(distributed.world_size() if distributed.is_active() else 1).encode())
    return h.hexdigest()


class Checkpoint:
    """A fit's saved state in one file: written atomically at every check, read back by
    the next fit that finds it (the same estimator parameters on the same data), removed
    when the fit ends.

    The file holds tensors and plain Python values only (``torch.save``; read with
    ``weights_only=True``): the trained and kept weights, the optimiser, the training
    draws' generator states, the iteration counters, early stopping's state and
    ``history``. Resuming from it continues the fit exactly where it was saved: the result
    is the uninterrupted fit's.
    """

    def __init__(self, path, fingerprint: str):
        self.path, self.fingerprint = Path(path), fingerprint
        self.pending, self.loaded = None, False
        if self.path.exists():
            try:
                state = torch.load(self.path, map_location="cpu", weights_only=True)
            except Exception as exc:  # noqa: BLE001 - any unreadable file
                raise ValueError(
                    f"checkpoint {self.path} cannot be read ({type(exc).__name__}: {exc}); "
                    "delete it to start the fit afresh"
                ) from exc
            if not isinstance(state, dict) or state.get("fingerprint") != fingerprint:
                raise ValueError(
                    f"checkpoint {self.path} was written by another fit (other parameters, "
                    "data or random_state); delete it, or pass another path, to start afresh"
                )
            self.pending = state

    def save(self, trainer: Trainer, run_index: int, done: int, extra=None) -> None:
        """Write the trainer's state, saved in its run ``run_index`` after ``done`` of
        that run's iterations, with ``trainer.extra_state`` and ``extra`` (plain values
        and tensors the trainer's owner needs to resume)."""
        if distributed.is_active() and distributed.rank() != 0:
            return
        state = {
            "fingerprint": self.fingerprint,
            "run_index": run_index,
            "done": done,
            "elapsed": time.perf_counter() - trainer.t_start,
            "module": trainer.module.state_dict(),
            "ema": trainer.ema.state_dict(),
            "opt": trainer.opt.state_dict(),
            "generators": [g.get_state() for g in trainer.generators],
            "it": trainer.it,
            "history": trainer.history,
            "best_val": trainer.best_val,
            "best_state": trainer.best_state,
            "no_improve": trainer.no_improve,
            "stopped_early": trainer.stopped_early,
            "monitor_s": trainer.monitor_s,
            "extra": {**trainer.extra_state, **(extra or {})},
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)  # a kill mid-write leaves the previous checkpoint

    def restore(self, trainer: Trainer, run_index: int) -> int | None:
        """Resume ``trainer`` in its run ``run_index`` (the runs of a fit, counted from 0).

        The iterations of this run already done: 0 if the pending state was not saved in
        this run or a later one (or there is none); None if it was saved in a later run, so
        this run is complete. The trainer's state is loaded at the first call that finds a
        pending state of this run or a later one; ``trainer.restored_extra`` then holds its
        extra values.
        """
        state = self.pending
        if state is None or state["run_index"] < run_index:
            return 0
        if not self.loaded:
            self.loaded = True
            self._load(trainer, state)
        if state["run_index"] > run_index:
            return None
        self.pending = None
        return int(state["done"])

    @staticmethod
    def _load(trainer: Trainer, state: dict) -> None:
        trainer.module.load_state_dict(state["module"])
        if trainer.ema is not trainer.module:
            trainer.ema.load_state_dict(state["ema"])
        trainer.opt.load_state_dict(state["opt"])
        for g, g_state in zip(trainer.generators, state["generators"], strict=True):
            g.set_state(g_state)
        trainer.it = state["it"]
        trainer.history = list(state["history"])
        trainer.best_val, trainer.best_state = state["best_val"], state["best_state"]
        trainer.no_improve, trainer.stopped_early = state["no_improve"], state["stopped_early"]
        trainer.monitor_s = state["monitor_s"]
        trainer.t_start = time.perf_counter() - state["elapsed"]
        trainer.loss_sum, trainer.loss_n = 0.0, 0  # saved right after a check
        trainer.restored_extra = dict(state.get("extra", {}))


def build_seeded(seed: int, build: Callable[[], nn.Module]):
    """``build()`` under a forked torch RNG seeded with ``seed`` (the global RNG is kept)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build()


def adopt_history(est, history: list[dict], n_iter: int, warm: bool):
    """Set ``n_iter_`` and ``history_``; iterations count across warm-started fits."""
    done_before = est.n_iter_ if warm else 0
    for entry in history:
        entry["iteration"] += done_before
    est.n_iter_ = n_iter + done_before
    est.history_ = (list(est.history_) if warm else []) + history


class Trainer:
    """Adam on one module, with the kept weights, checks, early stopping and history.

    Parameters
    ----------
    module : torch.nn.Module
        The trained module.
    learning_rate : float
    ema_decay : float
        The kept module (``ema``) is an exponential moving average of the trained weights;
        with 0 it is the trained module itself.
    total : int
        Iterations the progress bar expects.
    check_every : int
        Iterations between two checks.
    verbose : int
    name : str
        Progress bar label.
    tol, n_iter_no_change : float, int
        Early stopping: stop once the monitored value has not improved by ``tol`` for
        ``n_iter_no_change`` checks; the best kept weights are restored.
    what : str
        Names the loss in the error raised for a non-finite value.
    checkpoint : Checkpoint or None
        Saved after every check, and resumed from at the start of :meth:`run`.
    generators : tuple of torch.Generator
        The generators of the training draws (their states go into checkpoints).
    max_grad_norm : float or None
        Gradients whose total norm exceeds it are scaled down to it before each step
        (``None``: never).
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        learning_rate: float,
        ema_decay: float,
        total: int,
        check_every: int,
        verbose: int,
        name: str,
        tol: float = 0.0,
        n_iter_no_change: int = 1,
        what: str = "training",
        checkpoint: Checkpoint | None = None,
        generators: tuple = (),
        max_grad_norm: float | None = None,
    ):
        self.module = module
        self.max_grad_norm = max_grad_norm
        self.checkpoint = checkpoint
        self.generators = list(generators)  # the training draws' RNGs, for checkpoints
        self.n_runs = 0
        self.opt = torch.optim.Adam(module.parameters(), lr=float(learning_rate))
        self.ema_decay = float(ema_decay)
        self.ema = copy.deepcopy(module).requires_grad_(False) if self.ema_decay > 0 else module
        self.check_every = int(check_every)
        self.tol, self.n_iter_no_change = float(tol), int(n_iter_no_change)
        self.what = what
        self.progress = Progress(int(total), int(verbose), name)
        self.it = 0
        self.history: list[dict] = []
        self.loss_sum, self.loss_n = 0.0, 0
        self.best_val, self.best_state, self.no_improve = math.inf, None, 0
        self.stopped_early = False
        self.t_start = time.perf_counter()
        self.monitor_s = 0.0  # seconds spent on checks (monitoring), recorded in history
        # what the trainer's owner adds to every checkpoint (updated in place), and what a
        # resumed checkpoint held of it
        self.extra_state: dict = {}
        self.restored_extra: dict = {}

    # ------------------------------------------------------------------ steps
    def update(self, loss: torch.Tensor):
        """One Adam step on ``loss`` and the EMA; a non-finite loss raises TrainingError."""
        value = distributed.mean_value(loss)
        if not math.isfinite(value):  # in a data-parallel fit every process raises
            raise TrainingError(
                f"non-finite {self.what} loss at iteration {self.it + 1}; the model was left "
                "as it was before this fit. Try a smaller learning_rate, or check the data "
                "scale."
            )
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.module.parameters())
        if self.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.max_grad_norm)
        self.opt.step()
        if self.ema is not self.module:
            with torch.no_grad():
                for p_ema, p in zip(self.ema.parameters(), self.module.parameters(), strict=True):
                    p_ema.lerp_(p, 1.0 - self.ema_decay)
        self.loss_sum += value
        self.loss_n += 1

    def claim_run(self) -> int:
        """The index of a new run of this fit (:meth:`run` claims one; an owner's own loop
        that saves checkpoints claims one too)."""
        run_index, self.n_runs = self.n_runs, self.n_runs + 1
        return run_index

    # ------------------------------------------------------------- monitoring
    def timed(self, monitor: Callable[[], dict]) -> dict:
        """``monitor()``, its seconds added to ``monitor_time``."""
        t0 = time.perf_counter()
        out = monitor()
        self.monitor_s += time.perf_counter() - t0
        return out

    def record(self, phase: str, **extra) -> dict:
        """Append a ``history`` entry (the mean loss since the last one, and ``extra``)."""
        entry = {
            "iteration": self.it,
            "time": time.perf_counter() - self.t_start,
            "phase": phase,
            "loss": self.loss_sum / max(self.loss_n, 1),
            "monitor_time": self.monitor_s,
        }
        entry.update(extra)
        self.history.append(entry)
        self.loss_sum, self.loss_n = 0.0, 0
        return entry

    def run(
        self,
        n_iters: int,
        step: Callable[[], None],
        *,
        phase: str,
        monitor: Callable[[], dict],
        key: str,
        early_stopping: bool = False,
    ):
        """``n_iters`` calls of ``step`` (each calls :meth:`update`), a check every
        ``check_every`` iterations and after the last: ``monitor()`` is recorded, and its
        ``key`` drives early stopping (lower is better)."""
        run_index = self.claim_run()
        done = 0 if self.checkpoint is None else self.checkpoint.restore(self, run_index)
        if done is None:  # resumed from a checkpoint saved in a later run
            return
        if done:
            self.progress.update(done, {"phase": phase, "resumed at": self.it})
        while done < n_iters and not self.stopped_early:
            step()
            self.it += 1
            done += 1
            if self.it % self.check_every == 0 or done == n_iters:
                entry = self.record(phase, **self.timed(monitor))
                val = entry[key]
                self.progress.update(
                    self.check_every, {"phase": phase, "loss": entry["loss"], key: val}
                )
                if early_stopping:
                    self._early_stopping_check(val)
                if self.checkpoint is not None:
                    self.checkpoint.save(self, run_index, done)
        if early_stopping and self.best_state is not None:
            self.ema.load_state_dict(self.best_state)
            self.module.load_state_dict(self.best_state)

    def _early_stopping_check(self, val: float):
        self.no_improve = 0 if val < self.best_val - self.tol else self.no_improve + 1
        if val < self.best_val:
            self.best_val = val
            self.best_state = copy.deepcopy(self.ema.state_dict())
        if self.no_improve >= self.n_iter_no_change:
            self.stopped_early = True

    def close(self):
        self.progress.close()
