"""Export of samples and latents (Qt-free). Every PNG carries text metadata: config, seed,
step, checkpoint sha256, app and torch versions, so an image can always be traced to the
run and weights that made it."""
from __future__ import annotations

import platform
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np
from PIL import Image

from studio import __version__
from .atomic import write_with
from .images import image_grid, samples_picture, save_png, to_uint8


def provenance(config_toml: str = "", seed: Optional[int] = None, step: Optional[int] = None,
               checkpoint_sha256: str = "", engine: str = "", extra: Optional[Mapping[str, str]] = None
               ) -> dict[str, str]:
    import torch
    meta = {"software": f"Generative Studio {__version__}", "app_version": __version__,
            "torch_version": torch.__version__, "python_version": platform.python_version(),
            "engine": engine, "config": config_toml, "checkpoint_sha256": checkpoint_sha256}
    if seed is not None:
        meta["seed"] = str(seed)
    if step is not None:
        meta["step"] = str(step)
    meta.update(extra or {})
    return meta


def export_grid(path: str | Path, samples: np.ndarray, meta: Mapping[str, str],
                reference: Optional[np.ndarray] = None, scale: int = 1) -> Path:
    pic = samples_picture(samples, reference=reference)
    if scale > 1 and samples.ndim == 4:       # nearest neighbour: sharp pixels on a slide
        pic = pic.repeat(scale, axis=0).repeat(scale, axis=1)
    save_png(path, pic, {**meta, "scale": str(scale)} if scale > 1 else meta)
    return Path(path)


def export_individual(folder: str | Path, images: np.ndarray, meta: Mapping[str, str],
                      prefix: str = "sample", scale: int = 1) -> list[Path]:
    """One PNG per image: (N, C, H, W) float [0, 1], each pixel scale x scale."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    pixels = to_uint8(images).transpose(0, 2, 3, 1)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
        meta = {**meta, "scale": str(scale)}
    for i, px in enumerate(pixels):
        p = folder / f"{prefix}_{i:04d}.png"
        save_png(p, px, {**meta, "index": str(i)})
        paths.append(p)
    return paths


def export_gif(path: str | Path, frames: np.ndarray, meta: Mapping[str, str],
               duration_ms: int = 120, boomerang: bool = True, scale: int = 4) -> Path:
    """An animated GIF of an interpolation: frames (N, C, H, W) in [0, 1], played forward
    then back. GIFs have no text chunks Pillow writes portably, so the metadata goes into
    the GIF comment as key=value lines."""
    px = to_uint8(frames).transpose(0, 2, 3, 1)
    if scale > 1:
        px = px.repeat(scale, axis=1).repeat(scale, axis=2)
    seq = list(px) + (list(px[-2:0:-1]) if boomerang and len(px) > 2 else [])
    mode = "L" if px.shape[-1] == 1 else "RGB"
    imgs = [Image.fromarray(f[:, :, 0] if mode == "L" else f, mode) for f in seq]
    comment = "\n".join(f"{k}={v}" for k, v in meta.items() if k != "config")
    write_with(path, lambda tmp: imgs[0].save(tmp, format="GIF", save_all=True,
                                              append_images=imgs[1:], duration=duration_ms,
                                              loop=0, comment=comment.encode("utf-8")))
    return Path(path)


def export_latents(path: str | Path, z: np.ndarray) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(z, np.float32), allow_pickle=False)
    write_with(path, write)
    return Path(path)


def read_png_metadata(path: str | Path) -> dict[str, str]:
    with Image.open(path) as im:
        return dict(getattr(im, "text", {}))


def interpolation_strip(frames: np.ndarray) -> np.ndarray:
    return image_grid(frames, ncols=len(frames))
