"""Issue 19, silent wrong results and tracebacks: model folders, datasets, options and JSON, each
refused with one clear error; property-based tests find no other exception."""

from __future__ import annotations

import json
import os
import signal
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fer_live.engines.errors import FerError, ModelFileError
from tests.conftest import run_command

# ---------------------------------------------------------------- stop flag


def test_sigterm_sets_the_stop_flag_and_raises_nothing():
    from fer_live.engines.stopping import STOP, stop_on_signals

    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop and stop.signal_name == "SIGTERM" and stop.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is before  # a library caller gets its handler back
    STOP.clear()


# ---------------------------------------------------------------- model folders


def _spec(**overrides) -> dict:
    spec = {"architecture": "tiny", "input_shape": [48, 48, 1], "color": "gray"}
    spec.update(overrides)
    return spec


def _composite(root: Path, members, name: str = "combo") -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "members.json").write_text(json.dumps({"kind": "ensemble", "members": members}))
    return folder


@pytest.mark.parametrize(
    "members, message",
    [
        (["."], "cycle"),
        ([1, 2], "non-empty list"),
        ("tiny", "non-empty list"),
        ([], "non-empty list"),
        (["../.."], "outside the folder"),
        (["/etc"], "outside the folder"),
    ],
)
def test_bad_members_files_are_one_error(tmp_path, monkeypatch, members, message):
    from fer_live.engines.store import load_artifact

    monkeypatch.setenv("FER_MODEL_DIR", str(tmp_path / "store"))
    folder = _composite(tmp_path / "store", members)
    with pytest.raises(ModelFileError, match=message):
        load_artifact(str(folder))


def test_a_members_file_naming_its_own_name_is_a_cycle(tmp_path, monkeypatch):
    from fer_live.engines.store import load_artifact

    monkeypatch.setenv("FER_MODEL_DIR", str(tmp_path))
    _composite(tmp_path, ["combo", "tiny"])
    with pytest.raises(ModelFileError, match="cycle"):
        load_artifact("combo")


@pytest.mark.parametrize(
    "labels, message",
    [
        (["happy"] * 7, "twice"),
        (["angry", "disgust", "fear", "happy", "sad", "surprise"], "7 emotions"),
        ("happy", "list of emotion names"),
        (["joy", "disgust", "fear", "happy", "sad", "surprise", "neutral"], "not FER emotions"),
    ],
)
def test_bad_spec_labels_are_refused(labels, message):
    from fer_live.engines.spec import ModelSpec

    with pytest.raises(ModelFileError, match=message):
        ModelSpec.from_dict(_spec(labels=labels))


def test_spec_label_order_is_honoured(model_dir, tmp_path, monkeypatch):
    """A model whose spec lists its outputs in another order gives the same emotions."""
    import shutil

    from fer_live.engines.labels import EMOTIONS
    from fer_live.engines.model import FerModel

    monkeypatch.setenv("FER_MODEL_DIR", str(model_dir))
    reordered = tmp_path / "reordered"
    shutil.copytree(model_dir / "tiny", reordered)
    spec = json.loads((reordered / "spec.json").read_text())
    spec["labels"] = list(reversed(EMOTIONS))  # the same network, its columns named backwards
    (reordered / "spec.json").write_text(json.dumps(spec))
    faces = np.random.default_rng(0).integers(0, 256, (4, 48, 48), np.uint8)
    with FerModel.open("tiny", "single", "onnxruntime") as plain:
        expected = plain.predict_crops(list(faces)).probs
    with FerModel.open(str(reordered), "single", "onnxruntime") as model:
        got = model.predict_crops(list(faces)).probs
    np.testing.assert_allclose(got, expected[:, ::-1], atol=1e-6)


def test_non_utf8_spec_and_list_metrics_are_one_error(tmp_path):
    from fer_live.engines.artifacts import read_json
    from fer_live.engines.spec import load_spec

    (tmp_path / "spec.json").write_bytes(b"\xff\xfe{not utf-8")
    with pytest.raises(ModelFileError, match="cannot read spec"):
        load_spec(tmp_path)
    (tmp_path / "metrics.json").write_text("[1, 2, 3]")
    with pytest.raises(ModelFileError, match="JSON object"):
        read_json(tmp_path / "metrics.json")


def test_json_outputs_refuse_nan(tmp_path):
    from fer_live.engines.artifacts import write_json_atomic
    from fer_live.engines.errors import OutputError

    with pytest.raises(OutputError, match="non-finite"):
        write_json_atomic(tmp_path / "x.json", {"value": float("nan")})
    assert not list(tmp_path.iterdir())


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
_spec_like = st.fixed_dictionaries(
    {},
    optional={
        "architecture": _json_values,
        "input_shape": st.lists(st.integers(-2, 300), max_size=4) | _json_values,
        "color": st.sampled_from(["gray", "rgb", "cmyk"]) | _json_values,
        "normalization": st.sampled_from(["unit", "caffe", "lite", "x"]),
        "labels": st.lists(st.sampled_from(["happy", "sad", "fear", "angry", "x"]), max_size=8)
        | _json_values,
        "output": st.sampled_from(["softmax", "sigmoid", "linear"]) | _json_values,
        "test_time_flip": _json_values,
        "extra": _json_values,
    },
)


