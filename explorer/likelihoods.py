"""Decoder likelihoods p(x | z) over pixels in [0, 1].

Each turns the decoder's raw output into a per-image log-probability and a mean image:
- ``bernoulli``: the reference article's choice, binary cross-entropy on [0, 1] pixels. Not a
  normalised density for non-binary pixels, so its log p(x) is not comparable to the others.
- ``continuous-bernoulli``: the normalised version for [0, 1] data (Loaiza-Ganem & Cunningham, 2019).
- ``gaussian``: a normal density around the decoded mean with one learned scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import ContinuousBernoulli, Normal


class Bernoulli(nn.Module):
    name = "bernoulli"

    def log_prob(self, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        return -F.binary_cross_entropy_with_logits(raw, x, reduction="none").flatten(1).sum(1)

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(raw)


class ContinuousBernoulliLikelihood(nn.Module):
    name = "continuous-bernoulli"

    def log_prob(self, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        return ContinuousBernoulli(logits=raw).log_prob(x).flatten(1).sum(1)

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        return ContinuousBernoulli(logits=raw).mean


class Gaussian(nn.Module):
    name = "gaussian"

    def __init__(self) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(-2.0))  # one learned pixel noise scale, starts at 0.135

    def log_prob(self, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        return Normal(raw, self.log_scale.exp()).log_prob(x).flatten(1).sum(1)

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        return raw


LIKELIHOODS: dict[str, type[nn.Module]] = {
    "bernoulli": Bernoulli,
    "continuous-bernoulli": ContinuousBernoulliLikelihood,
    "gaussian": Gaussian,
}
