r"""Divergence :math:`\nabla\cdot F(x) = \sum_j \partial F_j / \partial x_j`: exact and Hutchinson."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "exact_divergence",
    "hutchinson_divergence",
    "divergence",
    "uses_exact_divergence",
    "DIVERGENCES",
]

DIVERGENCES = ("auto", "exact", "hutchinson")
EXACT_MAX_DIM = 16  # "auto" uses the exact divergence up to this many dimensions


def exact_divergence(fn: Callable[[Tensor], Tensor], x: Tensor, *, create_graph: bool = False):
    r"""Exact divergence by ``d`` vector–Jacobian products (one per coordinate).

    .. math:: \nabla\cdot F(x) = \sum_{j=1}^d e_j^\top \frac{\partial F}{\partial x}(x)\, e_j .

    Returns ``(F(x), div)`` with ``div`` of shape ``(n,)``. The ``d`` products run as one
    batched backward pass (``is_grads_batched``, vectorised by ``torch.vmap``); a network
    whose backward cannot be vectorised falls back to ``d`` separate passes.
    """
    with torch.enable_grad():
        x = x if x.requires_grad else x.detach().requires_grad_(True)
        out = fn(x)
        n, d = out.shape[0], out[0].numel()
        eye = torch.eye(d, dtype=out.dtype, device=out.device)
        probes = eye[:, None, :].expand(d, n, d).reshape(d, *out.shape)
        try:
            (grads,) = torch.autograd.grad(
                out,
                x,
                probes,
                create_graph=create_graph,
                retain_graph=True,
                is_grads_batched=True,
            )
            div = torch.einsum("jnj->n", grads.reshape(d, n, d))
        except RuntimeError:  # pragma: no cover - an op without a batching rule
            flat_out = out.reshape(n, -1)
            div = torch.zeros(n, dtype=out.dtype, device=out.device)
            for j in range(d):
                (grad,) = torch.autograd.grad(
                    flat_out[:, j].sum(), x, create_graph=create_graph, retain_graph=True
                )
                div = div + grad.reshape(n, -1)[:, j]
    return out, div


def hutchinson_divergence(
    fn: Callable[[Tensor], Tensor],
    x: Tensor,
    *,
    n_probes: int = 1,
    generator: torch.Generator | None = None,
    create_graph: bool = False,
    probes: Tensor | None = None,
):
    r"""Unbiased Hutchinson estimate with Rademacher probes :math:`v`, :math:`E[vv^\top] = I`.

    .. math:: \nabla\cdot F(x) = \mathbb E_v\big[v^\top \tfrac{\partial F}{\partial x}(x)\, v\big].

    Returns ``(F(x), div_estimate)``. Cost: ``n_probes`` backward passes. The probes are
    drawn from ``generator`` unless given as ``probes`` of shape ``(n_probes, *x.shape)``
    (e.g. drawn per row from a hash of the row, so that a row's estimate does not depend
    on the rows evaluated with it).
    """
    if probes is not None:
        n_probes = probes.shape[0]
    with torch.enable_grad():
        x = x if x.requires_grad else x.detach().requires_grad_(True)
        out = fn(x)
        div = torch.zeros(x.shape[0], dtype=out.dtype, device=out.device)
        for j in range(n_probes):
            if probes is None:
                v = torch.randint(0, 2, x.shape, generator=generator, device=x.device)
                v = v.to(x.dtype) * 2 - 1
            else:
                v = probes[j].to(x.dtype)
            (vjp,) = torch.autograd.grad(out, x, v, create_graph=create_graph, retain_graph=True)
            div = div + (vjp * v).reshape(x.shape[0], -1).sum(-1)
    return out, div / n_probes


def uses_exact_divergence(method: str, d: int) -> bool:
    """Whether :func:`divergence` with ``method`` takes the exact divergence in ``d``
    event dimensions (``"auto"``: up to ``EXACT_MAX_DIM``)."""
    if method not in DIVERGENCES:
        raise ValueError(f"unknown divergence method {method!r}; valid: {DIVERGENCES}")
    return method == "exact" or (method == "auto" and d <= EXACT_MAX_DIM)


def divergence(
    fn, x, *, method="auto", n_probes=1, generator=None, create_graph=False, probes=None
):
    """Dispatch to :func:`exact_divergence` or :func:`hutchinson_divergence`.

    ``method="auto"`` is exact up to ``EXACT_MAX_DIM`` event dimensions, Hutchinson above
    (with the given ``probes``, else ``n_probes`` drawn from ``generator``).
    """
    if uses_exact_divergence(method, x[0].numel()):
        return exact_divergence(fn, x, create_graph=create_graph)
    return hutchinson_divergence(
        fn, x, n_probes=n_probes, generator=generator, create_graph=create_graph, probes=probes
    )
