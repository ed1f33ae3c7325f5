"""Autoencoders behind one interface: encode to a mean (and a log-variance), decode, loss terms, sample.

``build_model(config)`` makes any of them from a plain dict, the form a bundle stores, through the
``MODELS`` registry. Images are float tensors ``(B, C, H, W)`` in [0, 1].
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from explorer.likelihoods import LIKELIHOODS
from explorer.nets import ARCHS


class LatentModel(nn.Module):
    """Base of every model: an encoder, a decoder, a likelihood and a distribution to sample codes from.

    ``prior_mean`` / ``prior_std`` are the code distribution ``sample`` draws from: the standard
    normal prior for a VAE, a normal fitted to the training codes for the others.
    """

    kind = "base"
    stochastic = False  # True when encode gives a posterior (mu, logvar)

    def __init__(self, input_shape, latent_dim: int = 20, arch: str = "conv", likelihood: str = "bernoulli"):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}")
        if latent_dim < 1:
            raise ValueError(f"latent size must be at least 1, got {latent_dim}")
        self.input_shape = tuple(int(s) for s in input_shape)
        self.latent_dim = int(latent_dim)
        self.arch = arch
        self.likelihood = LIKELIHOODS[likelihood]()
        out = 2 * latent_dim if self.stochastic else latent_dim
        self.encoder, self.decoder = ARCHS[arch](self.input_shape, self.latent_dim, out)
        self.register_buffer("prior_mean", torch.zeros(latent_dim))
        self.register_buffer("prior_std", torch.ones(latent_dim))

    # -- configuration ---------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "input_shape": list(self.input_shape), "latent_dim": self.latent_dim,
            "arch": self.arch, "likelihood": self.likelihood.name,
        }

    # -- the maths -------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Code mean and, for a VAE, log-variance of q(z | x)."""
        return self.encoder(x), None

    def decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The mean image of p(x | z), clipped to [0, 1]."""
        return self.likelihood.mean(self.decode_raw(z)).clamp(0, 1)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[0])

    def loss_terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Batch means of the named loss terms; ``loss`` is the one minimised."""
        z, _ = self.encode(x)
        recon = -self.likelihood.log_prob(x, self.decode_raw(z)).mean()
        return {"loss": recon, "recon": recon}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images decoded from codes drawn from the model's code distribution."""
        eps = torch.randn(n, self.latent_dim, generator=generator, device=self.prior_mean.device)
        return self.decode(self.prior_mean + self.prior_std * eps)

    @torch.no_grad()
    def fit_code_distribution(self, codes: torch.Tensor) -> None:
        """Fit the sampling distribution to training codes (models without a prior of their own)."""
        self.prior_mean.copy_(codes.mean(0))
        self.prior_std.copy_(codes.std(0).clamp_min(1e-6))


class Autoencoder(LatentModel):
    """The plain autoencoder: minimises the reconstruction negative log-likelihood."""

    kind = "ae"


class DenoisingAutoencoder(LatentModel):
    """Reconstructs clean images from corrupted ones (Vincent et al., 2008)."""

    kind = "dae"
    CORRUPTIONS = ("gaussian", "mask", "salt-pepper")

    def __init__(self, input_shape, latent_dim: int = 20, arch: str = "conv", likelihood: str = "bernoulli",
                 corruption: str = "gaussian", noise: float = 0.2):
        if corruption not in self.CORRUPTIONS:
            raise ValueError(f"unknown corruption {corruption!r}; choose one of {', '.join(self.CORRUPTIONS)}")
        if not 0 <= noise <= 1:
            raise ValueError(f"corruption amount must lie in [0, 1], got {noise}")
        super().__init__(input_shape, latent_dim, arch, likelihood)
        self.corruption, self.noise = corruption, float(noise)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "corruption": self.corruption, "noise": self.noise}

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        u = torch.rand(x.shape, generator=generator, device=x.device)
        if self.corruption == "gaussian":
            eps = torch.randn(x.shape, generator=generator, device=x.device)
            return (x + self.noise * eps).clamp(0, 1)
        if self.corruption == "mask":
            return x * (u >= self.noise)
        salt = torch.rand(x.shape, generator=generator, device=x.device) < 0.5
        return torch.where(u < self.noise, salt.to(x.dtype), x)

    def loss_terms(self, x, generator=None):
        z, _ = self.encode(self.corrupt(x, generator))
        recon = -self.likelihood.log_prob(x, self.decode_raw(z)).mean()
        return {"loss": recon, "recon": recon}


class VAE(LatentModel):
    """Variational autoencoder (Kingma & Welling, 2014) with a KL weight beta (Higgins et al., 2017)."""

    kind = "vae"
    stochastic = True

    def __init__(self, input_shape, latent_dim: int = 20, arch: str = "conv", likelihood: str = "bernoulli",
                 beta: float = 1.0):
        if beta < 0:
            raise ValueError(f"beta cannot be negative, got {beta}")
        super().__init__(input_shape, latent_dim, arch, likelihood)
        self.beta = float(beta)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "beta": self.beta}

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-15.0, 10.0)

    @staticmethod
    def reparameterize(mu, logvar, generator=None):
        eps = torch.randn(mu.shape, generator=generator, device=mu.device)
        return mu + (0.5 * logvar).exp() * eps

    @staticmethod
    def kl_to_prior(mu, logvar):
        """KL(q(z|x) || N(0, I)) per image and dimension (Kingma & Welling, 2014, appendix B)."""
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)

    def loss_terms(self, x, generator=None):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        recon = -self.likelihood.log_prob(x, self.decode_raw(z)).mean()
        kl = self.kl_to_prior(mu, logvar).sum(1).mean()
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl}

    @torch.no_grad()
    def log_likelihood(self, x: torch.Tensor, k: int = 100, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per image: the ELBO (one-sample-free: analytic KL, k-sample mean reconstruction) and the
        importance-weighted estimate of log p(x) with k samples (Burda et al., 2016)."""
        mu, logvar = self.encode(x)
        std = (0.5 * logvar).exp()
        log_w = []
        recon = torch.zeros(len(x), device=x.device)
        for _ in range(k):
            eps = torch.randn(mu.shape, generator=generator, device=x.device)
            z = mu + std * eps
            log_px = self.likelihood.log_prob(x, self.decode_raw(z))
            log_pz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(1)
            log_qz = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi)).sum(1)
            log_w.append(log_px + log_pz - log_qz)
            recon += log_px
        elbo = recon / k - self.kl_to_prior(mu, logvar).sum(1)
        iwae = torch.logsumexp(torch.stack(log_w), 0) - math.log(k)
        return elbo, iwae


def _svd(**config):
    from explorer.svd import TruncatedSVDModel

    return TruncatedSVDModel(**config)


MODELS = {"vae": VAE, "ae": Autoencoder, "dae": DenoisingAutoencoder, "svd": _svd}


def build_model(config: dict[str, Any]) -> LatentModel:
    """A fresh model from the dict that ``model.config()`` returns."""
    config = dict(config)
    kind = config.pop("kind")
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(MODELS)}")
    return MODELS[kind](**config)
