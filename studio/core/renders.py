"""What the engine host computes for the GUI between training steps (Qt-free).

Each render kind asks the engine through its capabilities, never its class, and returns
numpy arrays: images float32 (N, C, H, W) in [0, 1], points float32 (N, dim), codes
float32 (N, latent_dim).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from .training import Trainer


def render(trainer: Optional[Trainer], req: Any) -> Any:
    if trainer is None:
        return None
    fn = RENDERERS.get(req.kind)
    if fn is None:
        raise ValueError(f"unknown render kind {req.kind!r}")
    with torch.no_grad(), _training_rng_kept(trainer):
        try:
            return fn(trainer, **req.payload)
        finally:
            trainer.engine.train(True)


def _training_rng_kept(trainer: Trainer):
    """Renders run between training steps on the training thread, so anything an engine
    draws from torch's global RNG there would shift the run's random stream and break exact
    resume (the diffusion decode's DDIM loop draws its unused per-step seeds from it). What
    users see never depends on that RNG: every render draws its noise from seeded generators."""
    dev = trainer.device
    return torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else [], device_type="cuda")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def _tensor(trainer: Trainer, a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, np.float32), device=trainer.device)


def decode(trainer: Trainer, z: np.ndarray, label: Optional[int] = None) -> np.ndarray:
    """Latent codes (dim,) or (N, dim) -> decoded samples (through `sample(z=...)`, which for
    every engine maps its standard-normal input to data). `label`: the class asked of a
    conditional model (ignored by the others)."""
    engine = trainer.engine
    size = int(np.prod(engine.noise_shape))
    z2 = np.asarray(z, np.float32).reshape(-1, size)
    zt = _tensor(trainer, z2).reshape(len(z2), *engine.noise_shape)
    labels = _labels(trainer, label, len(z2))
    if "invert" in engine.capabilities:     # diffusion: decode_noise, the inverse of `invert`
        return _np(engine.decode_noise(zt, labels=labels))
    return _np(engine.sample(len(z2), z=zt, labels=labels))


def _labels(trainer: Trainer, label: Optional[int], n: int) -> Optional[torch.Tensor]:
    if label is None or "conditional" not in trainer.engine.capabilities:
        return None
    return torch.full((n,), int(label), dtype=torch.long, device=trainer.device)


def sweep(trainer: Trainer, which: str, z: np.ndarray, label: int = 0, n: int = 10,
          seed: int = 0) -> dict[str, np.ndarray]:
    """A conditional model's two sweeps: "class" decodes one code as every class (what the
    code holds apart from the class: the style), "style" one class with n codes drawn from
    `seed`. Returns the codes, labels and samples, frame by frame."""
    engine = trainer.engine
    if "conditional" not in engine.capabilities:
        raise ValueError(f"the {engine.name} run is not class-conditional")
    k = int(trainer.dataset.spec.num_classes)
    z1 = np.asarray(z, np.float32).reshape(1, -1)
    if which == "class":
        zs, labels = np.repeat(z1, k, 0), np.arange(k)
    elif which == "style":
        g = torch.Generator().manual_seed(int(seed))
        zs = np.concatenate([z1, _np(engine.noise(n - 1, generator=g)).reshape(n - 1, -1)])
        labels = np.full(n, int(label))
    else:
        raise ValueError(f"sweep {which!r}: choose 'class' or 'style'")
    y = torch.as_tensor(labels, dtype=torch.long, device=trainer.device)
    samples = _np(engine.sample(len(zs), z=_tensor(trainer, zs).reshape(len(zs), *engine.noise_shape),
                                labels=y))
    return {"z": zs, "labels": labels.astype(np.int64), "samples": samples, "step": trainer.step}


def sample(trainer: Trainer, seed: int, n: int = 1) -> dict[str, np.ndarray]:
    g = torch.Generator().manual_seed(int(seed))
    z = trainer.engine.noise(n, generator=g)
    return {"z": _np(z), "samples": _np(trainer.engine.sample(n, z=z))}


def tempered(trainer: Trainer, temperature: float) -> dict[str, Any]:
    """The gallery's fixed codes sampled at temperature T (engines with "temperature", Glow's
    sampling: decode T * eps, the prior's std scaled by T; T = 0 maps the prior's mean), the
    grid the trainer's next snapshot shows once T is the run's live value."""
    engine = trainer.engine
    if "temperature" not in engine.capabilities:
        raise ValueError(f"the {engine.name} engine does not sample with a temperature")
    t = float(temperature)
    z = trainer.eval_z * t
    return {"samples": _np(engine.sample(len(z), z=z)), "temperature": t, "step": trainer.step}


def encode(trainer: Trainer, x: np.ndarray) -> np.ndarray:
    """Data -> the engine's standard-normal input z, so decode(encode(x)) reconstructs x.
    For the AE the code is whitened through its fitted Gaussian (inverse of sample's map)."""
    engine = trainer.engine
    if "encode" not in engine.capabilities:
        if "invert" in engine.capabilities:    # diffusion: DDIM inversion gives the x_T of x
            return invert(trainer, x)
        raise ValueError(f"the {engine.name} engine cannot encode")
    return _np(engine.noise_from_latent(engine.encode(_data_tensor(trainer, x))))


def interpolate(trainer: Trainer, za: np.ndarray, zb: np.ndarray, steps: int = 8,
                mode: str = "linear", label: Optional[int] = None) -> dict[str, np.ndarray]:
    zs = interpolation_path(np.asarray(za, np.float32), np.asarray(zb, np.float32), steps, mode)
    # the step the frames come from: an export's provenance must describe them, not the run now
    return {"z": zs, "samples": decode(trainer, zs, label), "step": trainer.step}


def interpolation_path(za: np.ndarray, zb: np.ndarray, steps: int, mode: str) -> np.ndarray:
    """`steps` codes from za to zb inclusive (float32; za alone for steps == 1), linear or
    spherical (Shoemake 1985: sin((1-t)w)/sin(w) a + sin(tw)/sin(w) b, w the angle between a
    and b). Where the angle is undefined or sin w ~ 0 (a zero end; a and b parallel or
    opposite) the spherical path is the straight line. The same rules as the latent
    explorer's own `widgets.kit.interpolate` (which picks a clicked frame's code), so a frame
    and its code agree; tests/studio/test_renders.py compares the two."""
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"interpolation needs at least 1 step, got {steps}")
    if mode not in ("linear", "spherical"):
        raise ValueError(f"interpolation mode {mode!r}: choose 'linear' or 'spherical'")
    a = np.asarray(za, np.float64).reshape(-1)
    b = np.asarray(zb, np.float64).reshape(-1)
    t = np.linspace(0.0, 1.0, steps)[:, None] if steps > 1 else np.zeros((1, 1))
    out = (1 - t) * a + t * b
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if mode == "spherical" and na > 1e-12 and nb > 1e-12:
        w = float(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0)))
        if np.sin(w) > 1e-6:
            out = (np.sin((1 - t) * w) * a + np.sin(t * w) * b) / np.sin(w)
    out = out.astype(np.float32)
    out[0] = np.asarray(za, np.float32).reshape(-1)
    if steps > 1:
        out[-1] = np.asarray(zb, np.float32).reshape(-1)
    return out


