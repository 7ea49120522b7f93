from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fer_live.engines.errors import ModelFileError, UnknownNameError, UsageError
from fer_live.engines.model import FerModel
from fer_live.engines.store import resolve_model


def test_unknown_model_lists_names_and_suggests(with_models):
    with pytest.raises(UnknownNameError) as info:
        resolve_model("tinny", "single")
    assert "tiny" in info.value.message and info.value.suggestion == "tiny"


def test_unknown_mode(with_models):
    with pytest.raises(UnknownNameError, match="single"):
        resolve_model("tiny", "ensembel")


def test_modes_resolve(with_models):
    assert resolve_model("tiny", "single").kind == "single"
    assert [m.name for m in resolve_model("tiny,tiny_b", "ensemble").members] == ["tiny", "tiny_b"]
    assert resolve_model("tiny", "ensemble").name == "ensemble"  # the default pair contains tiny
    assert resolve_model("tiny", "ovr").name == "tiny_ovr"
    assert resolve_model("tiny", "auto").kind == "single"
    assert resolve_model("tiny_ovr", "auto").kind == "ovr"
    assert resolve_model("ensemble", "auto").kind == "ensemble"
    assert resolve_model("tiny,tiny_b", "auto").kind == "ensemble"
    with pytest.raises(UsageError):
        resolve_model("tiny_b", "ovr")


def test_missing_path_is_a_model_file_error(with_models, tmp_path):
    with pytest.raises(ModelFileError):
        resolve_model(str(tmp_path / "nope"), "single")


@pytest.mark.parametrize("backend", ["onnxruntime", "keras"])
def test_backends_agree_and_batch(with_models, backend):
    crops = [np.random.default_rng(i).integers(0, 256, (64, 64, 3), np.uint8) for i in range(5)]
    with (
        FerModel.open("tiny", "single", "keras") as ref,
        FerModel.open("tiny", "single", backend) as model,
    ):
        expected = ref.predict_crops(crops).probs
        got = model.predict_crops(crops).probs
    assert got.shape == (5, 7)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_every_member_runs_once_per_batch(with_models):
    calls = []
    with FerModel.open("tiny", "ensemble", "onnxruntime") as model:
        for backend in model.backends:
            original = backend._run
            backend._run = lambda x, original=original: calls.append(len(x)) or original(x)
        crops = [np.zeros((30, 30, 3), np.uint8)] * 16
        prediction = model.predict_crops(crops)
    assert calls == [16, 16]  # two members, one call each for all 16 faces
    np.testing.assert_allclose(prediction.probs.sum(axis=1), 1.0, atol=1e-5)


def test_ovr_mode_gives_distributions_from_sigmoid_scores(with_models):
    with FerModel.open("tiny", "ovr", "onnxruntime") as model:
        prediction = model.predict_crops([np.zeros((48, 48, 3), np.uint8)] * 3)
    np.testing.assert_allclose(prediction.probs.sum(axis=1), 1.0, atol=1e-5)
    assert (prediction.probs.argmax(axis=1) == prediction.scores.argmax(axis=1)).all()


def test_precision_without_file_names_what_is_present(with_models):
    with pytest.raises(ModelFileError, match=r"model\.onnx"):
        FerModel.open("tiny", "single", "onnxruntime", "int8")


def test_seven_sigmoid_network_is_an_ovr_set_by_itself(with_models):
    artifact = resolve_model(str(with_models / "tiny_heads"), "ovr")
    assert artifact.kind == "ovr" and artifact.members == ()
    with pytest.raises(UsageError, match="ovr"):
        resolve_model(str(with_models / "tiny_heads"), "single")


def _faces(count: int) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (count, 48, 48), np.uint8)


def test_flip_on_is_the_mean_over_face_and_mirror_in_one_call(with_models):
    faces = _faces(4)
    with FerModel.open("tiny", "single", "onnxruntime", flip="off") as plain:
        expected = (
            plain.predict_crops(faces).probs + plain.predict_crops(faces[:, :, ::-1]).probs
        ) / 2
    calls = []
    with FerModel.open("tiny", "single", "onnxruntime", flip="on") as model:
        original = model.backends[0]._run
        model.backends[0]._run = lambda x: calls.append(len(x)) or original(x)
        prediction = model.predict_crops(faces)
        assert model.flip_state == "on"
    assert calls == [8]  # 4 faces and their 4 mirrors in one backend call
    np.testing.assert_allclose(prediction.probs, expected, atol=1e-6)


def test_flip_unsure_mirrors_only_faces_whose_two_likeliest_emotions_are_close(
    with_models, tmp_path, monkeypatch
):
    import shutil

    from fer_live.engines import model as model_module
    from fer_live.engines.spec import load_spec, save_spec

    flipped = tmp_path / "tiny_flipped"
    shutil.copytree(with_models / "tiny", flipped)
    save_spec(replace(load_spec(flipped), test_time_flip=True), flipped)
    faces = _faces(16)
    with FerModel.open(str(flipped), "single", "onnxruntime", flip="off") as plain:
        single = plain.predict_crops(faces).probs
        mirrored = plain.predict_crops(faces[:, :, ::-1]).probs
    top = np.sort(single, axis=1)
    margins = top[:, -1] - top[:, -2]
    # The tiny test model is unsure of every random face at the shipped margin; a limit at the
    # median splits them.
    monkeypatch.setattr(model_module, "UNSURE_MARGIN", float(np.median(margins)))
    unsure = margins < model_module.UNSURE_MARGIN
    assert unsure.any() and not unsure.all()
    calls = []
    with FerModel.open(str(flipped), "single", "onnxruntime", flip="unsure") as model:
        original = model.backends[0]._run
        model.backends[0]._run = lambda x: calls.append(len(x)) or original(x)
        prediction = model.predict_crops(faces)
        assert model.flip_state == "unsure"
    assert calls == [16, int(unsure.sum())]  # the mirrors of the unsure faces only
    expected = np.where(unsure[:, None], (single + mirrored) / 2, single)
    np.testing.assert_allclose(prediction.probs, expected, atol=1e-6)
    # A model whose spec does not ask for the mirror is left alone.
    with FerModel.open("tiny", "single", "onnxruntime", flip="unsure") as model:
        assert model.flip_state == "off"


def test_flip_auto_follows_each_models_spec(with_models, tmp_path):
    import shutil

    from fer_live.engines.spec import load_spec, save_spec

    flipped = tmp_path / "tiny_flipped"
    shutil.copytree(with_models / "tiny", flipped)
    save_spec(replace(load_spec(flipped), test_time_flip=True), flipped)
    with FerModel.open(str(flipped), "single", "onnxruntime") as model:
        assert model.flip_state == "on"
    with FerModel.open(str(flipped), "single", "onnxruntime", flip="off") as model:
        assert model.flip_state == "off"
    with FerModel.open(f"{flipped},tiny_b", "ensemble", "onnxruntime") as model:
        assert model.flip_state == "mixed"
    with pytest.raises(UnknownNameError, match="auto"):
        FerModel.open("tiny", "single", "onnxruntime", flip="mirror")
