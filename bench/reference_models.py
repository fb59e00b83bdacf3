"""Reference implementations written the way the well-known reference scripts write them,
for the quality-per-CPU-minute benchmark.

- `ReferenceVAE` is pytorch/examples `vae/main.py` (784-400-20 MLP, ReLU, sigmoid decoder,
  summed BCE + KL, Adam lr 1e-3, batch 128, shuffled DataLoader), line for line except that the
  data come from the bundled MNIST arrays instead of torchvision (same [0, 1] tensors).
- `ReferenceAE` is the same script with the KL and reparameterisation removed (the usual
  "simple autoencoder" of tutorials: 784-400-20-400-784, BCE).
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset


class ReferenceVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar

    @staticmethod
    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    latent_dim = 20

    def sample(self, z):
        return self.decode(z).view(-1, 1, 28, 28)


class ReferenceAE(nn.Module):
    latent_dim = 20

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc2 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        return self.fc2(F.relu(self.fc1(x.view(-1, 784))))

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        return self.decode(self.encode(x)), None, None

    @staticmethod
    def loss_function(recon_x, x, mu, logvar):
        return F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")


def train_for(model: nn.Module, train_x: np.ndarray, seconds: float, seed: int = 1,
              batch_size: int = 128) -> dict:
    """The reference training loop (pytorch/examples style) for a wall-time budget."""
    torch.manual_seed(seed)
    data = torch.from_numpy(train_x).float().div_(255.0)
    loader = DataLoader(TensorDataset(data), batch_size=batch_size, shuffle=True)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    steps, t0 = 0, time.perf_counter()
    while True:
        for (x,) in loader:
            opt.zero_grad()
            recon, mu, logvar = model(x)
            loss = model.loss_function(recon, x, mu, logvar)
            loss.backward()
            opt.step()
            steps += 1
            if steps % 10 == 0 and time.perf_counter() - t0 >= seconds:
                return {"steps": steps, "seconds": time.perf_counter() - t0}


@torch.no_grad()
def reference_test_elbo(model: ReferenceVAE, test_x: np.ndarray, seed: int = 0) -> float:
    """-(summed BCE + KL) per test image: the same quantity as the studio's test/elbo for a
    Bernoulli decoder (one z per image)."""
    torch.manual_seed(seed)
    model.eval()
    x = torch.from_numpy(test_x).float().div_(255.0)
    total = 0.0
    for i in range(0, len(x), 1000):
        xb = x[i:i + 1000]
        mu, logvar = model.encode(xb.view(-1, 784))
        z = model.reparameterize(mu, logvar)
        logits = model.fc4(F.relu(model.fc3(z)))
        bce = F.binary_cross_entropy_with_logits(logits, xb.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        total += float(bce + kld)
    return -total / len(x)


@torch.no_grad()
def reference_samples(model: nn.Module, n: int, seed: int = 0, train_x: np.ndarray | None = None
                      ) -> np.ndarray:
    """VAE: decode z ~ N(0, I). AE: decode z from a Gaussian fitted to the training codes (the
    same rule the studio's AE engine uses, so the comparison is of the models, not of the
    sampling rule)."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(n, model.latent_dim, generator=g)
    if isinstance(model, ReferenceAE):
        codes = model.encode(torch.from_numpy(train_x[:10000]).float().div_(255.0))
        mean = codes.mean(0)
        cov = torch.cov(codes.T) + 1e-5 * torch.eye(model.latent_dim)
        z = mean + eps @ torch.linalg.cholesky(cov).T
    else:
        z = eps
    return model.decode(z).view(-1, 1, 28, 28).numpy()