def basis(trainer: Trainer, n: int = 2000, k: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """Principal directions of the encoded training data in z space (for latents above 16
    dimensions the explorer's sliders move along these). Engines that cannot encode use
    their prior samples, whose principal directions are the axes."""
    if "generator_features" in trainer.engine.capabilities:
        return ganspace_basis(trainer, n=n, k=k, seed=seed)
    data = trainer.dataset.train_x
    g = np.random.default_rng(seed)
    idx = np.sort(g.choice(len(data), size=min(n, len(data)), replace=False))
    if "encode" in trainer.engine.capabilities:
        z = np.concatenate([encode(trainer, data[idx[i:i + 500]]) for i in range(0, len(idx), 500)])
    else:
        z = _np(trainer.engine.noise(len(idx), generator=torch.Generator().manual_seed(seed)))
        z = z.reshape(len(z), -1)
    mean = z.mean(0)
    _, s, vt = np.linalg.svd(z - mean, full_matrices=False)
    var = s ** 2 / max(len(z) - 1, 1)
    k = min(k, vt.shape[0])
    return {"mean": mean.astype(np.float32), "basis": vt[:k].astype(np.float32),
            "scales": np.sqrt(var[:k]).astype(np.float32),
            "explained": (var[:k] / max(var.sum(), 1e-12)).astype(np.float32)}


def ganspace_basis(trainer: Trainer, n: int = 2000, k: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """Interpretable latent directions of a generator, GANSpace (Haerkoenen et al. 2020,
    sec. 2.2, the BigGAN variant): sample z_j, take the generator's first hidden features
    y_j = G_1(z_j), PCA of y gives principal directions V and coordinates x_j = V^T (y_j - mu);
    the z-space direction of component i is column i of U = argmin sum_j ||U x_j - z_j||^2
    (least squares), normalised. Sliders then move the code along the directions that change
    the generator's features most. `explained` is the PCA variance share in feature space."""
    engine = trainer.engine
    z = engine.noise(n, generator=torch.Generator().manual_seed(seed))
    y = _np(engine.generator_features(z)).reshape(n, -1).astype(np.float64)
    zf = _np(z).reshape(n, -1).astype(np.float64)
    yc = y - y.mean(0)
    _, s, vt = np.linalg.svd(yc, full_matrices=False)
    k = min(k, vt.shape[0], zf.shape[1])
    x = yc @ vt[:k].T                                     # PCA coordinates (n, k)
    u, *_ = np.linalg.lstsq(x, zf - zf.mean(0), rcond=None)   # (k, dim): x @ u ~ z
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    directions = u / np.maximum(norms, 1e-12)
    scales = (zf @ directions.T).std(0)                  # spread of the prior along each
    var = s ** 2 / max(n - 1, 1)
    return {"mean": np.zeros(zf.shape[1], np.float32), "basis": directions.astype(np.float32),
            "scales": scales.astype(np.float32),
            "explained": (var[:k] / max(var.sum(), 1e-12)).astype(np.float32)}


# per-frame arrays of a forward trajectory ("index" stays 0..F-1: the frame's position)
FORWARD_FRAME_KEYS = ("t", "xt", "xt_net", "x0", "eps", "x0_true", "eps_true", "eps_mse")


def trajectory(trainer: Trainer, mode: str = "sample", sampler: str = "ddim", steps: int = 50,
               eta: float = 0.0, seed: int = 0, n: int = 16, **_: Any) -> dict[str, Any]:
    """A diffusion model's denoising steps (mode "sample", t = T -> 0), or the closed-form
    noising of real test images (mode "forward", t = 0 -> T), for the scrubber: frames "t",
    "index", "xt", "x0", "eps"
    (display units) and "xt_net" (network units, to continue from). "x0" and "eps" are always
    the model's predictions at x_t; forward mode adds the truth it is judged against,
    "x0_true" and "eps_true", and "eps_mse" (frames, n), the squared error of the noise guess
    (NaN at t = 0)."""
    engine = trainer.engine
    if "trajectory" not in engine.capabilities:
        raise ValueError(f"the {engine.name} engine has no step-by-step trajectory")
    if mode == "forward":
        rng = np.random.default_rng(seed)
        data = trainer.dataset.test_x
        idx = np.sort(rng.choice(len(data), size=min(n, len(data)), replace=False))
        out = engine.forward_trajectory(_data_tensor(trainer, data[idx]), steps=steps, seed=seed)
        frames = len(out["t"])
        x0 = out["xt"][-1]                       # the t = 0 frame is the data itself
        out = {**out, "x0_true": np.broadcast_to(x0, out["xt"].shape).copy(),
               "eps_true": np.broadcast_to(out["eps"], out["xt"].shape).copy(),
               "index": np.arange(frames)}
        out.update(_forward_predictions(trainer, out))
        # the forward process runs from the data to the noise: frames play t = 0 -> T
        out.update({k: np.ascontiguousarray(out[k][::-1]) for k in FORWARD_FRAME_KEYS})
    else:
        out = engine.sample_trajectory(n, sampler=sampler, steps=steps, eta=eta, seed=seed)
    out.update(mode=mode, sampler=sampler, steps=steps, eta=eta, seed=seed, n=n)
    return _with_field(trainer, out)


def _forward_predictions(trainer: Trainer, out: dict[str, Any]) -> dict[str, np.ndarray]:
    """What the model guesses at each noised frame: eps_theta(x_t, t) and the x0 it implies,
    with the sampler's clipping, so forward mode teaches what the model knows at each t
    rather than showing the answer. Deterministic: no noise is drawn."""
    engine = trainer.engine
    x0s, epss = [], []
    for t, xt in zip(out["t"], out["xt_net"]):
        x = torch.as_tensor(xt, device=trainer.device)
        if t == 0:                                # x_0 is the data: nothing left to guess
            x0s.append(engine.to_data(x))
            epss.append(torch.zeros_like(x))
            continue
        x0, eps = engine.predict(x, int(t))
        x0s.append(x0)
        epss.append(eps)
    eps_pred = np.stack([_np(e) for e in epss])
    err = (eps_pred - out["eps_true"]) ** 2
    mse = err.reshape(len(err), err.shape[1], -1).mean(axis=2)
    mse[np.asarray(out["t"]) == 0] = np.nan
    return {"x0": np.stack([_np(x) for x in x0s]), "eps": eps_pred, "eps_mse": mse}


def continue_trajectory(trainer: Trainer, x_start: np.ndarray, start_index: int,
                        sampler: str = "ddim", steps: int = 50, eta: float = 0.0, seed: int = 0,
                        **_: Any) -> dict[str, Any]:
    """Sampling continued from x_start (network units) at engine step `start_index`, with
    the same seed so the steps after it reuse the original noise."""
    x = torch.as_tensor(np.asarray(x_start, np.float32), device=trainer.device)
    out = trainer.engine.sample_trajectory(len(x), sampler=sampler, steps=steps, eta=eta,
                                           seed=seed, start_index=int(start_index), x_start=x)
    out.update(mode="sample", sampler=sampler, steps=steps, eta=eta, seed=seed, n=len(x))
    return _with_field(trainer, out)


def edit_trajectory(trainer: Trainer, xt_net: np.ndarray, x0: np.ndarray, t: int, index: int,
                    action: str, start_index: int, seed: int = 0, sampler: str = "ddim",
                    steps: int = 50, eta: float = 0.0, data_x: Optional[np.ndarray] = None,
                    **_: Any) -> dict[str, Any]:
    """Edit sample `index` of x_t at time t, then continue sampling from there:
    "renoise" replaces it with a fresh draw of q(x_t | x0_pred) (its own predicted x0 noised
    again), "swap" with a draw of q(x_t | data image), both by the closed form
    x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps."""
    engine = trainer.engine
    x = torch.as_tensor(np.asarray(xt_net, np.float32), device=trainer.device).clone()
    source = data_x if action == "swap" else np.asarray(x0)[index]
    if source is None:
        raise ValueError("swap needs a data image")
    src = engine.to_net(_data_tensor(trainer, np.asarray(source)[None]))
    g = torch.Generator().manual_seed(int(seed) * 7919 + int(index) + 1)
    eps = torch.randn(src.shape, generator=g).to(trainer.device)
    if t > 0:
        x[index] = engine.schedule.q_sample(src, int(t), eps)[0]
    else:
        x[index] = src[0]
    return continue_trajectory(trainer, x.cpu().numpy(), start_index, sampler, steps, eta, seed)


def _data_tensor(trainer: Trainer, x: np.ndarray) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x))
    return (t.float() / 255.0 if t.dtype == torch.uint8 else t.float()).to(trainer.device)