QUICK = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}


@settings(max_examples=150, **QUICK)
@given(spec=_spec_like | _json_values, members=_json_values, with_members=st.booleans())
def test_model_folder_loader_raises_only_its_own_errors(tmp_path_factory, spec, members,
                                                        with_members):
    from fer_live.engines.store import load_artifact

    folder = tmp_path_factory.mktemp("model")
    (folder / "spec.json").write_text(json.dumps(spec))
    if with_members:
        (folder / "members.json").write_text(json.dumps({"kind": "ensemble", "members": members}))
    try:
        artifact = load_artifact(str(folder))
        for leaf in artifact.members or (artifact,):
            leaf.spec  # noqa: B018 -- parsing the spec is the point
    except FerError:
        pass


# ---------------------------------------------------------------- datasets (fer-eval's loader)


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


GOOD_IMAGES = np.zeros((4, 48, 48), np.uint8)
GOOD_LABELS = np.array([0, 1, 2, 3])


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"images": GOOD_IMAGES, "labels": GOOD_LABELS[:, None]}, "one integer per image"),
        ({"images": GOOD_IMAGES / 255.0, "labels": GOOD_LABELS}, "expected integers"),
        ({"images": np.full((4, 48, 48), np.nan), "labels": GOOD_LABELS}, "expected integers"),
        ({"images": np.full((4, 48, 48), 765, np.int16), "labels": GOOD_LABELS}, "not 0..255"),
        ({"images": GOOD_IMAGES, "labels": np.array([0, 1, 3.7, 2])}, "whole numbers"),
        ({"images": GOOD_IMAGES, "labels": np.array(3)}, "one integer per image"),
        ({"images": GOOD_IMAGES}, "missing arrays"),
    ],
)
def test_bad_npz_contents_are_refused_by_name(tmp_path, arrays, message):
    from fer_live.engines.errors import InputFileError
    from fer_live.train.datasets import load_faces

    with pytest.raises(InputFileError, match=message):
        load_faces(_npz(tmp_path / "data.npz", **arrays))


def test_npy_renamed_npz_upper_case_suffix_and_no_usage(tmp_path):
    from fer_live.engines.errors import InputFileError
    from fer_live.train.datasets import load_faces

    np.save(tmp_path / "array.npy", GOOD_IMAGES)
    (tmp_path / "array.npy").rename(tmp_path / "renamed.npz")
    with pytest.raises(InputFileError, match=r"single \.npy array"):
        load_faces(tmp_path / "renamed.npz")
    upper = _npz(tmp_path / "data.npz", images=GOOD_IMAGES, labels=GOOD_LABELS)
    upper = upper.rename(tmp_path / "DATA.NPZ")
    faces = load_faces(upper)
    assert len(faces) == 4 and set(faces.usage) == {""}


def test_fer_eval_refuses_an_empty_split_and_ignores_unused_votes(tmp_path, with_models):
    data = _npz(tmp_path / "faces.npz", images=GOOD_IMAGES, labels=GOOD_LABELS)
    (tmp_path / "ferplus_votes.npz").write_bytes(b"corrupt, and not needed for evaluation")
    empty = run_command(
        "fer-eval", "--model", "tiny", "--data", str(data), "--split", "PrivateTest"
    )
    assert empty.returncode == 2 and "no faces in split 'PrivateTest'" in empty.stderr
    assert "--split all" in empty.stderr and "Traceback" not in empty.stderr
    every = run_command("fer-eval", "--model", "tiny", "--data", str(data), "--split", "all")
    assert every.returncode == 0, every.stderr
    assert "n=4" in every.stderr
    automatic = run_command("fer-eval", "--model", "tiny", "--data", str(data))  # no usage: all
    assert automatic.returncode == 0 and "on all:" in automatic.stderr


@settings(max_examples=120, **QUICK)
@given(
    images=st.sampled_from(
        [np.uint8, np.int16, np.float32, np.float64, np.bool_, np.int64]
    ).flatmap(
        lambda dtype: st.tuples(st.just(dtype), st.lists(st.integers(0, 50), max_size=4))
    ),
    labels=st.lists(st.floats(-2, 9) | st.integers(-2, 9), max_size=6),
    usage=st.none() | st.lists(st.sampled_from(["Training", "PrivateTest", "", "x"]), max_size=6),
)
def test_npz_loader_raises_only_its_own_errors(tmp_path_factory, images, labels, usage):
    from fer_live.train.datasets import load_faces

    dtype, shape = images
    arrays = {"images": np.ones(shape, dtype=dtype), "labels": np.array(labels)}
    if usage is not None:
        arrays["usage"] = np.array(usage)
    path = _npz(tmp_path_factory.mktemp("npz") / "data.npz", **arrays)
    try:
        load_faces(path)
    except FerError:
        pass


