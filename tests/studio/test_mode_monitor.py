"""ModeMonitor: class histogram, coverage, KL, diversity, near-duplicates and edge-triggered
alerts of fixed-z sample batches, on real MNIST images (healthy) and a collapsed batch (the
same three digits repeated with tiny noise); history files; alert snapshots."""
from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from engines.spec import DataSpec
from studio.core.mode_monitor import (
    HISTORY_FILE, UNAVAILABLE_POINTS, AlertRules, ModeMonitor, ModeRecord, alert_snapshot_path,
    append_history, history_path, read_history, save_alert_snapshot, truncate_history,
)

ROOT = Path(__file__).resolve().parents[2]
N = 64


@pytest.fixture(scope="module")
def mnist():
    with np.load(ROOT / "assets" / "mnist.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def monitor_proto(mnist):
    """Built once (the 2,000-image reference pool takes ~0.6 s); tests take fresh copies of
    its state through `fresh`."""
    return ModeMonitor(mnist["x_train"][:, None], mnist["y_train"])


@pytest.fixture
def monitor(monitor_proto):
    monitor_proto.restore([])
    return monitor_proto


def real_batch(mnist, k=0, n=N):
    return mnist["x_test"][k * n:(k + 1) * n, None].astype(np.float32) / 255.0


def collapsed_batch(mnist, n=N, seed=0, digits=(0, 1, 2)):
    """n samples that are the same three test images (a 7, a 2 and a 1) plus tiny noise."""
    rng = np.random.default_rng(seed)
    base = mnist["x_test"][list(digits), None].astype(np.float32) / 255.0
    pick = rng.integers(0, len(base), n)
    return np.clip(base[pick] + rng.normal(0, 0.01, (n, 1, 28, 28)), 0, 1).astype(np.float32), pick


# -- the reference ------------------------------------------------------------------------

def test_reference_pool_and_baselines(monitor):
    assert monitor.uses_evaluator and monitor.space == "features"
    assert monitor.pool_size == 2000 and monitor.num_classes == 10
    assert monitor.evaluator_agreement > 0.98          # the evaluator's classes are MNIST's
    q = monitor.data_hist
    assert q.shape == (10,) and abs(q.sum() - 1) < 1e-12 and np.all(q > 0.07) and np.all(q < 0.13)
    # the threshold is the 1st percentile of real nearest-neighbour distances
    assert monitor.duplicate_threshold == pytest.approx(np.percentile(monitor.real_nn_distances, 1))
    b = monitor.baseline(N)
    assert monitor.baseline(N) is b                      # computed once per batch size
    assert b.classes_covered > 9.9 and 0.02 < b.kl < 0.15    # ~ (K - 1) / (2N) = 0.07
    assert b.diversity > 20 and 0 < b.diversity_std < 0.1 * b.diversity
    assert b.duplicate_pairs < 0.2                       # almost never a false alarm


def test_real_images_look_healthy(monitor, mnist):
    for k in range(3):
        rec = monitor.update(1000 * (k + 1), real_batch(mnist, k))
        assert rec.n == N and rec.num_classes == 10
        assert rec.class_hist.shape == (10,) and abs(rec.class_hist.sum() - 1) < 1e-9
        assert rec.class_hist.max() < 0.25                # ~uniform: 10% each, +- sampling
        assert rec.classes_covered == 10
        assert rec.kl_to_data < 0.2
        assert abs(rec.diversity - rec.real_diversity) < max(4 * rec.real_diversity_std,
                                                             0.08 * rec.real_diversity)
        assert rec.duplicates == [] and rec.duplicate_pairs == 0 and rec.duplicate_share == 0
        assert rec.alert is None
    assert [r.step for r in monitor.records] == [1000, 2000, 3000]
    assert not monitor.alerting


def test_uint8_and_float_samples_agree(monitor, mnist):
    x8 = mnist["x_test"][:N, None]
    a = monitor.measure(1, x8)
    b = monitor.measure(1, x8.astype(np.float32) / 255.0)
    np.testing.assert_allclose(a.class_hist, b.class_hist)
    assert a.diversity == pytest.approx(b.diversity, rel=1e-5)


def test_collapsed_batch_alerts_once(monitor, mnist):
    for k in range(2):
        assert monitor.update(1000 * (k + 1), real_batch(mnist, k)).alert is None
    x, pick = collapsed_batch(mnist)
    rec = monitor.update(3000, x)
    assert rec.classes_covered <= 3
    assert set(np.flatnonzero(rec.class_hist)) <= {7, 2, 1}
    assert rec.kl_to_data > 1.0                          # log(10/3) = 1.20 for 3 equal classes
    assert rec.diversity < 0.7 * rec.real_diversity
    assert rec.duplicate_share == 1.0 and rec.duplicate_pairs > 100
    assert len(rec.duplicates) == 32                     # the 32 closest are kept
    for i, j, d in rec.duplicates:
        assert i < j and pick[i] == pick[j] and d < rec.duplicate_threshold
    assert [d for _, _, d in rec.duplicates] == sorted(d for _, _, d in rec.duplicates)
    assert rec.alert and "coverage dropped to 3 of 10 classes (best 10" in rec.alert
    assert "KL" in rec.alert and "near-duplicate" in rec.alert
    assert monitor.alerting
    # edge-triggered: the same collapse again does not alert again ...
    for s in (4000, 5000):
        assert monitor.update(s, collapsed_batch(mnist, seed=s)[0]).alert is None
    # ... recovery re-arms it, and a new drop alerts once more
    assert monitor.update(6000, real_batch(mnist, 3)).alert is None
    assert not monitor.alerting
    again = monitor.update(7000, collapsed_batch(mnist, seed=7)[0])
    assert again.alert is not None
    assert sum(r.alert is not None for r in monitor.records) == 2


def test_early_garbage_does_not_alert(monitor, mnist):
    """An untrained model (collapsed from the start) never alerts: rules are relative to
    the best seen so far and diversity / duplicates arm only after a healthy snapshot."""
    for s in range(1, 5):
        assert monitor.update(100 * s, collapsed_batch(mnist, seed=s)[0]).alert is None
    assert not monitor.alerting


def test_collapsed_from_the_first_snapshot_alerts_once_it_is_old_enough(monitor, mnist):
    """A GAN that never covered the classes never "drops": the absolute rule fires when
    fewer than half of the classes a real batch covers persist for 3 snapshots in a row,
    from step 1000 on (AlertRules.low_coverage*)."""
    alerts = []
    for s in range(250, 2001, 250):
        rec = monitor.update(s, collapsed_batch(mnist, seed=s)[0])
        alerts.append((s, rec.alert))
    fired = [(s, a) for s, a in alerts if a]
    assert [s for s, _ in fired] == [1000]                     # once, not before step 1000
    assert fired[0][1] == ("Possible mode collapse: only 3 of 10 classes since step 250.")
    assert monitor.alerting
    # recovery re-arms it
    assert monitor.update(2250, real_batch(mnist, 0)).alert is None
    assert not monitor.alerting


def test_a_healthy_run_that_starts_narrow_does_not_alert(monitor, mnist):
    """Early snapshots of a healthy model cover few classes (a VAE: 1 class at steps 100 and
    200, 6 at 300; a DDPM: 4 at step 250, 8 at 500): no alert, even when it takes until
    just before step 1000 to spread out."""
    for s in range(100, 1000, 100):
        assert monitor.update(s, collapsed_batch(mnist, seed=s)[0]).alert is None
    for k, s in enumerate(range(1000, 3001, 250)):
        assert monitor.update(s, real_batch(mnist, k)).alert is None
    assert not any(r.alert for r in monitor.records)


def test_the_low_coverage_streak_needs_consecutive_snapshots(monitor, mnist):
    three, four, five = (0, 1, 2), (0, 1, 2, 3), (0, 1, 2, 3, 4)    # distinct test digits
    monitor.update(1000, collapsed_batch(mnist, seed=1, digits=four)[0])
    monitor.update(1100, collapsed_batch(mnist, seed=2, digits=four)[0])
    monitor.update(1200, collapsed_batch(mnist, seed=3, digits=five)[0])   # 5 of 10: not low
    assert monitor.update(1300, collapsed_batch(mnist, seed=4, digits=four)[0]).alert is None
    assert monitor.update(1400, collapsed_batch(mnist, seed=5, digits=four)[0]).alert is None
    rec = monitor.update(1500, collapsed_batch(mnist, seed=6, digits=four)[0])
    assert rec.alert == "Possible mode collapse: only 4 of 10 classes since step 1300."
    # the message says when the streak covered more than it does now
    monitor.restore([])
    for s, digits in ((1000, three), (1100, four), (1200, three)):
        rec = monitor.update(s, collapsed_batch(mnist, seed=s, digits=digits)[0])
    assert rec.alert == "Possible mode collapse: only 3 of 10 classes, at most 4 since step 1000."


def test_reloading_a_collapsed_history_does_not_alert_again(monitor, mnist):
    for s in (500, 750, 1000, 1250):
        monitor.update(s, collapsed_batch(mnist, seed=s)[0])
    records = list(monitor.records)
    assert sum(r.alert is not None for r in records) == 1
    monitor.restore(records)
    assert monitor.alerting
    assert monitor.update(1500, collapsed_batch(mnist, seed=9)[0]).alert is None


def test_small_coverage_wobble_does_not_alert(monitor, mnist):
    monitor.update(1, real_batch(mnist, 0))
    x = real_batch(mnist, 1)
    preds = monitor._evaluator.predict(x)
    nine = np.flatnonzero(preds != 3)[:N]                # one class missing: a drop of 1
    rec = monitor.update(2, x[nine])
    assert rec.classes_covered == 9 and rec.alert is None


def test_rewinding_steps_drops_later_records(monitor, mnist):
    for s in (100, 200, 300):
        monitor.update(s, real_batch(mnist, s // 100))
    monitor.update(200, real_batch(mnist, 5))            # resumed from the step-150 checkpoint
    assert [r.step for r in monitor.records] == [100, 200]


def test_tiny_and_odd_batches(monitor, mnist):
    rec = monitor.update(1, real_batch(mnist, 0, n=1))
    assert math.isnan(rec.diversity) and rec.duplicates == [] and rec.classes_covered == 1
    x = real_batch(mnist, 0)
    x[0] = np.nan                                        # a diverged sample is scored as black
    assert np.isfinite(monitor.measure(2, x).diversity)
    with pytest.raises(ValueError, match="per image"):
        monitor.measure(3, np.zeros((4, 3, 28, 28), np.float32))


# -- pixel space (no evaluator) ------------------------------------------------------------

def test_pixel_space_without_evaluator(mnist):
    pad = np.pad(mnist["x_train"][:3000, None], ((0, 0), (0, 0), (2, 2), (2, 2)))   # 1x32x32
    m = ModeMonitor(pad, pool=1000)
    assert not m.uses_evaluator and m.space == "pixels" and m.data_hist is None
    real = np.pad(mnist["x_test"][:N, None], ((0, 0), (0, 0), (2, 2), (2, 2)))
    rec = m.update(1, real)
    assert rec.class_hist is None and rec.classes_covered is None and rec.kl_to_data is None
    assert 0 < rec.diversity < 1 and rec.duplicates == []
    coll = np.pad(collapsed_batch(mnist)[0], ((0, 0), (0, 0), (2, 2), (2, 2)))
    bad = m.update(2, coll)
    assert bad.duplicate_share == 1.0 and bad.diversity < rec.diversity
    assert bad.alert and "near-duplicate" in bad.alert
    big = ModeMonitor(np.random.default_rng(0).integers(0, 255, (50, 3, 64, 64), dtype=np.uint8))
    assert big._pool_feats.shape == (50, 3 * 32 * 32)     # area-averaged to 32x32


def test_for_dataset_refuses_points():
    ds = SimpleNamespace(spec=DataSpec(kind="points", dim=2), train_x=np.zeros((10, 2)),
                         train_y=None)
    with pytest.raises(ValueError, match="needs image data"):
        ModeMonitor.for_dataset(ds)
    assert "2D runs use the canvas" in UNAVAILABLE_POINTS


def test_for_dataset_mnist(mnist):
    ds = SimpleNamespace(spec=DataSpec(kind="images", channels=1, height=28, width=28,
                                       num_classes=10),
                         train_x=mnist["x_train"][:600, None], train_y=mnist["y_train"][:600])
    m = ModeMonitor.for_dataset(ds, pool=500)
    assert m.uses_evaluator and m.pool_size == 500 and m.evaluator_agreement > 0.97


# -- history ------------------------------------------------------------------------------

def test_history_round_trips_through_jsonl(monitor, mnist, tmp_path):
    path = history_path(tmp_path)
    assert path.name == HISTORY_FILE
    monitor.update(1000, real_batch(mnist, 0))
    monitor.update(2000, collapsed_batch(mnist)[0])
    append_history(path, monitor.records)
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(l)["step"] for l in lines)
    back = read_history(path)
    for a, b in zip(monitor.records, back):
        assert isinstance(b, ModeRecord)
        assert (a.step, a.n, a.classes_covered, a.num_classes, a.alert, a.duplicate_pairs) == \
               (b.step, b.n, b.classes_covered, b.num_classes, b.alert, b.duplicate_pairs)
        np.testing.assert_allclose(a.class_hist, b.class_hist, atol=1e-6)
        np.testing.assert_allclose(a.data_hist, b.data_hist, atol=1e-6)
        assert b.kl_to_data == pytest.approx(a.kl_to_data, abs=1e-6)
        assert b.diversity == pytest.approx(a.diversity, abs=1e-5)
        assert b.real_diversity_std == pytest.approx(a.real_diversity_std, abs=1e-5)
        assert [(i, j) for i, j, _ in b.duplicates] == [(i, j) for i, j, _ in a.duplicates]
        assert b.to_dict() == ModeRecord.from_dict(b.to_dict()).to_dict()
    assert back[1].alert is not None


def test_reloaded_history_keeps_the_alert_state(monitor, mnist, tmp_path):
    path = history_path(tmp_path)
    monitor.update(1000, real_batch(mnist, 0))
    monitor.update(2000, collapsed_batch(mnist)[0])
    append_history(path, monitor.records)
    fresh = monitor
    fresh.restore([])
    recs = fresh.load_history(path)
    assert [r.step for r in recs] == [1000, 2000] and fresh.alerting
    assert fresh.update(3000, collapsed_batch(mnist, seed=3)[0]).alert is None   # already reported


def test_history_file_edits(tmp_path, mnist, monitor):
    path = tmp_path / HISTORY_FILE
    for s in (100, 200, 300):
        append_history(path, [monitor.measure(s, real_batch(mnist, 0))])
    with open(path, "a") as f:
        f.write('{"step": 400, "n": 6')                   # cut short by a crash
    assert [r.step for r in read_history(path)] == [100, 200, 300]
    assert [r.step for r in read_history(path, max_step=250)] == [100, 200]
    append_history(path, [monitor.measure(200, real_batch(mnist, 1))])   # resumed at 150
    assert [r.step for r in read_history(path)] == [100, 200]
    truncate_history(path, 100)
    assert [r.step for r in read_history(path)] == [100]
    assert read_history(tmp_path / "missing.jsonl") == []


# -- alert snapshot -----------------------------------------------------------------------

def test_save_alert_snapshot(tmp_path, mnist):
    from PIL import Image
    (tmp_path / "config.toml").write_text("[run]\nseed = 3\n")
    x, _ = collapsed_batch(mnist, n=16)
    path = save_alert_snapshot(tmp_path, 1500, x, "Possible mode collapse: test.",
                               duplicates=[(0, 5, 0.1)], engine="gan", seed=3)
    assert path == alert_snapshot_path(tmp_path, 1500) == tmp_path / "samples" / "alert-step00001500.png"
    with Image.open(path) as im:
        meta = dict(im.text)
        px = np.asarray(im.convert("RGB"))
    assert meta["alert"] == "Possible mode collapse: test." and meta["step"] == "1500"
    assert meta["engine"] == "gan" and meta["seed"] == "3" and "seed = 3" in meta["config"]
    assert meta["duplicates"].startswith("0-5:")
    red = (px[..., 0] > 200) & (px[..., 1] < 80) & (px[..., 2] < 80)
    assert red[2, 2:30].all() and red[2:30, 2].all()     # sample 0 framed (grid pad = 2)
    assert not red[2:30, 32:60].any()                     # sample 1 is not
    # no duplicates: the plain grayscale grid
    plain = save_alert_snapshot(tmp_path, 1600, (x * 255).astype(np.uint8), "m")
    with Image.open(plain) as im:
        assert im.mode == "L"


# -- the module boundary --------------------------------------------------------------------

def test_module_is_qt_free():
    tree = ast.parse((ROOT / "studio" / "core" / "mode_monitor.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(x.split(".")[0] in ("PySide6", "pyqtgraph", "widgets") for x in names)


def test_alert_rules_are_configurable(mnist):
    m = ModeMonitor(mnist["x_train"][:400, None], pool=400, rules=AlertRules(coverage_drop=1))
    m.update(1, real_batch(mnist, 0))
    x = real_batch(mnist, 1)
    keep = np.flatnonzero(m._evaluator.predict(x) != 3)
    assert "coverage dropped to 9" in m.update(2, x[keep]).alert
