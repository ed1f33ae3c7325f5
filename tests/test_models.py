import itertools

import numpy as np
import pytest
import torch

from explorer.autoencoders import VAE, build_model
from explorer.likelihoods import LIKELIHOODS
from explorer.pipeline import model_config
from explorer.svd import TruncatedSVDModel
from explorer.train import TrainConfig, evaluate_terms, fit

SHAPE = (3, 16, 16)


def _x(n=32, shape=SHAPE, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, *shape), generator=g)


@pytest.mark.parametrize("kind,arch", [("vae", "conv"), ("vae", "mlp"), ("ae", "conv"), ("ae", "mlp"),
                                       ("dae", "conv"), ("ae", "linear"), ("svd", "linear")])
def test_shapes_and_config_round_trip(kind, arch):
    model = build_model(model_config(kind, SHAPE, latent_dim=5, arch=arch))
    x = _x(4)
    torch.set_grad_enabled(False)
    try:
        mu, logvar = model.encode(x)
        out = model.decode(mu)
    finally:
        torch.set_grad_enabled(True)
    assert mu.shape == (4, 5)
    assert (logvar is not None) == (kind == "vae")
    assert out.shape == (4, *SHAPE) and float(out.min()) >= 0 and float(out.max()) <= 1
    assert model.sample(3).shape == (3, *SHAPE)
    again = build_model(model.config())
    assert again.config() == model.config()
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


@pytest.mark.parametrize("size", [16, 28, 30, 32, 64])
def test_conv_networks_fit_any_square_size(size):
    model = build_model(model_config("vae", (1, size, size), latent_dim=3))
    assert model.decode(model.encode(torch.rand(2, 1, size, size))[0]).shape == (2, 1, size, size)


@pytest.mark.parametrize("kind,likelihood", list(itertools.product(["vae", "ae", "dae"], LIKELIHOODS)))
def test_loss_falls_over_a_few_steps(kind, likelihood, blobs):
    torch.manual_seed(0)
    model = build_model(model_config(kind, blobs.shape, latent_dim=4, likelihood=likelihood, arch="mlp"))
    x = torch.from_numpy(blobs.images)
    before = evaluate_terms(model, x)["loss"]
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        loss = model.loss_terms(x, generator=g)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = evaluate_terms(model, x)["loss"]
    assert np.isfinite(after) and after < before - 0.05 * abs(before)


def test_vae_terms_and_kl_formula():
    model = VAE(SHAPE, latent_dim=3)
    terms = model.loss_terms(_x(8), generator=torch.Generator().manual_seed(1))
    assert set(terms) == {"loss", "recon", "kl"}
    torch.testing.assert_close(terms["loss"], terms["recon"] + terms["kl"])
    # KL of N(mu, sigma^2) to N(0, 1) in closed form against torch.distributions
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.2, -0.7]])
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    torch.testing.assert_close(VAE.kl_to_prior(mu, logvar), torch.distributions.kl_divergence(q, p))


def test_beta_weights_the_kl():
    torch.manual_seed(0)
    model = VAE(SHAPE, latent_dim=3, beta=4.0)
    t = model.loss_terms(_x(8), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(t["loss"], t["recon"] + 4.0 * t["kl"])


@pytest.mark.parametrize("corruption", ["gaussian", "mask", "salt-pepper"])
def test_dae_corruption_changes_the_input_by_the_amount(corruption):
    model = build_model(model_config("dae", SHAPE, corruption=corruption, noise=0.3))
    x = torch.full((64, *SHAPE), 0.5)
    changed = (model.corrupt(x, torch.Generator().manual_seed(0)) != x).float().mean().item()
    assert (0.2 < changed < 0.4) if corruption != "gaussian" else changed > 0.9


def test_bad_options_are_refused_with_clear_messages():
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'"):
        VAE(SHAPE, likelihood="poisson")
    with pytest.raises(ValueError, match="beta cannot be negative"):
        VAE(SHAPE, beta=-1)
    with pytest.raises(ValueError, match="unknown corruption"):
        build_model(model_config("dae", SHAPE, corruption="blur"))
    with pytest.raises(ValueError, match="unknown model"):
        model_config("gan", SHAPE)


def test_iwae_bound_is_at_least_the_elbo_on_average(blobs):
    torch.manual_seed(0)
    model = VAE(blobs.shape, latent_dim=4, arch="mlp")
    x = torch.from_numpy(blobs.images[:30])
    elbo, iwae = model.log_likelihood(x, k=50, generator=torch.Generator().manual_seed(0))
    assert elbo.shape == iwae.shape == (30,)
    assert float(iwae.mean()) >= float(elbo.mean())


def test_svd_matches_numpy_and_beats_a_linear_autoencoder_on_held_out_data():
    """The reference article's claim: the truncated SVD is the best linear autoencoder."""
    from explorer.data.digits import load_digits_set

    data = load_digits_set(size=16)
    x = data.images
    train, test = x[:1400], x[1400:]
    k = 12
    svd = TruncatedSVDModel(data.shape, latent_dim=k).fit_closed_form(train, seed=0)
    # the codes span the top-k right singular subspace of the training matrix
    _, _, vt = np.linalg.svd(train.reshape(len(train), -1), full_matrices=False)
    w = svd.encoder[1].weight.detach().numpy()
    assert np.allclose(np.abs(w @ vt[:k].T), np.eye(k), atol=1e-3) or \
        np.linalg.matrix_rank(np.vstack([w, vt[:k]]), tol=1e-3) == k
    torch.manual_seed(0)
    lin = build_model(model_config("ae", data.shape, latent_dim=k, arch="linear", likelihood="gaussian"))
    fit(lin, torch.from_numpy(train), torch.from_numpy(test[:100]),
        TrainConfig(epochs=25, batch_size=64, lr=3e-3, patience=25), progress=False, log=lambda m: None)
    t = torch.from_numpy(test)
    with torch.no_grad():
        mse_svd = float((svd.reconstruct(t) - t).pow(2).mean())
        mse_lin = float((lin.reconstruct(t) - t).pow(2).mean())
    assert mse_svd <= mse_lin
    assert mse_svd < 0.5 * float(t.pow(2).mean())  # and it really reconstructs
