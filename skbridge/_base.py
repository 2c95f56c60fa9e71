"""Shared estimator plumbing: devices, seeds, progress, pickling, the training-failure error."""

from __future__ import annotations

import copy
import inspect
import math
import sys
import time

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = [
    "resolve_device",
    "torch_generator",
    "seed_from",
    "Progress",
    "TrainingError",
    "EncoderNotKeptWarning",
    "TorchStateMixin",
]


def optional_import(module: str, extra: str, needed_for: str):
    """Import an optional dependency, or say which ``pip install`` brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        package = module.split(".")[0]
        raise ImportError(
            f"{needed_for} needs {package}: pip install 'skbridge[{extra}]' "
            f"(or pip install {package})."
        ) from exc


class TrainingError(ValueError):
    """Training failed, or produced a model that cannot be used.

    Raised by ``fit`` when the loss is not finite or explodes (the estimator's previous state
    is untouched), and by ``sample`` when the sampler of a fit far from convergence diverges
    (a sample is not finite).
    """


class EncoderNotKeptWarning(UserWarning):
    """An SBVAE's learned encoder did not beat the reference SDE, which was restored: the fit
    finished as a ScoreSDE (``encoder_kept_`` is False)."""


def resolve_device(device) -> torch.device:
    """``"auto"`` is CUDA when available, else the CPU; anything else goes to ``torch.device``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but CUDA is not available here")
    return dev


def seed_from(random_state) -> int:
    """An int seed drawn from ``check_random_state(random_state)``."""
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def torch_generator(seed: int, device: torch.device) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (never the global RNG)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def _clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour), ``?`` for an unknown time."""
    if not math.isfinite(seconds):
        return "?"
    m, sec = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class Progress:
    """Optional progress report: a tqdm bar when tqdm is installed, else plain lines.

    Never stored on the estimator, so it is never pickled.
    """

    def __init__(self, total: int, verbose: int, desc: str):
        self.verbose = verbose
        self.total, self.desc, self.n = int(total), desc, 0
        self.start = time.perf_counter()
        self.bar = None
        if verbose >= 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # pragma: no cover - depends on the environment
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=self.total, desc=desc, leave=False, file=sys.stderr)

    def update(self, n: int, info: dict):
        if self.verbose < 1:
            return
        self.n = min(self.n + int(n), self.total)
        text = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in info.items()
        )
        if self.bar is not None:
            self.bar.update(self.n - self.bar.n)
            # tqdm redraws at most every 0.1 s; the last update redraws, so a fit shorter
            # than that still shows its losses
            self.bar.set_postfix_str(text, refresh=self.n >= self.total)
        else:  # tqdm's bar shows the elapsed and remaining time; so do the plain lines
            print(f"{self.desc}: {self.n}/{self.total} [{self._times()}] {text}", file=sys.stderr)

    def _times(self) -> str:
        """``elapsed<remaining``, as tqdm writes them, the remaining time at the mean rate
        so far (a run that stops early, e.g. at a plateau, takes less)."""
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.n * (self.total - self.n) if self.n else float("nan")
        return f"{_clock(elapsed)}<{_clock(left)}"

    def close(self):
        """End the report; a run that stopped short of ``total`` (early stopping, an encoder
        kept) completes the bar."""
        if self.bar is not None:
            self.bar.update(self.total - self.bar.n)
            self.bar.close()


class TorchStateMixin:
    """Pickling that moves every torch module/tensor attribute to the CPU.

    A model fitted on a GPU unpickles on a CPU-only machine; on load, modules go to the
    device that ``device`` resolves to there (the CPU when CUDA is absent).
    """

    _torch_attributes: tuple[str, ...] = ()

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else dict(self.__dict__)
        state = dict(state)
        for name in self._torch_attributes:
            obj = state.get(name)
            if obj is not None:
                state[name] = copy.deepcopy(obj).to("cpu")
        state.pop("device_", None)
        return state

    def __setstate__(self, state):
        # a model pickled by an earlier skbridge lacks the parameters added since (e.g.
        # corrector_snr): they get their defaults, so get_params, clone and sample work
        state = dict(state)
        for name, p in inspect.signature(type(self).__init__).parameters.items():
            if p.default is not inspect.Parameter.empty:
                state.setdefault(name, p.default)
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:  # pragma: no cover
            self.__dict__.update(state)
        if any(getattr(self, n, None) is not None for n in self._torch_attributes):
            try:
                dev = resolve_device(self.device)
            except ValueError:
                dev = torch.device("cpu")
            for name in self._torch_attributes:
                obj = getattr(self, name, None)
                if obj is not None:
                    setattr(self, name, obj.to(dev))
            self.device_ = dev


def as_numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float64).numpy()
