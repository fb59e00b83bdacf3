"""Hostile configs: every bad input ends in one ConfigError line, never another exception,
and whatever is accepted lies inside the declared ranges."""
from __future__ import annotations

import dataclasses
import datetime
import math
import os
import time

import numpy as np
import pytest
import tomli_w
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines import OptimConfig, engine_names, get_engine
from studio.core import device as device_mod
from studio.core.config import (SEED_MAX, ConfigError, RunConfig, RunSection, config_from_dict,
                           default_config, load_config, parse_config)
from studio.core.data import DATA_SOURCES
from studio.core.device import pick_device
from studio.core.options import field_default

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW_CALL_S = 2.0     # a config is checked in milliseconds; this catches a hang or a blow-up

SECTION_CLASSES = {"run": [RunSection], "optim": [OptimConfig],
                   "model": [get_engine(n).Config for n in engine_names()],
                   "data": [s.options for s in DATA_SOURCES.values()]}
FIELD_NAMES = {s: sorted({f.name for c in cs for f in dataclasses.fields(c)})
               for s, cs in SECTION_CLASSES.items()}
CHOICES = sorted({c for cs in SECTION_CLASSES.values() for cls in cs
                  for f in dataclasses.fields(cls) for c in (f.metadata.get("choices") or ())},
                 key=repr)
BOUNDS = sorted({b for cs in SECTION_CLASSES.values() for cls in cs
                 for f in dataclasses.fields(cls)
                 for b in (f.metadata.get("min"), f.metadata.get("max")) if b is not None},
                key=repr)


def _engine_fields():
    for name in engine_names():
        for f in dataclasses.fields(get_engine(name).Config):
            yield "model", name, f
    for section, cls in (("run", RunSection), ("optim", OptimConfig)):
        for f in dataclasses.fields(cls):
            yield section, "vae", f


ALL_FIELDS = list(_engine_fields())
NUMERIC_FIELDS = [(s, e, f) for s, e, f in ALL_FIELDS if type(field_default(f)) in (int, float)]


def _ids(items):
    return [f"{s}.{f.name}" + (f"[{e}]" if s == "model" else "") for s, e, f in items]


def _cfg(section: str, engine: str, key: str, value) -> dict:
    d = {"model": {"engine": engine}}
    d.setdefault(section, {})[key] = value
    return d


def _cross_field(msg: str) -> bool:
    """A refusal by a check across keys (GAN batch rules, an engine's validate())."""
    return "run.batch_size" in msg or "needs" in msg


def _one_line_error(fn, *args) -> str:
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        fn(*args)
    assert time.perf_counter() - t0 < SLOW_CALL_S
    msg = str(err.value)
    assert msg and "\n" not in msg and len(msg) < 2000, msg
    return msg


# ------------------------------------------------------------------------ hostile values
hostile_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.sampled_from([-1, 0, 1, 2, 3, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 63 - 1, 2 ** 63, 2 ** 64,
                     -(2 ** 63) - 1, -(10 ** 400)]),
    st.just(5000).map(lambda n: 10 ** n),    # past the 4300 digits str() will print
    st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, 5e-324, 1e308, -0.0]),
    st.text(max_size=12), st.sampled_from(["", "\x00", "\ud800", "é", "🙂" * 40, "1e400", "nan"]),
    st.sampled_from(CHOICES), st.sampled_from(BOUNDS),
    st.builds(lambda b, d: b + d, st.sampled_from(BOUNDS), st.sampled_from([-1, -1e-9, 1e-9, 1])),
    st.dates(), st.datetimes(), st.times(),
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)
any_key = st.one_of(st.text(max_size=10), st.integers(), st.sampled_from(["", "\x00", "name"]))


def _section(name: str):
    keys = st.one_of(st.sampled_from(FIELD_NAMES[name]), any_key)
    return st.dictionaries(keys, hostile_values, max_size=4)


@st.composite
def config_dicts(draw):
    d = {}
    for name in ("run", "data", "model", "optim"):
        if draw(st.booleans()):
            d[name] = draw(st.one_of(_section(name), hostile_values)) if draw(
                st.integers(0, 9)) == 0 else draw(_section(name))
    if isinstance(d.get("model"), dict) and draw(st.integers(0, 9)) > 0:
        d["model"]["engine"] = draw(st.one_of(st.sampled_from(engine_names()), hostile_values))
    if isinstance(d.get("data"), dict) and draw(st.booleans()):
        d["data"]["name"] = draw(st.one_of(st.sampled_from(sorted(DATA_SOURCES)), hostile_values))
    if draw(st.integers(0, 19)) == 0:
        d[draw(any_key)] = draw(hostile_values)
    return d