def _with_field(trainer: Trainer, out: dict[str, Any]) -> dict[str, Any]:
    """Points: the predicted-noise field on a grid at every frame's t, pointing towards the
    data (-eps scaled by the data's std, i.e. along the score), for the scrubber's arrows."""
    engine = trainer.engine
    if trainer.dataset.spec.is_images or "eps_field" not in engine.capabilities:
        return out
    pts = trainer.dataset.train_x[:5000]
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.15 * (hi - lo)
    gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 21),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], 21))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    std = np.asarray(trainer.dataset.spec.point_std or (1.0, 1.0), np.float32)
    fields = [(-engine.eps_field(int(t), grid) * std if t > 0 else np.zeros_like(grid))
              for t in out["t"]]
    out["field_grid"] = grid
    out["field_vectors"] = np.stack(fields).astype(np.float32)
    return out


def invert(trainer: Trainer, x: np.ndarray) -> np.ndarray:
    """DDIM inversion of data to the noise that regenerates it (for the latent explorer)."""
    if "invert" not in trainer.engine.capabilities:
        raise ValueError(f"the {trainer.engine.name} engine cannot invert data to its noise")
    return _np(trainer.engine.invert(_data_tensor(trainer, x)))


RENDERERS = {"decode": decode, "sample": sample, "encode": encode, "interpolate": interpolate,
             "basis": basis, "trajectory": trajectory, "continue": continue_trajectory,
             "edit": edit_trajectory, "invert": invert, "sweep": sweep, "tempered": tempered}


