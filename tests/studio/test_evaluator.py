"""The shipped MNIST evaluator (assets/evaluator-mnist.safetensors) and its loader.

The file's metadata holds the accuracy on the full 10,000-image test split, measured by
`python -m studio.core.evaluator_train` through MnistEvaluator; `test_metadata_accuracy_matches_full_test_split`
re-measures it here, the other tests use the first 2,000 test images to stay fast.
"""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from studio.core.data import load_dataset
from studio.core.evaluator import (DEFAULT_PATH, FORMAT, EvaluatorError, MnistCNN, MnistEvaluator,
                              clear_cache)

SUBSET = 2000


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def ev():
    return MnistEvaluator.load()


def test_shipped_file_is_small_and_documented(ev):
    assert DEFAULT_PATH.is_file()
    assert DEFAULT_PATH.stat().st_size < 2 * 1024 * 1024
    meta = ev.metadata
    assert meta["format"] == FORMAT
    assert meta["accuracy"] >= 0.992
    cfg = meta["config"]
    for key in ("epochs", "batch", "lr", "seed", "augmentation", "architecture"):
        assert key in cfg, key
    assert meta["seed"] == cfg["seed"]
    assert meta["torch_version"] and meta["date"]
    assert float(meta["train_seconds"]) > 0 and int(meta["threads"]) >= 1


def test_load_is_cached_per_path_and_device(ev):
    assert MnistEvaluator.load() is ev
    assert MnistEvaluator.load(DEFAULT_PATH, device="cpu") is ev
    assert MnistEvaluator.load(str(DEFAULT_PATH), device=torch.device("cpu")) is ev


def test_accuracy_on_test_subset(ev, mnist):
    acc = ev.accuracy_on(mnist.test_x[:SUBSET], mnist.test_y[:SUBSET])
    assert acc >= 0.99


def test_metadata_accuracy_matches_full_test_split(ev, mnist):
    # ~1.5 s on 2 CPU cores. The file stores 4 decimals; thread counts other than the one
    # used for training may round a borderline logit differently, so allow 2 images.
    acc = ev.accuracy_on(mnist.test_x, mnist.test_y)
    assert abs(acc - ev.accuracy) <= 2e-4 + 1e-9, (acc, ev.accuracy)