def assert_within_declared_ranges(cfg: RunConfig) -> None:
    for obj in (cfg.run, cfg.data, cfg.model, cfg.optim):
        for f in dataclasses.fields(obj):
            v, meta = getattr(obj, f.name), f.metadata
            expected = type(field_default(f))
            assert type(v) is expected, (f.name, v)
            if meta.get("choices") is not None:
                assert v in meta["choices"], (f.name, v)
            if expected in (int, float):
                assert math.isfinite(v), (f.name, v)
                assert meta.get("min") is None or v >= meta["min"], (f.name, v)
                assert meta.get("max") is None or v <= meta["max"], (f.name, v)
                assert -(2 ** 63) <= v <= 2 ** 63 - 1, (f.name, v)


def _accepts_or_config_error(fn, arg) -> None:
    t0 = time.perf_counter()
    try:
        cfg = fn(arg)
    except ConfigError as e:
        msg = str(e)
        assert msg and "\n" not in msg and len(msg) < 2000, msg
    else:
        assert_within_declared_ranges(cfg)
        assert parse_config(cfg.to_toml()).to_dict() == cfg.to_dict()
    assert time.perf_counter() - t0 < SLOW_CALL_S


@FUZZ
@given(config_dicts())
def test_fuzzed_config_dicts_only_raise_config_error(d):
    _accepts_or_config_error(config_from_dict, d)


@FUZZ
@given(config_dicts(), st.lists(st.tuples(st.integers(0, 10 ** 6), st.text(max_size=3)), max_size=3))
def test_fuzzed_toml_texts_only_raise_config_error(d, edits):
    try:
        text = tomli_w.dumps(d)
    except (TypeError, ValueError):       # None, non-text keys: not expressible in TOML
        text = str(list(d))
    for pos, piece in edits:              # break the syntax here and there
        pos %= len(text) + 1
        text = text[:pos] + piece + text[pos:]
    _accepts_or_config_error(parse_config, text)


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_fuzzed_files_only_raise_config_error(tmp_path_factory, raw):
    path = tmp_path_factory.getbasetemp() / "fuzzed.toml"
    path.write_bytes(raw)
    _accepts_or_config_error(load_config, path)


@FUZZ
@given(st.sampled_from(NUMERIC_FIELDS), st.one_of(st.integers(), st.floats()))
def test_numbers_accepted_only_inside_the_declared_range(item, value):
    section, engine, f = item
    lo, hi = f.metadata["min"], f.metadata["max"]
    finite = isinstance(value, int) or math.isfinite(value)
    whole = isinstance(value, int) or (finite and value.is_integer())
    inside = finite and lo <= value <= hi and (type(field_default(f)) is float or whole)
    try:
        cfg = config_from_dict(_cfg(section, engine, f.name, value))
    except ConfigError as e:
        assert not inside or _cross_field(str(e)), (value, str(e))
    else:
        assert inside, value
        assert_within_declared_ranges(cfg)


# ------------------------------------------------------------------------ declared ranges
@pytest.mark.parametrize("section, engine, f", NUMERIC_FIELDS, ids=_ids(NUMERIC_FIELDS))
def test_every_number_has_a_range_and_its_edges_hold(section, engine, f):
    lo, hi = f.metadata["min"], f.metadata["max"]
    assert lo is not None and hi is not None, f"{section}.{f.name} needs min and max"
    where = f"{section}.{f.name}"
    step = 1 if type(field_default(f)) is int else max(abs(hi), 1.0) * 1e-6
    for bad in (lo - step, hi + step, math.nan, math.inf, -math.inf):
        assert where in _one_line_error(config_from_dict, _cfg(section, engine, f.name, bad))
    for good in (lo, hi):
        try:
            config_from_dict(_cfg(section, engine, f.name, good))
        except ConfigError as e:     # only a cross-field check may refuse an edge value
            assert _cross_field(str(e)), str(e)


WRONG_TYPES = [["vae"], {"x": 1}, [], {}, datetime.date(2024, 1, 1)]


