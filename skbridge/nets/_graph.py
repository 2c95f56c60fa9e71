r"""A permutation-equivariant, time-conditioned drift network for graph model vectors.

The flat vector of one graph (see :class:`~skbridge.data.GraphCodec`) is a node block ``X``
of shape ``(N, F)``, row-major, followed by the strict upper triangle of the adjacency,
row-major (``N(N-1)/2`` entries). :class:`GraphDriftNet` reads it as node features ``h_i``
(a linear map of ``X``'s rows) and edge features ``e_ij`` (a linear map of the adjacency
value), and stacks residual message-passing layers

.. math::

    h_i &\leftarrow h_i + \mathrm{MLP}\big([h_i,\ \textstyle\sum_j A_{ij} h_j / s,\
        \mathrm{mean}_j\, h_j,\ \textstyle\sum_{j \ne i} e_{ij} / N]\big)
        \quad (\text{plus } W\tau(t) \text{ in the hidden layer}) \\
    e_{ij} &\leftarrow e_{ij} + W_2\, \mathrm{SiLU}\big(W_1 e_{ij}
        + (a_i + a_j) \odot (b_i + b_j)\big),
        \quad a = U h + W'\tau(t) + c,\ b = V h + c'

where ``A`` is the (noisy) input adjacency, symmetrised with a zero diagonal,
:math:`\tau(t)` a time embedding and ``s`` the adjacency scale: ``N``, the number of node
positions, unless set (``adjacency_scale``; :class:`~skbridge.DiscreteDiffusion` sets it to
four times the largest training degree for sparse graphs). The edge pre-activation is a
quadratic form in the pair's node features: it holds sum terms :math:`h_i + h_j`, the
symmetric products
:math:`U h_i \odot V h_j + U h_j \odot V h_i` and the time, like an MLP on
``[e_ij, h_i + h_j, h_i * h_j, t]``, at the cost of one gather. The edge update is symmetric
in ``(i, j)`` by construction, so edge features are kept for the pairs ``i < j`` only and the
edge output needs no symmetrisation. Outputs are linear maps of ``SiLU(h)`` (``F`` per node)
and ``SiLU(e)`` (1 per pair).

The input features hold, besides ``X`` and the adjacency, its powers (``adjacency_powers``,
default 2: ``A^2 / s``, common-neighbour counts, as GDSS feeds its adjacency network): entry
``(i, j)`` for each pair and the diagonal (the degree for ``A``) for each node, and its
**leading eigenpairs** (``spectral``, default 3): with :math:`A = \sum_m \lambda_m u_m
u_m^\top` (``torch.linalg.eigh`` of the noisy adjacency) and the ``m`` largest eigenvalues,
the projector entries :math:`N u_m(i) u_m(j)` for each pair, and :math:`N u_m(i)^2` and
:math:`\lambda_m / s` for each node. Projectors do not depend on the sign of the eigenvectors,
so the features are permutation-equivariant whenever the eigenvalues are distinct (almost
surely for a noisy input). They are what lets the network see global structure that message
passing from near-constant node features cannot: the two communities of Community-small are
the sign pattern of the second eigenvector, invisible to walk counts from each node. In a
supervised denoising check (permuted Community-small graphs, mean squared error on edges
against the dequantised clean value) three eigenpairs lowered the error at signal level 0.8
from 0.177 to 0.168 and at 0.9 from 0.108 to 0.100 (knowing the node count alone: 0.184 /
0.120; knowing the communities: 0.126 / 0.086); in development runs of the graph benchmark
(ScoreSDE, 10000 iterations, 3 draws) the clustering MMD² fell from 0.31 to 0.10 and the
orbit MMD² from 0.17 to 0.03 (benchmarks/README.md). The eigendecomposition's backward is damped where two eigenvalues
nearly coincide (:class:`_Eigh`), so input gradients (SB-VAE's encoder paths, the divergence
in FlowMatching's scores) stay finite. Earlier tries that did not close the gap: five powers,
deflated power-iteration projectors, width 128 with 4 layers, attention between nodes.

On CPU the pairs dominate the cost (``N(N-1)/2`` of them per graph, against ``N`` nodes), so
the edge width is a quarter of the node width, edge tensors are laid out pair-major and
node features are gathered to pairs with products by the pair-node incidence matrix, faster
than indexing on CPU, backward included (up to 64 nodes; index gathers beyond, where the
dense incidence grows as ``N^3``). Community-small (``N = 20``, 190 pairs), width 64, batch
256: about 7 training iterations per second on one CPU thread of a shared machine; the
eigendecomposition adds 15–20% (146–159 against 125–133 ms per step, 2026-12-01). Without
autograd (sampling) the pair products of the edge update are computed node by node, without
full-size sums, and the activation in place, which saves memory traffic on large batches of
larger graphs (``benchmarks/graph_speed.py`` times sampling).

Every operation is a per-node or per-pair map, a sum over nodes or a product with the
adjacency, so permuting the node positions of the input permutes the output the same way.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

from ._mlp import TimeEmbedding

__all__ = ["GraphDriftNet"]


_DENSE_INCIDENCE_MAX_NODES = 64  # up to here, pair <-> node sums are incidence products


@functools.lru_cache
def _pair_starts(n_nodes: int) -> tuple[int, ...]:
    """The pairs ``(i, j > i)`` of node ``i`` are rows ``starts[i]:starts[i + 1]``."""
    return tuple(i * (2 * n_nodes - i - 1) // 2 for i in range(n_nodes + 1))


class _Pairs:
    """Sums between node-major ``(N, k)`` and pair-major ``(pairs, k)`` tensors: the
    incidence-matrix product (fast on CPU, backward included) for small ``N``, index
    gathers and scatters for large ``N`` (the dense incidence has ``N^2 (N-1)/2`` entries)."""

    def __init__(self, net, dtype):
        self.inc = None if net.inc is None else net.inc.to(dtype)
        self.iu, self.ju, self.n_nodes = net.iu, net.ju, net.n_nodes
        self.starts = _pair_starts(net.n_nodes)

    def end_products(self, a, b):
        """``(a_i + a_j) * (b_i + b_j)`` for every pair ``(i, j)``. Without autograd it is
        computed node by node into one output (the pairs of node ``i`` with ``j > i`` are
        contiguous), so the two sums never exist at full size."""
        if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad):
            return self.end_sums(a) * self.end_sums(b)
        out = a.new_empty(self.starts[-1], a.shape[1])
        for i in range(self.n_nodes - 1):
            block = out[self.starts[i] : self.starts[i + 1]]
            torch.mul(a[i + 1 :] + a[i], b[i + 1 :] + b[i], out=block)
        return out

    def end_sums(self, x):
        """``x_i + x_j`` for every pair ``(i, j)``."""
        if self.inc is not None:
            return self.inc @ x
        return x.index_select(0, self.iu) + x.index_select(0, self.ju)

    def node_sums(self, y):
        """``sum_{j != i} y_ij`` for every node ``i``."""
        if self.inc is not None:
            return self.inc.T @ y
        out = y.new_zeros(self.n_nodes, y.shape[1])
        return out.index_add(0, self.iu, y).index_add(0, self.ju, y)


class _Eigh(torch.autograd.Function):
    """``torch.linalg.eigh`` whose backward damps near-equal eigenvalues: the factor
    ``1 / (l_j - l_i)`` of the eigenvector gradient becomes ``d / (d^2 + eps)``, so a noisy
    adjacency with two close eigenvalues gives a finite gradient (the network's input
    gradient matters for SB-VAE's encoder paths and FlowMatching's divergence). The
    backward is made of differentiable operations on the saved outputs, so it can be
    differentiated again."""

    EPS = 1e-6

    @staticmethod
    def forward(ctx, A):
        lam, U = torch.linalg.eigh(A)
        ctx.save_for_backward(lam, U)
        return lam, U

    @staticmethod
    def backward(ctx, g_lam, g_U):
        lam, U = ctx.saved_tensors
        d = lam[..., None, :] - lam[..., :, None]  # d[i, j] = l_j - l_i
        F = d / (d * d + _Eigh.EPS)
        inner = torch.diag_embed(g_lam) + F * (U.transpose(-1, -2) @ g_U)
        gA = U @ inner @ U.transpose(-1, -2)
        return 0.5 * (gA + gA.transpose(-1, -2))


class _Layer(nn.Module):
    def __init__(self, width: int, edge_width: int, emb_dim: int):
        super().__init__()
        # node MLP on [h_i, sum_j A_ij h_j / s, mean_j h_j, sum_j e_ij / N, temb]
        self.node_in = nn.Linear(3 * width + edge_width, width)
        self.node_time = nn.Linear(emb_dim, width, bias=False)
        self.node_out = nn.Linear(width, width)
        # edge MLP on e_ij and the pair's node features and time (see the module docstring)
        self.edge_in = nn.Linear(edge_width, edge_width, bias=False)
        self.edge_a = nn.Linear(width, edge_width)
        self.edge_b = nn.Linear(width, edge_width)
        self.edge_time = nn.Linear(emb_dim, edge_width, bias=False)
        self.edge_out = nn.Linear(edge_width, edge_width, bias=False)
        self.act = nn.SiLU()

    def forward(self, h, e, A, emb, pairs, scale):
        """``h`` (n, N, width) node features; ``e`` (pairs, n, edge_width) edge features,
        pair-major; ``pairs`` the :class:`_Pairs` that move features between the two;
        ``scale`` divides the neighbour sums (the net's ``adjacency_scale``)."""
        n, n_nodes, _ = h.shape
        we = e.shape[-1]
        msg = torch.bmm(A, h) / scale
        mean = h.mean(1, keepdim=True).expand_as(h)
        e_agg = pairs.node_sums(e.reshape(e.shape[0], n * we)) / n_nodes  # sum_j e_ij / N
        e_agg = e_agg.reshape(n_nodes, n, we).transpose(0, 1)
        z = self.node_in(torch.cat([h, msg, mean, e_agg], dim=-1))
        z = z + self.node_time(emb)[:, None, :]
        h = h + self.node_out(self.act(z))
        if e.shape[0] == 0:
            return h, e
        # (a_i + a_j) * (b_i + b_j), a = U h + W temb + c, b = V h + c': sums, products and time
        emb_e = self.edge_time(emb)[:, None, :]
        ga = (self.edge_a(h) + emb_e).transpose(0, 1).reshape(n_nodes, n * we)
        gb = self.edge_b(h).transpose(0, 1).reshape(n_nodes, n * we)
        base = pairs.end_products(ga, gb).reshape(-1, we)
        if torch.is_grad_enabled() and (base.requires_grad or e.requires_grad):
            z = nn.functional.silu(torch.addmm(base, e.reshape(-1, we), self.edge_in.weight.T))
            e = torch.addmm(e.reshape(-1, we), z, self.edge_out.weight.T).reshape(e.shape)
            return h, e
        # without autograd, in place: an out-of-place addmm first copies its (pairs * n, we)
        # addend, a fifth of the forward's time on 40-node graphs
        z = nn.functional.silu(base.addmm_(e.reshape(-1, we), self.edge_in.weight.T), inplace=True)
        e = e.reshape(-1, we).addmm_(z, self.edge_out.weight.T).reshape(e.shape)
        return h, e


class GraphDriftNet(nn.Module):
    """``(t, x) -> R^d`` for flat graph vectors: ``N * F`` node coordinates, then the
    ``N(N-1)/2`` upper-triangle adjacency entries (see the module docstring).

    Parameters
    ----------
    n_nodes : int
        ``N``, the number of node positions.
    n_channels : int
        ``F``, the width of a node's block.
    width : int, default=64
        Node feature width.
    n_layers : int, default=3
        Message-passing layers.
    edge_width : int or None, default=None
        Edge feature width; ``None``: ``max(8, width // 4)``.
    adjacency_powers : int, default=2
        Input features from the powers ``A^1 .. A^k`` of the noisy adjacency (scaled by
        ``N^(p-1)``): entry ``(i, j)`` for each pair, the diagonal (degree for ``A^1``) for
        each node. 1: the adjacency and degrees only.
    spectral : int, default=3
        Input features from the ``spectral`` leading eigenpairs of the noisy adjacency (at
        most ``N``): projector entries per pair, projector diagonals and eigenvalues per
        node (see the module docstring). 0 turns them off.
    time_dim : int, default=16
        Sinusoidal time features (:class:`~skbridge.nets.TimeEmbedding`).
    T : float, default=1.0
        Time horizon (scales the time embedding).
    zero_init : bool, default=False
        Zero the output layers, so the network starts as the zero function.
    adjacency_scale : float or None, default=None
        ``s``, what the adjacency's sums are divided by: the neighbour sums of message
        passing, the degrees and powers (``A^p / s^(p-1)``) and the eigenvalues. ``None``:
        ``N``, the number of node positions, which keeps them of order one where nodes link
        to a good share of the positions. For large sparse graphs (a 19 x 19 grid: degree at
        most 4 of 361 positions) ``N`` shrinks a node's neighbourhood to a hundredth; a scale
        of the order of the degree keeps it readable (see
        :class:`~skbridge.DiscreteDiffusion`).
    edge_channels : int, default=1
        Numbers per pair. 1: one adjacency value per pair (the layout above). ``C > 1``:
        ``C`` numbers per pair, pair-major (channel 0 "no edge", channels ``1..C-1`` the edge
        categories, e.g. one-hot or probabilities); the adjacency that message passing,
        powers and eigenpairs read is the pair's edge mass ``1 - channel 0``, every channel
        is an edge input feature, and the output has ``C`` numbers per pair (e.g. logits).
    """

    adjacency_scale = None  # nets pickled before it existed read it from here: N

    def __init__(
        self,
        n_nodes: int,
        n_channels: int,
        width: int = 64,
        *,
        n_layers: int = 3,
        edge_width: int | None = None,
        adjacency_powers: int = 2,
        spectral: int = 3,
        time_dim: int = 16,
        T: float = 1.0,
        zero_init: bool = False,
        edge_channels: int = 1,
        adjacency_scale: float | None = None,
    ):
        super().__init__()
        if adjacency_scale is not None and not float(adjacency_scale) > 0:
            raise ValueError(f"adjacency_scale must be > 0 or None, got {adjacency_scale}")
        self.adjacency_scale = None if adjacency_scale is None else float(adjacency_scale)
        N, F = int(n_nodes), int(n_channels)
        self.edge_channels = C = int(edge_channels)
        if C < 1:
            raise ValueError(f"edge_channels must be >= 1, got {edge_channels}")
        width = int(width)
        edge_width = max(8, width // 4) if edge_width is None else int(edge_width)
        self.n_nodes, self.n_channels = N, F
        self.adjacency_powers = int(adjacency_powers)
        if self.adjacency_powers < 1:
            raise ValueError(f"adjacency_powers must be >= 1, got {adjacency_powers}")
        self.n_pairs = N * (N - 1) // 2
        self.dim = N * F + self.n_pairs * C
        iu, ju = torch.triu_indices(N, N, offset=1)
        self.register_buffer("iu", iu, persistent=False)
        self.register_buffer("ju", ju, persistent=False)
        # entries (i, j) and (j, i) of the flattened N x N adjacency, for pair m = (i, j)
        self.register_buffer("sym_index", torch.cat([iu * N + ju, ju * N + iu]), persistent=False)
        inc = None
        if N <= _DENSE_INCIDENCE_MAX_NODES:
            inc = torch.zeros(self.n_pairs, N)  # inc[m, i] = inc[m, j] = 1 for pair m = (i, j)
            inc[torch.arange(self.n_pairs), iu] = 1.0
            inc[torch.arange(self.n_pairs), ju] = 1.0
        self.register_buffer("inc", inc, persistent=False)

        self.embed = TimeEmbedding(time_dim, T)
        emb_dim = width
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, emb_dim), nn.SiLU())
        k = self.adjacency_powers
        if int(spectral) < 0:
            raise ValueError(f"spectral must be >= 0, got {spectral}")
        self.spectral = m = min(int(spectral), N)
        # X_i, the diagonals of A^1..A^k (scaled), of the m top eigenprojectors and eigenvalues
        self.node_in = nn.Linear(F + k + 2 * m, width)
        # the pair's edge mass, its channels 1..C-1, entries (i, j) of A^1..A^k and of the projectors
        self.edge_in = nn.Linear(k + m + C - 1, edge_width)
        self.layers = nn.ModuleList(_Layer(width, edge_width, emb_dim) for _ in range(n_layers))
        self.node_out = nn.Linear(width, F)
        self.edge_out = nn.Linear(edge_width, C)
        self.act = nn.SiLU()
        if zero_init:
            for lin in (self.node_out, self.edge_out):
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)

    def _scale(self):
        """``s`` (``adjacency_scale``, ``None``: the number of node positions)."""
        return self.n_nodes if self.adjacency_scale is None else self.adjacency_scale

    def _eigenspace_features(self, A, node_feats, entries):
        """The spectral features of an adjacency that may have repeated eigenvalues (a
        one-hot, noise-free input): feature ``m`` is the projector onto the whole eigenspace
        of the ``m``-th largest eigenvalue (eigenvalues within ``1e-6`` of it), which unlike
        a single eigenvector's does not depend on the basis LAPACK picks inside the space,
        so the features stay permutation-equivariant. In float64: float32 ``eigh`` returned
        NaN on some exactly degenerate 0/1 matrices."""
        n, N, m = A.shape[0], self.n_nodes, self.spectral
        lam, U = torch.linalg.eigh(torch.nan_to_num(A.double(), nan=0.0, posinf=0.0, neginf=0.0))
        top = lam[:, -m:]
        # only the eigenvectors of the m top eigenspaces enter (K columns: m unless some
        # eigenvalues repeat; all N for an empty graph)
        K = int((lam >= top[:, :1] - 1e-6).sum(1).max())
        lam, U = lam[:, -K:], U[:, :, -K:]
        same = ((lam[:, None, :] - top[:, :, None]).abs() < 1e-6).double()  # (n, m, K)
        # projectors (n, m, N, N), built by products: gathering eigenvector entries to the
        # N(N-1)/2 pairs first costs N times more memory traffic
        proj = N * (U[:, None] * same[:, :, None, :]) @ U.transpose(1, 2)[:, None]
        node = proj.diagonal(dim1=2, dim2=3).transpose(1, 2)  # (n, N, m): projector diagonals
        pr = proj[:, :, self.iu, self.ju].permute(1, 2, 0)  # (m, pairs, n)
        dtype = A.dtype
        lam_s = (top / self._scale()).to(dtype)
        node_feats = [*node_feats, node.to(dtype), lam_s[:, None, :].expand(n, N, m)]
        return node_feats, [*entries, *pr.to(dtype)]

    def forward(self, t: Tensor, x: Tensor) -> Tensor:
        n = x.shape[0]
        N, F, C = self.n_nodes, self.n_channels, self.edge_channels
        flat = x.reshape(n, -1)
        if flat.shape[1] != self.dim:
            raise ValueError(
                f"expected graph vectors of {self.dim} coordinates ({N} nodes × {F} channels "
                f"+ {self.n_pairs} pairs × {C} channels), got {flat.shape[1]}"
            )
        X = flat[:, : N * F].reshape(n, N, F)
        a, channels = flat[:, N * F :], []
        if C > 1:
            ec = a.reshape(n, self.n_pairs, C)
            a = 1.0 - ec[..., 0]  # edge mass of each pair
            channels = list(ec.permute(2, 1, 0))  # C of (pairs, n)
        A = a.new_zeros(n, N * N).index_copy(1, self.sym_index, torch.cat([a, a], dim=1))
        A = A.reshape(n, N, N)  # symmetric, zero diagonal
        emb = self.time_mlp(self.embed(t, n).to(flat.dtype))
        # powers of the noisy adjacency, A^p / s^(p-1): walk counts between and back to nodes
        # (A^1's diagonal is replaced by the degree, / s), as GDSS feeds its adjacency network
        s = self._scale()
        diags, entries, P = [A.sum(2) / s], [a.T, *channels[1:]], A
        for _ in range(1, self.adjacency_powers):
            P = torch.bmm(P, A) / s
            diags.append(P.diagonal(dim1=1, dim2=2))
            entries.append(P[:, self.iu, self.ju].T)
        node_feats = [X, torch.stack(diags, 2)]
        if self.spectral and C > 1:
            node_feats, entries = self._eigenspace_features(A, node_feats, entries)
        elif self.spectral:
            # ascending eigenvalues; a diverged chain's non-finite entries would make eigh
            # raise, so they are zeroed here and reach the output through the other features
            lam, U = _Eigh.apply(torch.nan_to_num(A, nan=0.0, posinf=0.0, neginf=0.0))
            m = self.spectral
            lam, U = lam[:, -m:], U[:, :, -m:]
            node_feats += [N * U**2, (lam / s)[:, None, :].expand(n, N, m)]
            pr = N * U[:, self.iu, :] * U[:, self.ju, :]  # (n, pairs, m)
            entries += list(pr.permute(2, 1, 0))
        h = self.node_in(torch.cat(node_feats, dim=2))
        e = self.edge_in(torch.stack(entries, 2))  # (pairs, n, edge_width)
        pairs = _Pairs(self, flat.dtype)
        for layer in self.layers:
            h, e = layer(h, e, A, emb, pairs, s)
        out_nodes = self.node_out(self.act(h)).reshape(n, N * F)
        out_edges = self.edge_out(self.act(e)).transpose(0, 1).reshape(n, self.n_pairs * C)
        return torch.cat([out_nodes, out_edges], dim=1).reshape(x.shape)
