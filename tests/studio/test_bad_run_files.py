"""Hostile run folders and command lines (hypothesis): tampered metrics, status, manifests
and training states, run files that are folders, fuzzed flags. Whatever the input, the user
gets a result or one clean message (CheckpointError / exit code 2), never a traceback, and
a bad line is skipped and reported, not silently dropped."""
import hashlib
import json
import shutil
import string
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from studio.core.cli import main
from studio.core.runs import RUN_STATES, CheckpointError, Run
from studio.core.training import Trainer

from .helpers import tiny_points_config

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    t = Trainer.create(tiny_points_config("ae", steps=10), root / "run")
    t.train()
    return root / "run"


def _copy(trained, tmp_path, name="run"):
    dst = tmp_path / name
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(trained, dst)
    return dst


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12)


@FUZZ
@given(lines=st.lists(st.one_of(
    st.binary(max_size=40),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"step": st.integers(0, 100)},
                          optional={"loss/total": st.floats(allow_nan=True), "x": json_values})
    .map(lambda d: json.dumps(d).encode())), max_size=12))
def test_metrics_lines_are_kept_or_reported(tmp_path, lines):
    run_dir = tmp_path / "m"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "metrics.jsonl").write_bytes(b"\n".join(l.replace(b"\n", b" ") for l in lines))
    records, skipped = Run(run_dir).read_metrics_report()
    for r in records:
        assert isinstance(r, dict) and isinstance(r["step"], int) and r["step"] >= 0
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in r.values())
    non_blank = [l for l in (b"\n".join(l.replace(b"\n", b" ") for l in lines)).splitlines() if l.strip()]
    assert len(records) + len(skipped) == len(non_blank)      # nothing dropped in silence


@FUZZ
@given(data=st.one_of(st.binary(max_size=60), json_values.map(lambda v: json.dumps(v).encode())))
def test_status_of_any_content_is_a_known_state(tmp_path, data):
    (tmp_path / "status.json").write_bytes(data)
    s = Run(tmp_path).status()
    assert s["state"] in RUN_STATES and (s["step"] is None or isinstance(s["step"], int))


def _rewrite(folder, name, data):
    (folder / name).write_bytes(data)
    m = json.loads((folder / "manifest.json").read_text())
    m["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(m))


tensors = st.one_of(
    st.integers(0, 5).map(lambda n: torch.zeros(n)),
    st.integers(0, 600).map(lambda n: torch.arange(n)),
    st.integers(0, 600).map(lambda n: torch.randperm(n)),
    st.just(torch.full((512,), 10 ** 6, dtype=torch.int64)),
    st.just(torch.zeros(3, dtype=torch.uint8)))
field_values = st.one_of(json_values, tensors, st.lists(tensors, max_size=2))
STATE_FIELDS = [("step",), ("elapsed_s",), ("optim",), ("torch_rng",), ("sampler",),
                ("sampler", "perm"), ("sampler", "pos"), ("sampler", "epoch"),
                ("sampler", "generator"), ("optim", "opt")]


@FUZZ
@given(where=st.sampled_from(STATE_FIELDS), value=field_values)
def test_a_state_field_of_any_type_is_refused_cleanly(trained, tmp_path, where, value):
    run_dir = _copy(trained, tmp_path)
    run = Run(run_dir)
    folder = run.checkpoint_slots()[-1].folder
    state = torch.load(folder / "state.pt", weights_only=True)
    target = state
    for k in where[:-1]:
        target = target[k]
    target[where[-1]] = value
    buf = tmp_path / "s.pt"
    torch.save(state, buf)
    _rewrite(folder, "state.pt", buf.read_bytes())
    try:
        t = Trainer.load(run_dir)
    except CheckpointError as e:
        assert str(e)
        return
    t.train_one_step()        # accepted: then it must also train


@FUZZ
@given(meta=st.dictionaries(st.sampled_from(["format", "engine", "step", "config", "x"]),
                            st.text(string.printable, max_size=12), max_size=5))
def test_weights_metadata_of_any_value_is_refused_cleanly(trained, tmp_path, meta):
    from safetensors.torch import load_file, save_file
    run_dir = _copy(trained, tmp_path)
    folder = Run(run_dir).checkpoint_slots()[-1].folder
    weights = load_file(str(folder / "weights.safetensors"))
    save_file(weights, str(tmp_path / "w.safetensors"), metadata=meta)
    _rewrite(folder, "weights.safetensors", (tmp_path / "w.safetensors").read_bytes())
    try:
        Trainer.load(run_dir)
    except CheckpointError as e:
        assert str(e)


@FUZZ
@given(manifest=json_values)
def test_any_manifest_falls_back_to_the_previous_checkpoint(trained, tmp_path, manifest):
    run_dir = _copy(trained, tmp_path)
    run = Run(run_dir)
    older, newest = run.checkpoint_slots()[-2:]
    (newest.folder / "manifest.json").write_text(json.dumps(manifest))
    ckpt = run.load_checkpoint()
    assert ckpt.step == older.step and len(ckpt.skipped) == 1 and "manifest" in ckpt.skipped[0]


RUN_FILES = ["config.toml", "metrics.jsonl", "status.json", "evaluations.jsonl", "checkpoints",
             "samples", "mode_monitor.jsonl", "checkpoints/*/manifest.json",
             "checkpoints/*/weights.safetensors", "checkpoints/*/state.pt"]


@pytest.mark.parametrize("name", RUN_FILES)
def test_run_files_that_are_folders_give_one_line(trained, tmp_path, capsys, name):
    run_dir = _copy(trained, tmp_path)
    for p in (list(run_dir.glob(name)) or [run_dir / name]):
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
        (p / "inner").mkdir(parents=True)
    capsys.readouterr()
    codes = [main(["sample", str(run_dir), "--n", "4", "--out", str(tmp_path / "s")]),
             main(["eval", str(run_dir), "--n", "100", "--quiet"]),
             main(["train", "--resume", str(run_dir), "--steps", "12", "--quiet"])]
    err = capsys.readouterr().err
    assert set(codes) <= {0, 2}, (codes, err)
    assert "Traceback" not in err and "unexpected" not in err, err


flag_values = st.one_of(st.integers(-10 ** 20, 0), st.integers(10 ** 7, 10 ** 25),
                        st.integers(1, 20), st.text(string.printable, max_size=6))
SAMPLE_FLAGS = ["--n", "--seed", "--label", "--device"]


@FUZZ
@given(flags=st.dictionaries(st.sampled_from(SAMPLE_FLAGS), flag_values, max_size=4),
       command=st.sampled_from(["sample", "eval"]))
def test_fuzzed_flags_give_a_result_or_one_line(trained, tmp_path, capsys, flags, command):
    argv = [command, str(trained)]
    if command == "sample":
        argv += ["--out", str(tmp_path / "s")]
    else:
        flags.pop("--label", None)
        argv += ["--quiet"]
    for k, v in flags.items():
        argv += [k, str(v)]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:       # argparse's refusal: usage + one error line, exit 2
        code = e.code
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, err)
    assert "Traceback" not in err and "unexpected" not in err, (argv, err)
