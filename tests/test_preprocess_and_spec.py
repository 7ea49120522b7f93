from __future__ import annotations

import numpy as np
import pytest

from fer_live.engines.errors import ModelFileError
from fer_live.engines.preprocess import to_model_input
from fer_live.engines.spec import ModelSpec, load_spec, save_spec

GRAY48 = ModelSpec("five_layer", (48, 48, 1))
RGB224 = ModelSpec("vgg16", (224, 224, 3), color="rgb", normalization="caffe")
GRAY224 = ModelSpec("vgg16", (224, 224, 3), color="gray", normalization="caffe")


def test_spec_round_trip(tmp_path):
    spec = ModelSpec(
        "six_layer", (48, 48, 1), precision="int8", test_time_flip=True, extra={"note": "x"}
    )
    save_spec(spec, tmp_path)
    assert load_spec(tmp_path) == spec


@pytest.mark.parametrize(
    "changes",
    [
        {"input_shape": [48, 48, 2]},
        {"color": "blue"},
        {"labels": ["joy"]},
        {"precision": "int4"},
        {"color": "rgb", "input_shape": [48, 48, 1]},
        {"test_time_flip": "yes"},
    ],
)
def test_invalid_spec_is_rejected(changes):
    with pytest.raises(ModelFileError):
        ModelSpec.from_dict({**GRAY48.to_dict(), **changes})


def test_missing_spec_names_the_folder(tmp_path):
    with pytest.raises(ModelFileError, match=str(tmp_path)):
        load_spec(tmp_path)


def test_gray48_array_fast_path_scales_to_unit():
    faces = np.full((2, 48, 48), 255, np.uint8)
    out = to_model_input(faces, GRAY48)
    assert out.shape == (2, 48, 48, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out, 1.0)


@pytest.mark.parametrize("size", [(10, 10), (48, 48), (300, 200)])
def test_crops_of_any_size_become_model_input(size):
    crop = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    for spec in (GRAY48, RGB224, GRAY224):
        out = to_model_input([crop, crop], spec)
        assert out.shape == (2, *spec.input_shape)


def test_bgr_array_and_crop_paths_agree_for_gray_models():
    crop = np.random.default_rng(1).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    from_array = to_model_input(crop[None], GRAY48)
    from_list = to_model_input([crop], GRAY48)
    np.testing.assert_allclose(from_array, from_list, atol=1 / 255 + 1e-6)


def test_gray_model_on_three_channels_replicates_gray():
    crop = np.random.default_rng(2).integers(0, 256, (60, 60, 3), dtype=np.uint8)
    out = to_model_input([crop], GRAY224) + np.array([103.939, 116.779, 123.68], np.float32)
    np.testing.assert_allclose(out[..., 0], out[..., 1], atol=1e-3)
    np.testing.assert_allclose(out[..., 1], out[..., 2], atol=1e-3)


def test_caffe_normalisation_centres_on_imagenet_means():
    white = np.full((1, 224, 224, 3), 255, np.uint8)
    out = to_model_input(white, RGB224)
    np.testing.assert_allclose(out[0, 0, 0], 255 - np.array([103.939, 116.779, 123.68]), atol=1e-3)


def test_empty_batch():
    assert to_model_input([], GRAY48).shape == (0, 48, 48, 1)