# ---------------------------------------------------------------- options


@settings(max_examples=200, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_option_range_check_accepts_only_finite_values_in_range(value):
    import typer

    from fer_live.realtime.options import in_range

    check = in_range(0, 1, low_inclusive=False)
    try:
        assert 0 < check(value) <= 1
    except typer.BadParameter:
        assert not 0 < value <= 1  # NaN lands here too


@pytest.mark.parametrize(
    "args",
    [
        ("--smooth-alpha", "-1"),
        ("--smooth-alpha", "0"),
        ("--smooth-alpha", "nan"),
        ("--min-score", "-1"),
        ("--margin", "-5"),
        ("--batch-frames", "100000"),
    ],
)
def test_fer_video_options_out_of_range_exit_2(media, with_models, tmp_path, args):
    result = run_command(
        "fer-video", str(media / "photo_obama.jpg"), "--model", "tiny", "--output-dir",
        str(tmp_path), *args,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "args, message",
    [
        (("--batch", "0"), "not a batch size"),
        (("--batch", "-4"), "not a batch size"),
        (("--batch", "abc"), "not a batch size"),
        (("--batch", "10000000"), "not a batch size"),
        (("--data", "missing.npz"), "not a FER2013 npz"),
    ],
)
def test_fer_bench_bad_options_are_one_line(with_models, args, message):
    result = run_command("fer-bench", "--model", "tiny", "--iters", "1", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_fer_bench_bad_compare_file_is_one_line(with_models, tmp_path):
    bad = tmp_path / "old.json"
    bad.write_text("[]")
    result = run_command("fer-bench", "--model", "tiny", "--iters", "1", "--compare", str(bad))
    assert result.returncode == 2 and "not a fer-bench --json report" in result.stderr


def test_fer_train_refuses_zero_epochs(tmp_path):
    result = run_command(
        "fer-train", "--arch", "five_layer", "--data", str(tmp_path / "x.npz"), "--out",
        str(tmp_path / "out"), "--epochs", "0",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_random_names_never_reach_a_traceback():
    """Unknown names in every name-taking position give the one-line UnknownNameError."""
    from fer_live.engines.errors import UnknownNameError
    from fer_live.engines.store import resolve_model

    for name in ("", "x" * 200, string.punctuation.replace("/", "").replace(".", "")):
        try:
            resolve_model(name or " ", "auto")
        except (UnknownNameError, FerError):
            pass


def test_fer_convert_int8_without_training_rows_is_one_line(with_models, tmp_path):
    data = _npz(tmp_path / "calib.npz", images=GOOD_IMAGES, labels=GOOD_LABELS,
                usage=np.array(["PrivateTest"] * 4))
    result = run_command(
        "fer-convert", str(with_models / "tiny"), "--to", "int8", "--calib-data", str(data),
        "--out", str(tmp_path / "out"),
    )
    assert result.returncode == 2, result.stderr
    assert "no faces in split 'Training'" in result.stderr and "Traceback" not in result.stderr


def test_fer_assemble_refuses_writing_into_a_member(with_models):
    result = run_command(
        "fer-assemble", "ensemble", "--members", f"{with_models / 'tiny'},tiny_b",
        "--out", str(with_models / "tiny"),
    )
    assert result.returncode == 2 and "is the member" in result.stderr
    assert not (with_models / "tiny" / "members.json").exists()


def test_tensorrt_engine_files_are_loaded_only_with_a_matching_record(tmp_path):
    """No GPU needed: the integrity check is plain file hashing, done before TensorRT sees the
    bytes."""
    from fer_live.engines.convert.tensorrt_engine import record_engine, verify_engine

    onnx_file, engine = tmp_path / "model.int8.onnx", tmp_path / "int8-abc.engine"
    onnx_file.write_bytes(b"onnx bytes")
    engine.write_bytes(b"engine bytes")
    with pytest.raises(ModelFileError, match="without a valid integrity record"):
        verify_engine(engine, onnx_file)  # a planted engine
    record_engine(engine, onnx_file)
    verify_engine(engine, onnx_file)  # as built: accepted
    engine.write_bytes(b"tampered")
    with pytest.raises(ModelFileError, match="does not match its record"):
        verify_engine(engine, onnx_file)
    engine.write_bytes(b"engine bytes")
    onnx_file.write_bytes(b"another onnx")
    with pytest.raises(ModelFileError, match="does not match its record"):
        verify_engine(engine, onnx_file)