def test_outputs_shapes_dtypes_and_ranges(ev, mnist):
    x = mnist.test_x[:300]
    feats = ev.features(x)
    assert feats.shape == (300, 128) == (300, ev.feature_dim)
    assert ev.feature_layer == "fc1"
    assert feats.dtype == np.float32 and np.isfinite(feats).all()
    assert (feats >= 0).all() and feats.std(0).max() > 0      # post-ReLU, not dead
    logits = ev.logits(x)
    assert logits.shape == (300, 10) and logits.dtype == np.float32
    probs = ev.probs(x)
    assert probs.dtype == np.float32 and (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    pred = ev.predict(x)
    assert pred.dtype == np.int64 and pred.shape == (300,)
    np.testing.assert_array_equal(pred, logits.argmax(1))
    f2, l2 = ev.features_and_logits(x)
    np.testing.assert_array_equal(f2, feats)
    np.testing.assert_array_equal(l2, logits)


def test_batching_does_not_change_results(ev, mnist):
    x = mnist.test_x[:1100]          # crosses the internal batch of 1000
    whole = ev.logits(x)
    parts = np.concatenate([ev.logits(x[:7]), ev.logits(x[7:1100])])
    np.testing.assert_allclose(whole, parts, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(whole.argmax(1), parts.argmax(1))


def test_uint8_float_numpy_torch_and_3d_inputs_agree(ev, mnist):
    u8 = mnist.test_x[:200]
    f32 = u8.astype(np.float32) / 255.0
    ref = ev.logits(u8)
    np.testing.assert_array_equal(ev.logits(f32), ref)
    np.testing.assert_array_equal(ev.logits(u8[:, 0]), ref)            # (N, 28, 28)
    np.testing.assert_array_equal(ev.logits(torch.from_numpy(u8)), ref)
    np.testing.assert_array_equal(ev.logits(torch.from_numpy(f32)), ref)
    np.testing.assert_array_equal(ev.features(f32.astype(np.float64)), ev.features(u8))
    ro = u8.copy()
    ro.setflags(write=False)
    np.testing.assert_array_equal(ev.logits(ro), ref)
    assert ev.logits(np.zeros((0, 1, 28, 28), np.float32)).shape == (0, 10)


def test_bad_inputs_are_refused(ev):
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        ev.logits(np.zeros((4, 3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        ev.logits(np.zeros((4, 32, 32), np.float32))
    with pytest.raises(TypeError, match="uint8"):
        ev.logits(np.zeros((4, 28, 28), np.int32))


def _shipped_tensors():
    return load_file(str(DEFAULT_PATH))


def _meta(**over):
    cfg = dict(MnistEvaluator.load().metadata["config"])
    base = {"format": FORMAT, "test_accuracy": "0.9950", "config": json.dumps(cfg)}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_file_without_evaluator_metadata_is_refused(tmp_path):
    p = tmp_path / "plain.safetensors"
    save_file(_shipped_tensors(), str(p))
    with pytest.raises(EvaluatorError, match="not a Generative Studio evaluator file"):
        MnistEvaluator.load(p)
    p2 = tmp_path / "other.safetensors"
    save_file(_shipped_tensors(), str(p2), metadata=_meta(format="something-else"))
    with pytest.raises(EvaluatorError, match="format 'something-else'"):
        MnistEvaluator.load(p2)
    p3 = tmp_path / "badcfg.safetensors"
    save_file(_shipped_tensors(), str(p3), metadata=_meta(config="{not json"))
    with pytest.raises(EvaluatorError, match="bad evaluator metadata"):
        MnistEvaluator.load(p3)


def test_file_with_wrong_shapes_or_names_is_refused(tmp_path):
    t = _shipped_tensors()
    t["fc1.weight"] = torch.zeros(64, 1024)
    p = tmp_path / "shapes.safetensors"
    save_file(t, str(p), metadata=_meta())
    with pytest.raises(EvaluatorError, match=r"fc1\.weight has shape \(64, 1024\), expected \(128, 1024\)"):
        MnistEvaluator.load(p)
    t = _shipped_tensors()
    del t["fc2.bias"]
    t["extra"] = torch.zeros(3)
    p2 = tmp_path / "names.safetensors"
    save_file(t, str(p2), metadata=_meta())
    with pytest.raises(EvaluatorError, match=r"missing tensors fc2\.bias.*unexpected tensors extra"):
        MnistEvaluator.load(p2)


def test_non_safetensors_and_missing_files_are_refused(tmp_path):
    p = tmp_path / "weights.pt"
    torch.save(MnistCNN().state_dict(), p)          # a pickle: never loaded
    with pytest.raises(EvaluatorError, match="not a readable safetensors file"):
        MnistEvaluator.load(p)
    with pytest.raises(EvaluatorError, match="not found"):
        MnistEvaluator.load(tmp_path / "nope.safetensors")


def test_valid_copy_loads_and_cache_follows_file_changes(tmp_path, mnist):
    p = tmp_path / "copy.safetensors"
    p.write_bytes(DEFAULT_PATH.read_bytes())
    a = MnistEvaluator.load(p)
    assert a is MnistEvaluator.load(p) and a is not MnistEvaluator.load()
    np.testing.assert_array_equal(a.logits(mnist.test_x[:50]), MnistEvaluator.load().logits(mnist.test_x[:50]))
    # rewriting the file (e.g. retraining) is picked up by the next load
    t = _shipped_tensors()
    t["fc2.bias"] = t["fc2.bias"] + 1.0
    save_file(t, str(p), metadata=_meta(test_accuracy="0.9900"))
    b = MnistEvaluator.load(p)
    assert b is not a and b.accuracy == 0.99
    clear_cache()
    assert MnistEvaluator.load(p) is not b
