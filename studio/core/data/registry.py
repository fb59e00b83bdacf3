"""The data sources by name, their options, and `load_dataset`.

Options are dataclasses of `param(...)` fields (engines/params.py): the GUI builds its form
from them and `make_options` validates user dicts (TOML, GUI) with errors that name the key
and what it accepts.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

from ..options import build_options
from .builtin import MnistOptions, ShapesOptions, load_mnist, load_shapes
from .dataset import DataError, Dataset
from .files import IdxOptions, NpzOptions, load_idx, load_npz
from .folder import FolderOptions, load_folder
from .two_sides import (FolderPairOptions, LowresOptions, MnistPairOptions, load_folder_pair,
                        load_mnist_edges, load_mnist_lowres, load_mnist_rotated,
                        load_mnist_thin_thick)
from .toys import (MixtureOptions, NoisyToyOptions, load_grid25, load_moons, load_ring8,
                   load_spiral)


@dataclass(frozen=True)
class DataSource:
    name: str
    options: type                                   # the Options dataclass of param(...) fields
    loader: Callable[[Any, int], Dataset]          # (options instance, seed) -> Dataset
    description: str
    # What the source usually gives; `npz` can hold either, so trust the loaded spec.kind.
    kind: Literal["images", "points"]

    @property
    def Options(self) -> type:   # same spelling as Engine.Config
        return self.options

    def default_options(self) -> Any:
        return self.options()


DATA_SOURCES: dict[str, DataSource] = {s.name: s for s in (
    DataSource("mnist", MnistOptions, load_mnist,
               "MNIST handwritten digits, 28x28 grayscale, 10 classes (60000 train, "
               "10000 test).", "images"),
    DataSource("shapes", ShapesOptions, load_shapes,
               "Procedural white sprites (square, ellipse, triangle) with known factors: "
               "shape, scale, rotation, x, y.", "images"),
    DataSource("ring8", MixtureOptions, load_ring8,
               "8 Gaussians on a circle of radius 1, sigma 0.01 (PacGAN 2D-ring).", "points"),
    DataSource("grid25", MixtureOptions, load_grid25,
               "25 Gaussians on the grid {-4,-2,0,2,4}^2, sigma 0.05 (PacGAN 2D-grid).",
               "points"),
    DataSource("spiral", NoisyToyOptions, load_spiral, "A noisy 2D spiral (swiss roll arm).",
               "points"),
    DataSource("moons", NoisyToyOptions, load_moons,
               "Two interleaving half circles, labelled by moon.", "points"),
    DataSource("folder", FolderOptions, load_folder,
               "Your folder of images (PNG, JPEG, BMP, WebP, GIF); subfolders become "
               "classes.", "images"),
    DataSource("idx", IdxOptions, load_idx,
               "MNIST-format IDX files (plain or .gz).", "images"),
    DataSource("npz", NpzOptions, load_npz,
               "A NumPy .npz file of images or 2D points (and labels).", "images"),
    # Two sides (translation): the target side is the data set as one-sided engines see it.
    DataSource("mnist-lowres", LowresOptions, load_mnist_lowres,
               "Paired: MNIST average-pooled to 14x14 (or 7x7) -> the 28x28 digit "
               "(super-resolution).", "images"),
    DataSource("mnist-edges", MnistPairOptions, load_mnist_edges,
               "Paired: the outline of each MNIST digit -> the digit (pix2pix).", "images"),
    DataSource("mnist-thin-thick", MnistPairOptions, load_mnist_thin_thick,
               "Unpaired: thinned digits (even-indexed images) and thickened digits "
               "(odd-indexed ones), two domains of different images (CycleGAN).", "images"),
    DataSource("mnist-rotated", MnistPairOptions, load_mnist_rotated,
               "Unpaired: upright digits (even-indexed images) and digits turned a quarter "
               "(odd-indexed ones), two domains of different images (CycleGAN).", "images"),
    DataSource("folder-pair", FolderPairOptions, load_folder_pair,
               "Your two folders A/ (source) and B/ (target): paired by file name, or two "
               "unpaired domains.", "images"),
)}


def data_source_names() -> list[str]:
    return list(DATA_SOURCES)


def get_source(name: str) -> DataSource:
    if name not in DATA_SOURCES:
        raise DataError(f"data.source: unknown data set {name!r}; valid: "
                        + ", ".join(DATA_SOURCES))
    return DATA_SOURCES[name]


def make_options(name: str, options: Mapping[str, Any] | Any | None = None) -> Any:
    """Validated Options instance for source `name` from a dict, an instance, or None."""
    cls = get_source(name).options
    if options is None:
        return cls()
    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        if not isinstance(options, cls):
            raise DataError(f"options for {name!r} must be {cls.__name__}, "
                            f"got {type(options).__name__}")
        options = dataclasses.asdict(options)
    if not isinstance(options, Mapping):
        raise DataError(f"options for {name!r} must be a dict, got {type(options).__name__}")
    return build_options(cls, options, "data", DataError)


def load_dataset(name: str, options: Mapping[str, Any] | Any | None = None,
                 seed: int = 0) -> Dataset:
    """Load data set `name` with `options` (dict, Options instance or None = defaults)."""
    source = get_source(name)
    options = make_options(name, options)
    try:
        return source.loader(options, int(seed))
    except MemoryError as e:
        # A bare MemoryError has no message; the GUI and CLI show str(error).
        raise DataError(f"data: not enough memory to load the {name} data set"
                        + (f" ({e})" if str(e) else "")) from None

