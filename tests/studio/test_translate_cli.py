"""`genstudio translate RUN --input FILE.npy|FOLDER|test --out OUT [--direction ab|ba]`
(issue 17, build 5), through the CLI as a user types it: OUT.npy is the engine's translation
of the input (float32 (N, C, H, W) in [0, 1]) and OUT.png a grid; inputs of the wrong shape,
size, dtype or range are refused with exit code 2 and a message naming what is expected;
`--direction ba` needs "translate_back"; a run that is not a translator is sent to
`genstudio sample`. Tiny translators (tests/studio/tiny_translators.py) registered only here
stand in for the real engines."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.core.cli import EXIT_BAD_INPUT, main
from studio.core.config import config_from_dict
from studio.core.export import read_png_metadata
from studio.core.training import Trainer

from .tiny_translators import copy_translator, register


CopyTranslator = copy_translator("test-cli-copy")
# the way back is 1 - y: easy to tell from the way there
TwoWayCopy = copy_translator("test-cli-two-way", back=lambda y: 1.0 - y)


def _train(run: Path, engine: str, data: str, **opts) -> Path:
    config = config_from_dict({
        "run": {"seed": 1, "steps": 4, "batch_size": 8, "log_every": 2, "sample_every": 2,
                "checkpoint_every": 4, "preview_samples": 4, "device": "cpu"},
        "data": {"name": data, "limit": 64, **opts}, "model": {"engine": engine,
                                                               **({"arch": "mlp"} if engine == "vae" else {})},
        "optim": {"lr": 1e-2}})
    Trainer.create(config, run).train()
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 14x14 -> 28x28 paired run, an unpaired two-way run and a VAE run."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        register(mp, CopyTranslator, TwoWayCopy)
        yield {"sr": _train(root / "sr", CopyTranslator.name, "mnist-lowres", factor=2),
               "cycle": _train(root / "cycle", TwoWayCopy.name, "mnist-thin-thick"),
               "vae": _train(root / "vae", "vae", "mnist")}


def translation_of(run: Path, x: np.ndarray, back: bool = False) -> np.ndarray:
    t = Trainer.load(run)
    xt = torch.as_tensor(x).float()
    if x.dtype == np.uint8:
        xt = xt / 255.0
    out = t.engine.translate_back(xt) if back else t.engine.translate(xt)
    return out.float().numpy()


def cli(*args) -> int:
    return main(["translate", *map(str, args)])


def outputs(out: Path) -> np.ndarray:
    a = np.load(out.with_suffix(".npy"))
    assert a.dtype == np.float32 and a.ndim == 4 and 0.0 <= a.min() and a.max() <= 1.0
    assert out.with_suffix(".png").is_file()
    return a


def test_a_uint8_npy_is_translated(runs, tmp_path):
    """uint8 (N, 1, 14, 14) in 0..255 -> OUT.npy = translate(x / 255), (N, 1, 28, 28)."""
    x = np.random.default_rng(0).integers(0, 256, (5, 1, 14, 14), dtype=np.uint8)
    np.save(tmp_path / "in.npy", x)
    assert cli(runs["sr"], "--input", tmp_path / "in.npy", "--out", tmp_path / "out") == 0
    got = outputs(tmp_path / "out")
    assert got.shape == (5, 1, 28, 28)
    assert np.allclose(got, translation_of(runs["sr"], x), atol=1e-6)
    meta = read_png_metadata(tmp_path / "out.png")
    assert meta["engine"] == CopyTranslator.name and meta["direction"] == "ab"
    assert meta["input"].endswith("in.npy")


def test_a_float_npy_without_a_channel_axis_and_n(runs, tmp_path):
    """float (N, H, W) in [0, 1] for a one-channel side; --n takes the first N."""
    x = np.random.default_rng(1).random((6, 14, 14)).astype(np.float64)
    np.save(tmp_path / "in.npy", x)
    assert cli(runs["sr"], "--input", tmp_path / "in.npy", "--out", tmp_path / "o.npy",
               "--n", 4) == 0
    got = outputs(tmp_path / "o")
    assert got.shape == (4, 1, 28, 28)
    assert np.allclose(got, translation_of(runs["sr"], x[:4, None].astype(np.float32)), atol=1e-6)


def test_a_folder_is_read_in_path_order_and_its_skips_reported(runs, tmp_path, capsys):
    """PNGs of the source size, in sorted path order; a text file is skipped and said."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    x = np.random.default_rng(2).integers(0, 256, (3, 14, 14), dtype=np.uint8)
    for name, im in zip(("b.png", "a.png", "c.png"), x):
        Image.fromarray(im, "L").save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    assert cli(runs["sr"], "--input", folder, "--out", tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "3 loaded, 1 skipped" in err and "notes.txt" in err
    got = outputs(tmp_path / "out")
    in_order = x[[1, 0, 2]][:, None]              # a.png, b.png, c.png
    assert np.allclose(got, translation_of(runs["sr"], in_order), atol=1e-6)


def test_a_folder_image_of_another_size_is_refused_not_resized(runs, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.zeros((14, 14), np.uint8), "L").save(folder / "ok.png")
    Image.fromarray(np.zeros((28, 28), np.uint8), "L").save(folder / "big.png")
    assert cli(runs["sr"], "--input", folder, "--out", tmp_path / "out") == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "expected images of 14x14 pixels" in err and "big.png 28x28" in err
    assert "(N, 1, 14, 14)" in err
    assert not (tmp_path / "out.npy").exists()


def test_the_test_split_first_n_or_as_sample_draws_them(runs, tmp_path):
    """--input test: the first N test sources; with --seed the N that `genstudio sample
    --seed` translates (the two commands then write the same array)."""
    t = Trainer.load(runs["sr"])
    assert cli(runs["sr"], "--input", "test", "--n", 5, "--out", tmp_path / "first") == 0
    assert np.allclose(outputs(tmp_path / "first"),
                       translation_of(runs["sr"], t.dataset.test_x2[:5]), atol=1e-6)
    assert cli(runs["sr"], "--input", "test", "--n", 5, "--seed", 7, "--out", tmp_path / "t") == 0
    assert main(["sample", str(runs["sr"]), "--n", "5", "--seed", "7", "--out",
                 str(tmp_path / "s")]) == 0
    assert np.array_equal(outputs(tmp_path / "t"), np.load(tmp_path / "s.npy"))


def test_direction_ba_translates_target_images_back(runs, tmp_path):
    """--direction ba: translate_back on target-side images (the test split or a file)."""
    t = Trainer.load(runs["cycle"])
    assert cli(runs["cycle"], "--input", "test", "--direction", "ba", "--n", 3,
               "--out", tmp_path / "back") == 0
    y = t.dataset.test_x[:3]
    assert np.allclose(outputs(tmp_path / "back"), 1.0 - y / 255.0, atol=1e-6)
    assert np.allclose(outputs(tmp_path / "back"), translation_of(runs["cycle"], y, back=True))
    np.save(tmp_path / "y.npy", y)
    assert cli(runs["cycle"], "--input", tmp_path / "y.npy", "--direction", "ba",
               "--out", tmp_path / "back2") == 0
    assert np.array_equal(outputs(tmp_path / "back2"), outputs(tmp_path / "back"))


def test_direction_ba_is_refused_for_a_one_way_translator(runs, tmp_path, capsys):
    assert cli(runs["sr"], "--input", "test", "--direction", "ba",
               "--out", tmp_path / "o") == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "translates one way only" in err and "cyclegan" in err


@pytest.mark.parametrize("array,message", [
    (np.zeros((5, 1, 28, 28), np.uint8),
     "expected images of shape (N, 1, 14, 14) or (N, 14, 14) for this run's source side "
     "(low-res 14x14), got (5, 1, 28, 28)"),
    (np.zeros((5, 3, 14, 14), np.uint8), "got (5, 3, 14, 14)"),
    (np.zeros((14, 14), np.uint8), "got (14, 14)"),
    (np.zeros((2, 1, 14, 14), np.int64), "got dtype int64"),
    (np.full((2, 1, 14, 14), 2.0, np.float32), "must be in [0, 1]"),
    (np.full((2, 1, 14, 14), np.nan, np.float32), "NaN"),
])
def test_wrong_inputs_are_refused_naming_what_is_expected(runs, tmp_path, capsys, array, message):
    np.save(tmp_path / "bad.npy", array)
    assert cli(runs["sr"], "--input", tmp_path / "bad.npy", "--out", tmp_path / "o") == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "o.npy").exists()


def test_the_way_back_names_the_target_side_shape(runs, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((2, 1, 14, 14), np.uint8))
    assert cli(runs["cycle"], "--input", tmp_path / "bad.npy", "--direction", "ba",
               "--out", tmp_path / "o") == EXIT_BAD_INPUT
    assert "(N, 1, 28, 28) or (N, 28, 28) for this run's target side" in capsys.readouterr().err


def test_missing_or_unreadable_input_files_are_bad_input(runs, tmp_path, capsys):
    assert cli(runs["sr"], "--input", tmp_path / "none.npy", "--out", tmp_path / "o") == EXIT_BAD_INPUT
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    assert cli(runs["sr"], "--input", tmp_path / "junk.npy", "--out", tmp_path / "o") == EXIT_BAD_INPUT
    assert "not a readable .npy" in capsys.readouterr().err


def test_a_run_that_is_not_a_translator_is_sent_to_sample(runs, tmp_path, capsys):
    assert cli(runs["vae"], "--input", "test", "--out", tmp_path / "o") == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "vae run" in err and "genstudio sample" in err
