"""Data-parallel training of one model over several processes (``torch.distributed``).

Launch the same script on every process with ``torchrun`` and fit inside
:func:`data_parallel`::

    # fit.py, run as: torchrun --nproc_per_node 2 fit.py
    from skbridge import ScoreSDE, distributed

    with distributed.data_parallel():
        model = ScoreSDE(batch_size=64, random_state=0).fit(X)
    if distributed.rank() == 0:
        skbridge.save(model, "model.skb")

Every process reads the same ``X`` and builds the same initial networks (the same
``random_state``); each trains on its own share of the training rows (every
``world_size``-th row) with its own mini-batch draws of ``batch_size`` rows, and the
gradients are averaged over the processes before every optimiser step, so the weights stay
identical on every process. One optimiser step sees ``world_size * batch_size`` rows: the
global batch. The held-out checks, early stopping and SBVAE's encoder interruption see the
same rows on every process and take the same decisions. Every process ends with the same
fitted model; rank 0 is the one to save it (``history_`` is the same on every rank, except
the training-row monitor of ``monitor_train``, which each rank computes on its own share).

On CPUs the processes talk over ``gloo``; with ``device="cuda"`` (or ``"auto"`` on a machine
with GPUs) over ``nccl``, each process on the GPU of its ``LOCAL_RANK``.
"""

from __future__ import annotations

import contextlib
import os

import torch

__all__ = ["data_parallel", "is_active", "rank", "world_size"]

_ACTIVE = False


def is_active() -> bool:
    """Whether fits are data-parallel here (inside :func:`data_parallel`, more than one
    process)."""
    return _ACTIVE


def rank() -> int:
    """This process's rank (0 without a process group)."""
    dist = torch.distributed
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """The number of processes (1 without a process group)."""
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


@contextlib.contextmanager
def data_parallel(backend: str | None = None):
    """Fit data-parallel across the processes of a ``torch.distributed`` job.

    A process group is created from ``torchrun``'s environment (``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``, ``MASTER_PORT``) unless one exists, and destroyed on exit if it was
    created here. With one process (or outside ``torchrun``: no ``WORLD_SIZE``) fits run as
    usual.

    Parameters
    ----------
    backend : {"gloo", "nccl"} or None, default=None
        ``nccl`` when CUDA is available, else ``gloo``. With ``nccl`` each process uses the
        GPU numbered by its ``LOCAL_RANK``.
    """
    global _ACTIVE
    dist = torch.distributed
    if not dist.is_available():
        raise RuntimeError("data_parallel needs torch.distributed, which this torch lacks")
    created = False
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            yield  # a single process: nothing to distribute
            return
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
        created = True
    was, _ACTIVE = _ACTIVE, dist.get_world_size() > 1
    try:
        yield
    finally:
        _ACTIVE = was
        if created:
            dist.destroy_process_group()


def shard(n_rows: int) -> slice:
    """The rows of ``n_rows`` this process trains on: every ``world_size``-th from its
    rank (all rows when not data-parallel)."""
    return slice(rank(), None, world_size()) if _ACTIVE else slice(None)


def average(values: torch.Tensor) -> torch.Tensor:
    """``values`` averaged over the processes, in place (unchanged when not data-parallel)."""
    if _ACTIVE:
        torch.distributed.all_reduce(values)
        values /= world_size()
    return values


def mean_value(loss: torch.Tensor) -> float:
    """``loss``'s value as a float, averaged over the processes when data-parallel (so
    that every process takes the same decision on it)."""
    if not _ACTIVE:
        return float(loss.detach())
    return float(average(loss.detach().double().reshape(1).clone()))


def average_gradients(parameters) -> None:
    """Average the gradients of ``parameters`` over the processes (one flat all-reduce)."""
    if not _ACTIVE:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    average(flat)
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()