@pytest.mark.parametrize("section, engine, f", ALL_FIELDS, ids=_ids(ALL_FIELDS))
def test_every_key_refuses_the_wrong_type_naming_key_and_type(section, engine, f):
    expected = type(field_default(f))
    wrong = list(WRONG_TYPES)
    if expected in (int, float):
        wrong += ["3", True, False]          # bool is an int to Python, not to a config
        if expected is int:
            wrong += [2.5]
    elif expected is bool:
        wrong += [1, 0, "true"]
    elif expected is str:
        wrong += [1.5, True]
    for value in wrong:
        msg = _one_line_error(config_from_dict, _cfg(section, engine, f.name, value))
        assert f"{section}.{f.name}" in msg and "expected" in msg, msg


@pytest.mark.parametrize("value", [["vae"], {"name": "vae"}, 3, True, ""])
def test_engine_of_the_wrong_type_or_name(value):
    msg = _one_line_error(config_from_dict, {"model": {"engine": value}})
    assert "model.engine" in msg and "vae" in msg


@pytest.mark.parametrize("value", [["mnist"], {"name": "mnist"}, 3, False])
def test_data_name_of_the_wrong_type(value):
    msg = _one_line_error(config_from_dict, {"data": {"name": value}, "model": {"engine": "vae"}})
    assert "data.name" in msg and "mnist" in msg


@pytest.mark.parametrize("d", [[], "run", {"run": [1]}, {"run": {"seed": 1}, 7: {}},
                               {"run": {7: 1}, "model": {"engine": "vae"}}, {"\n": {}},
                               {"run": {"a\nb": 1}, "model": {"engine": "vae"}}])
def test_malformed_top_level(d):
    _one_line_error(config_from_dict, d)


# ------------------------------------------------------------------------ seeds
@pytest.mark.parametrize("seed", [-1, -(2 ** 63), SEED_MAX + 1, 2 ** 63, 2 ** 64, 10 ** 5000],
                         ids=["-1", "-2^63", "max+1", "2^63", "2^64", "10^5000"])
def test_seed_out_of_range(seed):
    msg = _one_line_error(config_from_dict, {"run": {"seed": seed}, "model": {"engine": "vae"}})
    assert "run.seed" in msg and f"0 to {SEED_MAX}" in msg and len(msg) < 200


def test_largest_seed_works_for_every_consumer():
    from studio.core.training import EVAL_Z_SEED_OFFSET
    cfg = config_from_dict({"run": {"seed": SEED_MAX}, "model": {"engine": "vae"}})
    seed = cfg.run.seed
    torch.Generator().manual_seed(seed)
    torch.Generator().manual_seed(seed + EVAL_Z_SEED_OFFSET)
    np.random.default_rng(np.random.SeedSequence([seed, 0x5F117]))
    np.random.default_rng(seed).integers(10)
    np.random.RandomState(seed)               # the strictest of them: below 2**32


# ------------------------------------------------------------------------ devices
@pytest.fixture
def cpu_only(monkeypatch):
    monkeypatch.setattr(device_mod, "available_devices", lambda: ["cpu"])
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.mark.parametrize("name", ["cuda", "mps", "cuda:0"])
def test_absent_device_is_a_config_error_listing_the_present_ones(cpu_only, name):
    msg = _one_line_error(pick_device, name)
    assert msg == (f"run.device: {name!r} is not available on this machine; "
                   "available: cpu (or 'auto')")


@pytest.mark.parametrize("name", ["gpu7", "cuda:abc", "cuda:", "cuda:-1", "cpu:0", "cuda:١", "", "CUDA"])
def test_bogus_device_is_a_config_error(name):
    assert "run.device" in _one_line_error(pick_device, name)


def test_numbered_cuda_checked_against_the_device_count(monkeypatch):
    monkeypatch.setattr(device_mod, "available_devices", lambda: ["cpu", "cuda"])
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert "cuda:0" in _one_line_error(pick_device, "cuda:3")
    assert "run.device" in _one_line_error(pick_device, "cuda:abc")    # not torch's RuntimeError


def test_a_gpu_config_still_loads_on_a_cpu_machine(cpu_only, tmp_path):
    # a run trained on a GPU opens for viewing anywhere; only training there is refused
    p = tmp_path / "config.toml"
    default_config("vae", "ring8").replace(run={"device": "cuda"}).save(p)
    cfg = load_config(p)
    assert cfg.run.device == "cuda" and pick_device("cpu").type == "cpu"
    assert "not available" in _one_line_error(pick_device, cfg.run.device)


