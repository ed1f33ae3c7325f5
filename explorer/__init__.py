"""Latent Explorer: train autoencoders on small images and explore their latent space."""

__version__ = "0.1.0"
