"""Encoder and decoder networks sized from the input shape.

``ARCHS[name](shape, latent_dim, out_dim)`` returns ``(encoder, decoder)``: the encoder maps
``(B, C, H, W)`` to ``(B, out_dim)`` features, the decoder maps ``(B, latent_dim)`` to raw
``(B, C, H, W)`` outputs whose meaning (logits or means) the likelihood decides.
"""

from __future__ import annotations

import math

import torch
from torch import nn

Shape = tuple[int, int, int]


def _halvings(size: int) -> list[int]:
    """Spatial sizes after each stride-2 stage: halve while the result stays at least 4 (at most 4 stages)."""
    sizes = [size]
    while len(sizes) <= 4 and sizes[-1] // 2 >= 4:
        sizes.append(sizes[-1] // 2)
    return sizes


class ConvDecoder(nn.Module):
    def __init__(self, shape: Shape, latent_dim: int, channels: list[int], sizes: list[int]):
        super().__init__()
        c, _, _ = shape
        self.start = (channels[-1], sizes[-1], sizes[-1])
        self.fc = nn.Linear(latent_dim, math.prod(self.start))
        layers: list[nn.Module] = []
        outs = channels[-2::-1] + [c]
        for i, (c_in, c_out) in enumerate(zip(channels[::-1], outs)):
            # output_padding makes each stage land exactly on the encoder's size (odd sizes too)
            pad = sizes[-2 - i] - 2 * sizes[-1 - i]
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, output_padding=pad))
            if c_out != c:
                layers.append(nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.leaky_relu(self.fc(z), 0.2)
        return self.net(h.view(-1, *self.start))


def conv(shape: Shape, latent_dim: int, out_dim: int) -> tuple[nn.Module, nn.Module]:
    """Stride-2 convolutions down to about 7x7, one linear layer each side (LeakyReLU)."""
    c, h, w = shape
    sizes = _halvings(min(h, w))
    if h != w:
        raise ValueError(f"conv networks need square images, got {h}x{w}")
    channels = [32, 64, 128, 256][: len(sizes) - 1]
    enc: list[nn.Module] = []
    for c_in, c_out in zip([c] + channels[:-1], channels):
        enc += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    enc += [nn.Flatten(), nn.Linear(channels[-1] * sizes[-1] ** 2, out_dim)]
    return nn.Sequential(*enc), ConvDecoder(shape, latent_dim, channels, sizes)


def mlp(shape: Shape, latent_dim: int, out_dim: int, hidden: tuple[int, ...] = (500, 500)) -> tuple[nn.Module, nn.Module]:
    """The reference article's fully connected shape: D-500-500-latent and back (softplus)."""
    d = math.prod(shape)
    enc: list[nn.Module] = [nn.Flatten()]
    for a, b in zip((d,) + hidden, hidden):
        enc += [nn.Linear(a, b), nn.Softplus()]
    enc.append(nn.Linear(hidden[-1], out_dim))
    dec: list[nn.Module] = []
    for a, b in zip((latent_dim,) + hidden[::-1], hidden[::-1]):
        dec += [nn.Linear(a, b), nn.Softplus()]
    dec += [nn.Linear(hidden[0], d), nn.Unflatten(1, shape)]
    return nn.Sequential(*enc), nn.Sequential(*dec)


def linear(shape: Shape, latent_dim: int, out_dim: int) -> tuple[nn.Module, nn.Module]:
    """One linear map each way, no bias: the network form of the truncated SVD."""
    d = math.prod(shape)
    return (
        nn.Sequential(nn.Flatten(), nn.Linear(d, out_dim, bias=False)),
        nn.Sequential(nn.Linear(latent_dim, d, bias=False), nn.Unflatten(1, shape)),
    )


ARCHS = {"conv": conv, "mlp": mlp, "linear": linear}