def test_auto_and_cpu_pick_a_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in ("cpu", "cuda", "mps")


# ------------------------------------------------------------------------ cross-field checks
def _gan(batch_size, **model):
    return {"run": {"batch_size": batch_size}, "data": {"name": "ring8"},
            "model": {"engine": "gan", **model}}


def test_pack_must_divide_the_batch():
    msg = _one_line_error(config_from_dict, _gan(64, pack=3))
    assert "run.batch_size" in msg and "model.pack" in msg
    assert config_from_dict(_gan(63, pack=3)).model.pack == 3


@pytest.mark.parametrize("model, batch, keys", [
    ({}, 1, ["model.g_norm", "run.batch_size"]),                    # default G has BatchNorm
    ({"g_norm": "none", "d_norm": "batch", "pack": 2}, 2, ["model.d_norm", "model.pack"]),
    ({"g_norm": "none", "mmd_weight": 1.0}, 1, ["model.mmd_weight", "run.batch_size"]),
    ({"n_critic": 100}, 20000, ["model.n_critic", "run.batch_size"]),
    ({"wgan_warmup": True, "loss": "wgan"}, 20000, ["wgan_warmup", "run.batch_size"]),
])
def test_gan_batch_constraints(model, batch, keys):
    msg = _one_line_error(config_from_dict, _gan(batch, **model))
    for k in keys:
        assert k in msg, msg


def test_gan_batch_constraints_allow_the_edges():
    config_from_dict(_gan(2))
    config_from_dict(_gan(4, g_norm="none", d_norm="batch", pack=2))
    config_from_dict(_gan(1, g_norm="none"))
    config_from_dict(_gan(1048, n_critic=1000))            # 1,048,000 samples a step


@pytest.mark.parametrize("name", engine_names())
def test_engine_defaults_validate_with_the_default_run(name):
    cfg = config_from_dict({"model": {"engine": name}})
    assert_within_declared_ranges(cfg)


# ------------------------------------------------------------------------ files and TOML
@pytest.mark.parametrize("text, piece", [
    ("[model\nengine='vae'", "not valid TOML"),
    ("[run]\nseed = " + "9" * 5000 + "\n[model]\nengine='vae'", "not valid TOML"),
    ("a = " + "[" * 50000 + "]" * 50000, "not valid TOML"),
    ("[[run]]\nseed = 1\n[model]\nengine='vae'", "[run] must be a table"),
    ("run = 3\n[model]\nengine='vae'", "[run] must be a table"),
    ("[model]\nengine = ['vae']", "model.engine"),
    ("[run]\nseed = 1979-05-27\n[model]\nengine='vae'", "run.seed"),
    ("[optim]\nlr = nan\n[model]\nengine='vae'", "optim.lr"),
    ("[optim]\nlr = inf\n[model]\nengine='vae'", "optim.lr"),
    ("[run]\nsteps = 1e400\n[model]\nengine='vae'", "run.steps"),
    ("[data]\nname = 'folder'\npath = \"a\\u0000b\"\n[model]\nengine='vae'", "data.path"),
])
def test_bad_toml_is_one_config_error_line(text, piece):
    assert piece in _one_line_error(parse_config, text)


def test_bad_config_files_are_one_config_error_line(tmp_path):
    (tmp_path / "folder.toml").mkdir()
    assert "folder" in _one_line_error(load_config, tmp_path / "folder.toml")
    (tmp_path / "latin1.toml").write_bytes("[model]\nengine = 'vaé'".encode("latin-1"))
    assert "UTF-8" in _one_line_error(load_config, tmp_path / "latin1.toml")
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as fh:
        fh.write(b"[model]\nengine = 'vae'\n")
        fh.write(b"#" * (4 << 20))
    assert "too large" in _one_line_error(load_config, huge)
    assert "no such" in _one_line_error(load_config, tmp_path / "missing.toml")
    if hasattr(os, "mkfifo"):               # reading a FIFO would block for ever
        os.mkfifo(tmp_path / "fifo.toml")
        assert "not a regular file" in _one_line_error(load_config, tmp_path / "fifo.toml")
