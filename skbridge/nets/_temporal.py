"""A time-conditioned temporal convolution network for sequence events."""

from __future__ import annotations

from torch import Tensor, nn

from ._mlp import TimeEmbedding

__all__ = ["TemporalConvNet"]


class _Block(nn.Module):
    """Residual block: SiLU, dilated 3-tap convolution, SiLU, 1×1 convolution, with the time
    embedding added as a per-channel bias before the dilated convolution."""

    def __init__(self, width: int, dilation: int, emb_dim: int):
        super().__init__()
        self.time = nn.Linear(emb_dim, width)
        self.conv = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(width, width, 1)
        self.act = nn.SiLU()

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        r = self.act(h + self.time(emb)[:, :, None])
        r = self.mix(self.act(self.conv(r)))
        return h + r


class TemporalConvNet(nn.Module):
    """``(t, x) -> R^{L·C}`` for flat time-major sequence vectors of shape ``(L, C)``.

    Residual blocks of dilated 3-tap convolutions with dilations 1, 2, 4, …, as many as it
    takes for every output to see every input: the reach either side, :math:`\\sum_b 2^b`,
    is at least ``L - 1`` (and there are at least two blocks). The time embedding is added
    in every block. Convolutions make the
    network translation-equivariant in time, and it has as many weights whatever ``L``.

    ``zero_init=True`` zeroes the output layer, so the network starts as the zero function.
    """

    def __init__(
        self,
        event_shape: tuple[int, int],
        width: int = 128,
        *,
        time_dim: int = 16,
        T: float = 1.0,
        zero_init: bool = False,
    ):
        super().__init__()
        self.length, self.channels = (int(s) for s in event_shape)
        self.embed = TimeEmbedding(time_dim, T)
        emb_dim = 4 * time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, emb_dim), nn.SiLU())
        self.inp = nn.Conv1d(self.channels, width, 1)
        blocks, reach, dilation = [], 0, 1
        while reach < self.length - 1 or len(blocks) < 2:
            blocks.append(_Block(width, dilation, emb_dim))
            reach += dilation
            dilation *= 2
        self.blocks = nn.ModuleList(blocks)
        self.reach = reach  # every output sees the inputs up to `reach` steps either side
        self.out = nn.Conv1d(width, self.channels, 1)
        self.act = nn.SiLU()
        if zero_init:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, t: Tensor, x: Tensor) -> Tensor:
        n = x.shape[0]
        seq = x.reshape(n, self.length, self.channels).transpose(1, 2)
        emb = self.time_mlp(self.embed(t, n).to(x.dtype))
        h = self.inp(seq)
        for block in self.blocks:
            h = block(h, emb)
        out = self.out(self.act(h))
        return out.transpose(1, 2).reshape(x.shape)
