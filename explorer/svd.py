"""Truncated SVD: the linear autoencoder of the reference article, behind the model interface.

For data rows x, scikit-learn's ``TruncatedSVD`` gives the top-k right singular vectors W (k x D);
the code is ``z = x W^T`` and the reconstruction ``x' = z W``. It is a one-layer linear
autoencoder with tied weights, so it is stored as one: the encoder's weight is W, the decoder's W^T.
Like the article, it does not centre the data (that would be PCA).
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.autoencoders import LatentModel


class TruncatedSVDModel(LatentModel):
    kind = "svd"
    closed_form = True  # fitted in one step by ``fit_closed_form``, not by gradient descent

    def __init__(self, input_shape, latent_dim: int = 20, arch: str = "linear", likelihood: str = "gaussian"):
        if arch != "linear" or likelihood != "gaussian":
            raise ValueError("the truncated SVD is linear with a Gaussian likelihood")
        super().__init__(input_shape, latent_dim, "linear", "gaussian")

    @torch.no_grad()
    def fit_closed_form(self, x: np.ndarray, seed: int = 0) -> "TruncatedSVDModel":
        from sklearn.decomposition import TruncatedSVD

        flat = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        if self.latent_dim >= flat.shape[1]:
            raise ValueError(f"latent size {self.latent_dim} must be below the pixel count {flat.shape[1]}")
        svd = TruncatedSVD(n_components=self.latent_dim, algorithm="randomized", n_iter=10, random_state=seed)
        codes = svd.fit_transform(flat)
        w = torch.from_numpy(svd.components_.astype(np.float32))  # (k, D), orthonormal rows
        self.encoder[1].weight.copy_(w)
        self.decoder[0].weight.copy_(w.T)
        resid = flat - codes @ svd.components_
        self.likelihood.log_scale.fill_(float(np.log(max(resid.std(), 1e-6))))
        self.fit_code_distribution(torch.from_numpy(codes.astype(np.float32)))
        return self