def point_bounds(points: np.ndarray, pad: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """The padded bounding box the 2D canvas shows (and evaluates its fields on)."""
    lo, hi = points.min(0).astype(np.float64), points.max(0).astype(np.float64)
    span = np.maximum(hi - lo, 1e-6)
    return lo - pad * span, hi + pad * span


def latent_grid(dim: int, lines: int = 11, points_per_line: int = 41,
                extent: float = 2.5) -> np.ndarray:
    """Latent codes on the lines of a regular grid over the first two latent coordinates
    (others 0), +-extent standard deviations: (rows, cols, dim) with rows = lines along x and
    then along y. Mapped through the generator it draws the warped grid of its manifold; a
    1-D latent gives the single curve G([-extent, extent])."""
    u = np.linspace(-extent, extent, points_per_line, dtype=np.float32)
    if dim == 1:
        return u.reshape(1, -1, 1)
    v = np.linspace(-extent, extent, lines, dtype=np.float32)
    grid = np.zeros((2 * lines, points_per_line, dim), np.float32)
    grid[:lines, :, 0] = u[None, :]
    grid[:lines, :, 1] = v[:, None]
    grid[lines:, :, 0] = v[:, None]
    grid[lines:, :, 1] = u[None, :]
    return grid


def canvas(trainer: Trainer, n: int = 2500, field_res: int = 64, arrows: int = 160,
           seed: int = 0, manifold: bool = True, field: bool = True,
           **_: Any) -> dict[str, Any]:
    """Everything the 2D canvas draws for a run on point data, in data coordinates:
    real points, n generated points from a fixed seed (so frames are comparable while the
    model trains), the critic's output on a field_res^2 grid over the padded data box (engines
    with the "critic" capability), the generator's gradient directions at `arrows` of the
    generated points (engines with the "generator_field" capability), the image of a latent grid (the
    manifold) and the PacGAN mode scores when the data set has known modes. Engines with an
    exact density ("log_prob") show it in place of a critic (`density_field`)."""
    from .metrics import mode_metrics
    engine, ds = trainer.engine, trainer.dataset
    if ds.spec.is_images or ds.spec.dim != 2:
        raise ValueError("the 2D canvas needs a run on 2D points")
    real = ds.train_x[:n]
    lo, hi = point_bounds(real)
    g = torch.Generator().manual_seed(int(seed))
    z = engine.noise(n, generator=g)
    fake = _np(engine.sample(n, z=z))
    out: dict[str, Any] = {"step": trainer.step, "real": real, "fake": fake,
                           "bounds": (lo, hi), "engine": engine.name}
    if field and "critic" in engine.capabilities:
        gx = np.linspace(lo[0], hi[0], field_res, dtype=np.float32)
        gy = np.linspace(lo[1], hi[1], field_res, dtype=np.float32)
        xx, yy = np.meshgrid(gx, gy)
        pts = np.stack([xx.ravel(), yy.ravel()], 1)
        values = _np(engine.critic_field(_tensor(trainer, pts))).reshape(field_res, field_res)
        out.update(field_x=gx, field_y=gy, field_values=values,
                   field_label=str(engine.critic_label))
    elif field and "log_prob" in engine.capabilities:
        out.update(density_field(trainer, lo, hi, field_res))
    if "generator_field" in engine.capabilities and arrows > 0:
        at, push = engine.generator_field(z[:arrows])
        out.update(arrows_at=_np(at), arrows=_np(push))
    if manifold and len(engine.noise_shape) == 1:
        # a flow's grid covers the whole plane, stretched across the gaps between the data's
        # parts: more points per line keep its lines on the curves they follow
        grid = latent_grid(int(engine.noise_shape[0]),
                           points_per_line=161 if "log_prob" in engine.capabilities else 41)
        mapped = decode(trainer, grid.reshape(-1, grid.shape[-1]))
        out["manifold"] = mapped.reshape(grid.shape[0], grid.shape[1], -1)
    if ds.modes is not None and ds.mode_sigma > 0:
        out["modes"], out["mode_sigma"] = ds.modes.astype(np.float32), float(ds.mode_sigma)
        out["mode_scores"] = mode_metrics(fake, ds.modes, ds.mode_sigma)
    return out


RENDERERS["canvas"] = canvas

MAX_LOG_DENSITY = 80.0          # exp of more overflows float32; no 2D density gets near it


def density_field(trainer: Trainer, lo: np.ndarray, hi: np.ndarray, res: int = 64) -> dict[str, Any]:
    """A model's exact density on a res^2 grid over the box lo..hi (engines with
    "log_prob", e.g. a normalizing flow: log p(x) = log N(f(x); 0, I) + log |det df/dx|):
    "field_values" p(x) = exp(log p(x)), "field_log_values" log p(x) in nats, for the
    canvas's heatmap and its log scale."""
    engine = trainer.engine
    gx = np.linspace(lo[0], hi[0], res, dtype=np.float32)
    gy = np.linspace(lo[1], hi[1], res, dtype=np.float32)
    xx, yy = np.meshgrid(gx, gy)
    pts = np.stack([xx.ravel(), yy.ravel()], 1)
    engine.train(False)
    logp = _np(engine.log_prob(_tensor(trainer, pts))).reshape(res, res).astype(np.float64)
    logp = np.nan_to_num(logp, nan=-np.inf, posinf=MAX_LOG_DENSITY)
    density = np.exp(np.minimum(logp, MAX_LOG_DENSITY))
    floor = float(logp[np.isfinite(logp)].min()) if np.isfinite(logp).any() else -MAX_LOG_DENSITY
    return {"field_x": gx, "field_y": gy, "field_kind": "density",
            "field_values": density.astype(np.float32),
            "field_log_values": np.maximum(logp, floor).astype(np.float32),
            "field_label": f"p(x), the {engine.name}'s density",
            "field_log_label": "log p(x), nats"}


def codes(trainer: Trainer, n: int = 2000, pairs: int = 16, seed: int = 0,
          **_: Any) -> dict[str, Any]:
    """The autoencoder's standard figures, on n test images (a seeded subset): their codes
    in 2D (the first two latent dimensions, or the first two principal directions of the
    codes above two), with labels and the images themselves (uint8, as stored) for the
    scatter's colours and thumbnails; z, each image's standard-normal input (what the latent
    explorer decodes); and the first `pairs` images beside their reconstructions."""
    engine, ds = trainer.engine, trainer.dataset
    if "encode" not in engine.capabilities:
        raise ValueError(f"the {engine.name} engine has no encoder: the codes view is for "
                         "autoencoders and VAEs")
    if not ds.spec.is_images:
        raise ValueError("the codes view needs images (2D points are shown on the 2D canvas)")
    pool_x, pool_y = (ds.test_x, ds.test_y) if len(ds.test_x) else (ds.train_x, ds.train_y)
    rng = np.random.default_rng(int(seed))
    idx = np.sort(rng.choice(len(pool_x), size=min(int(n), len(pool_x)), replace=False))
    images = pool_x[idx]
    latent = np.concatenate([_np(engine.encode(_data_tensor(trainer, images[i:i + 500])))
                             for i in range(0, len(images), 500)]).reshape(len(images), -1)
    dim = latent.shape[1]
    if dim <= 2:
        xy = np.pad(latent, ((0, 0), (0, 2 - dim)))
        axes = ("z1", "z2")
    else:
        centred = latent.astype(np.float64) - latent.mean(0)
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        xy = centred @ vt[:2].T
        share = s ** 2 / max(float((s ** 2).sum()), 1e-12)
        axes = tuple(f"PC{k + 1} ({100 * share[k]:.0f}% of variance)" for k in range(2))
    z = _np(engine.noise_from_latent(_tensor(trainer, latent)))
    k = min(int(pairs), len(images))
    x = _data_tensor(trainer, images[:k])
    return {"step": trainer.step, "index": idx, "xy": xy.astype(np.float32),
            "labels": None if pool_y is None else np.asarray(pool_y)[idx],
            "class_names": list(ds.class_names or []), "thumbs": images,
            "z": z.astype(np.float32).reshape(len(images), -1), "axes": axes,
            "latent_dim": dim, "inputs": _np(x), "reconstructions": _np(engine.reconstruct(x))}


RENDERERS["codes"] = codes


# The flow view's renders live in flow_renders.py and add themselves to RENDERERS; imported
# last, because flow_renders imports this module's helpers.
from . import flow_renders as _flow_renders  # noqa: E402,F401
# The translation view's renders (translation_renders.py) likewise.
from . import translation_renders as _translation_renders  # noqa: E402,F401
