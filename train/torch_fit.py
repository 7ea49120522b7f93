"""The fast trainer: a torch twin of the architecture, bfloat16 autocast, channels-last; on the
CPU, or on an NVIDIA GPU when PyTorch sees one.

`fer-train --engine torch` uses it (every architecture with a twin in train/torch_nets.py).
Per epoch:
- faces shuffled by a generator seeded with (seed, epoch), augmented on whole batches with
  torch ops (mirror, rotation, zoom, shift, random erasing), so a resumed run sees exactly the
  batches an uninterrupted one would;
- SGD with Nesterov momentum, linear warm-up then cosine decay per step, decoupled weight decay
  on convolution and dense kernels only, label smoothing;
- an exponential moving average (EMA) of the weights and batch-norm statistics, which is what is
  evaluated on the validation split and exported;
- a checkpoint (model, EMA, optimizer, epoch, history) written atomically after every epoch, and
  the best EMA by validation accuracy kept beside it; inside an epoch, every
  MID_EPOCH_CHECKPOINT_SECONDS, also the step reached and the random generators' states, so a run
  stopped mid-epoch (a CPU epoch of five_layer takes 15-20 minutes) resumes at that step, exactly.
The trained twin's weights are copied into the registered Keras model (train/torch_nets.py), so
the artifact is written, exported and converted exactly as `fer-train`'s.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fer_live.engines.errors import UnknownNameError, UsageError
from fer_live.engines.labels import NUM_CLASSES
from fer_live.train.datasets import FaceSet
from fer_live.train.metrics import classification_report

logger = logging.getLogger(__name__)

CHECKPOINT = "torch_last.pt"
BEST = "torch_best.pt"
HISTORY = "torch_history.json"
# How often a checkpoint is also written inside an epoch: an interrupted run loses at most this
# much work, for about a second of writing (five_layer's checkpoint is 200 MB).
MID_EPOCH_CHECKPOINT_SECONDS = 300.0


@dataclass(frozen=True)
class TorchRecipe:
    """The torch engine's recipe. The defaults are the `fast` recipe (compact_resnet from
    scratch); what it reaches on PublicTest is in the README's Models section."""

    name: str = "fast"
    epochs: int = 50
    batch_size: int = 128
    learning_rate: float = 0.1  # SGD peak
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 2.0
    label_smoothing: float = 0.1
    ema_decay: float = 0.999
    rotation_deg: float = 10.0
    zoom: tuple[float, float] = (0.85, 1.15)
    shift: float = 0.1
    random_erasing: float = 0.5
    bfloat16: bool = True


TORCH_RECIPES = {
    "fast": TorchRecipe(),
    # Fine-tuning an ImageNet backbone (efficientnet_lite0): under a third of the peak rate, so
    # the pretrained filters are adapted rather than overwritten (the Keras engine's Adam at 5e-4
    # reached 0.639 on PublicTest in 12 epochs), and less decay. float32: its
    # depthwise convolutions are slower in bfloat16 on a CPU (258 against 154 images/s on the
    # 2-core AVX-512 EPYC, `python -m fer_live.train.speed --engine torch`).
    "fast_transfer": TorchRecipe(
        name="fast_transfer", epochs=15, learning_rate=0.03, weight_decay=1e-4,
        warmup_epochs=1.0, bfloat16=False,
    ),
    # Continuing a trained model (--init-from), usually against a teacher (--teacher). The
    # peak is a twentieth of `fast`'s: from the shipped five_layer (trained with Adam), 10 steps
    # at 0.02 / 0.01 / 0.005 took PublicTest from 0.627 to 0.431 / 0.555 / 0.616 (1,280 faces),
    # so higher rates spend epochs relearning what the start already knew.
    "fast_finetune": TorchRecipe(
        name="fast_finetune", epochs=10, learning_rate=0.005, warmup_epochs=1.0,
    ),
}


def get_torch_recipe(name: str) -> TorchRecipe:
    if name not in TORCH_RECIPES:
        raise UnknownNameError("torch-engine recipe", name, TORCH_RECIPES)
    return TORCH_RECIPES[name]


@dataclass(frozen=True)
class Teacher:
    """Distillation in the torch engine: the teacher's probabilities for every training face
    (train.distill.teacher_probabilities) and Hinton's temperature and weight."""

    probs: np.ndarray
    temperature: float
    alpha: float


def train_keras_model_with_torch(
    architecture: str,
    train: FaceSet,
    val: FaceSet,
    run_dir: Path,
    recipe: TorchRecipe,
    seed: int,
    resume: bool,
    max_steps: int | None,
    backbone_weights: str | None = None,
    init_from: Path | None = None,
    teacher: Teacher | None = None,
):
    """Train the architecture's torch twin; returns (the Keras model holding the best EMA
    weights, the epoch history). init_from: a trained artifact folder of the same architecture
    to start from; teacher: soft targets for the training faces (distillation)."""
    import torch

    from fer_live.train.architectures import build_model
    from fer_live.train.torch_nets import build_torch_twin, copy_to_keras

    torch.manual_seed(seed)
    twin = build_torch_twin(architecture, backbone_weights)
    if init_from is not None and not (resume and (run_dir / CHECKPOINT).is_file()):
        _start_from_artifact(twin, architecture, init_from, train, val, seed)
    best, history = fit_torch(
        twin, train, val, run_dir, recipe, seed, resume, max_steps, log=logger.info,
        teacher=teacher,
    )
    if importlib.util.find_spec("keras") is None:  # e.g. a GPU machine with PyTorch only
        raise UsageError(
            f"trained, but Keras is not installed here, so no artifact was written; the run is "
            f"in {run_dir}",
            hint="copy that folder to a machine with fer-live[train] and run the same command "
            "there with --resume: it writes the artifact without training again",
        )
    model = build_model(architecture)
    copy_to_keras(best, model)
    return model, history


def _start_from_artifact(
    twin, architecture: str, artifact: Path, train: FaceSet, val: FaceSet, seed: int
) -> None:
    """Give the twin a trained artifact's weights (through the registered Keras model, as the
    Keras engine's --init-from reads them: model.keras, or ONNX with BN statistics re-estimated
    on training faces) and log where it starts."""
    from fer_live.engines.preprocess import to_model_input
    from fer_live.train.architectures import build_model, get_architecture
    from fer_live.train.fit import INIT_SAMPLE, load_initial_weights
    from fer_live.train.torch_nets import copy_from_keras

    model = build_model(architecture)
    rows = np.random.default_rng(seed).permutation(len(train))[:INIT_SAMPLE]
    spec = get_architecture(architecture).spec
    load_initial_weights(
        model, Path(artifact), sample=lambda: to_model_input(train.images[rows], spec)
    )
    copy_from_keras(model, twin)
    start = classification_report(val.labels, predict_probs(twin, val.images, False).argmax(1))
    logger.info(
        "starting from %s: val %.4f macro-F1 %.4f", artifact, start["accuracy"], start["macro_f1"]
    )


def _distillation_loss(logits, labels, soft, teacher: Teacher, hard_loss):
    """alpha · T² · KL(teacher_T ‖ student_T) + (1 − alpha) · CE(labels), as train.distill's
    Keras loss (the teacher's tempered distribution rebuilt from its probabilities)."""
    import torch

    temperature = teacher.temperature
    log_teacher = torch.log_softmax(torch.log(soft.clamp_min(1e-7)) / temperature, dim=1)
    log_student = torch.log_softmax(logits / temperature, dim=1)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum(1).mean()
    return teacher.alpha * temperature**2 * kl + (1 - teacher.alpha) * hard_loss(logits, labels)


def _random(generator, shape):
    """Uniform 0..1 draws from `generator`, on its device (CPU or GPU)."""
    import torch

    return torch.rand(shape, generator=generator, device=generator.device)


def augment(images, generator, recipe: TorchRecipe, size: int = 48):
    """uint8 N×48×48 (torch) -> float32 N×1×size×size in 0..1, augmented as a batch (and
    resized bilinearly in the same sampling, for twins with a larger input)."""
    import torch
    import torch.nn.functional as F

    n = images.shape[0]
    x = images.float().div_(255.0).unsqueeze(1)

    def uniform(low: float, high: float):
        return _random(generator, n) * (high - low) + low

    flip = (_random(generator, n) < 0.5).float() * -2 + 1  # -1 mirrors
    angle = uniform(-recipe.rotation_deg, recipe.rotation_deg) * math.pi / 180
    scale = 1.0 / uniform(*recipe.zoom)  # grid coordinates: >1 zooms out
    tx, ty = uniform(-recipe.shift, recipe.shift) * 2, uniform(-recipe.shift, recipe.shift) * 2
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if recipe.random_erasing > 0:
        x = _erase(x, generator, recipe.random_erasing)
    return x


def _erase(x, generator, probability: float):
    """Random erasing (Zhong et al. 2020): one rectangle of 2-20% of the face, noise-filled."""
    import torch

    n, _, height, width = x.shape
    area = (_random(generator, n) * 0.18 + 0.02) * height * width
    aspect = torch.exp(_random(generator, n) * (math.log(3) * 2) - math.log(3))
    h = torch.sqrt(area * aspect).clamp(1, height).long()
    w = torch.sqrt(area / aspect).clamp(1, width).long()
    top = (_random(generator, n) * (height - h + 1)).long()
    left = (_random(generator, n) * (width - w + 1)).long()
    rows = torch.arange(height, device=x.device).view(1, height, 1)
    cols = torch.arange(width, device=x.device).view(1, 1, width)
    inside = (
        (rows >= top.view(n, 1, 1)) & (rows < (top + h).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1)) & (cols < (left + w).view(n, 1, 1))
    )
    chosen = (_random(generator, n) < probability).view(n, 1, 1)
    mask = (inside & chosen).unsqueeze(1)
    noise = _random(generator, x.shape)
    return torch.where(mask, noise, x)


def learning_rate_at(step: int, steps_per_epoch: int, recipe: TorchRecipe) -> float:
    """Linear warm-up to the peak, then cosine decay to zero at the last step."""
    total = recipe.epochs * steps_per_epoch
    warmup = max(1, int(recipe.warmup_epochs * steps_per_epoch))
    if step < warmup:
        return recipe.learning_rate * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return recipe.learning_rate * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


class WeightAverage:
    """EMA of every floating parameter and buffer (batch-norm statistics included)."""

    def __init__(self, model, decay: float) -> None:
        import copy

        self.model = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        self.decay = decay

    def update(self, model, step: int) -> None:
        import torch

        # Short memory at the start, so the average is not dominated by the random init.
        decay = min(self.decay, (1 + step) / (10 + step))
        with torch.no_grad():
            ours = self.model.state_dict()
            for name, value in model.state_dict().items():
                if value.dtype.is_floating_point:
                    ours[name].lerp_(value, 1 - decay)
                else:
                    ours[name].copy_(value)


def predict_probs(model, images: np.ndarray, bfloat16: bool, batch: int = 512) -> np.ndarray:
    """Softmax outputs of a twin for uint8 N×48×48 faces (resized as the runtime resizes them:
    bilinear with half-pixel centres, OpenCV's INTER_LINEAR)."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    outputs = []
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bfloat16):
        for start in range(0, len(images), batch):
            x = torch.from_numpy(images[start : start + batch]).to(device)
            x = x.float().div_(255.0).unsqueeze(1)
            if x.shape[-1] != model.input_size:
                x = torch.nn.functional.interpolate(
                    x, size=model.input_size, mode="bilinear", align_corners=False
                )
            x = x.contiguous(memory_format=torch.channels_last)
            outputs.append(torch.softmax(model(x).float(), dim=1).cpu().numpy())
    return np.concatenate(outputs) if outputs else np.zeros((0, 7), np.float32)


def save_best(run_dir: Path, ema_state: dict, epoch: int) -> None:
    """torch_best.pt: the averaged weights with the best validation accuracy so far."""
    _save_atomic({"ema": ema_state, "epoch": epoch}, run_dir / BEST)


def save_checkpoint(
    run_dir: Path, model_state: dict, ema_state: dict, optimizer_state: dict,
    history: list[dict], recipe: TorchRecipe, within_epoch: dict | None = None,
) -> None:
    """torch_last.pt (what --resume continues from: epoch = len(history)) and the history.
    within_epoch: where an unfinished epoch stands (EpochProgress.state()), None at its end."""
    _save_atomic(
        {"model": model_state, "ema": ema_state, "optimizer": optimizer_state,
         "epoch": len(history), "history": history, "recipe": asdict(recipe),
         "within_epoch": within_epoch},
        run_dir / CHECKPOINT,
    )
    (run_dir / HISTORY).write_text(json.dumps(history, indent=1))


@dataclass
class EpochProgress:
    """Where an epoch stands: the next step, the running loss and accuracy sums, the seconds
    spent, and the generators that the remaining steps draw from (augmentation, dropout)."""

    step: int = 0
    loss_sum: float = 0.0
    correct: float = 0.0
    seen: float = 0.0
    seconds_before: float = 0.0

    def state(self, generator, seconds: float) -> dict:
        import torch

        return {
            "step": self.step, "loss_sum": self.loss_sum, "correct": self.correct,
            "seen": self.seen, "seconds": seconds, "augment_rng": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if generator.device.type == "cuda" else None,
        }

    @classmethod
    def restore(cls, saved: dict, generator) -> EpochProgress:
        """The progress saved by state(), with the generators set back to where they were."""
        import torch

        generator.set_state(saved["augment_rng"])
        torch.set_rng_state(saved["torch_rng"])
        if saved["cuda_rng"] is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"])
        return cls(saved["step"], saved["loss_sum"], saved["correct"], saved["seen"],
                   saved["seconds"])


def _save_atomic(payload: dict, path: Path) -> None:
    import torch

    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    torch.save(payload, temporary)
    os.replace(temporary, path)


def _parameter_groups(model, weight_decay: float):
    """Decay on convolution and dense kernels only, not on biases or batch-norm scales."""
    decayed = [p for p in model.parameters() if p.ndim > 1]
    plain = [p for p in model.parameters() if p.ndim <= 1]
    return [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0}]


def new_optimizer(model, recipe: TorchRecipe):
    """The recipe's SGD with Nesterov momentum, decaying kernels only."""
    import torch

    return torch.optim.SGD(
        _parameter_groups(model, recipe.weight_decay),
        lr=recipe.learning_rate, momentum=recipe.momentum, nesterov=True,
    )


def fit_torch(
    model,
    train: FaceSet,
    val: FaceSet,
    run_dir: Path,
    recipe: TorchRecipe,
    seed: int = 0,
    resume: bool = False,
    max_steps: int | None = None,
    log: Callable[[str], None] = logger.info,
    teacher: Teacher | None = None,
    checkpoint_seconds: float = MID_EPOCH_CHECKPOINT_SECONDS,
):
    """Train `model` (a twin) in place; returns the EMA model with the best validation accuracy.
    With a teacher, each face's target mixes its label and the teacher's probabilities.
    checkpoint_seconds: how often a checkpoint is also written inside an epoch."""
    import torch

    run_dir.mkdir(parents=True, exist_ok=True)
    # The same command on an NVIDIA GPU when PyTorch sees one (bfloat16 autocast there too).
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = new_optimizer(model, recipe)
    average = WeightAverage(model, recipe.ema_decay)
    steps_per_epoch = max(1, len(train) // recipe.batch_size)  # the last partial batch dropped
    if max_steps is not None:
        steps_per_epoch = min(steps_per_epoch, max_steps)
    history: list[dict] = []
    start_epoch, best, within_epoch = 0, -1.0, None
    checkpoint = run_dir / CHECKPOINT
    if resume and checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False, map_location=device)
        model.load_state_dict(state["model"])
        average.model.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history = state["epoch"], state["history"]
        within_epoch = state.get("within_epoch")  # absent from checkpoints before 2026-12-07
        best = max((row["val_accuracy"] for row in history), default=-1.0)
        at_step = f", step {within_epoch['step']}" if within_epoch else ""
        log(f"resumed at epoch {start_epoch}{at_step} (best val accuracy so far {best:.4f})")
    images = torch.from_numpy(np.ascontiguousarray(train.images)).to(device)
    labels = torch.from_numpy(train.labels.astype(np.int64)).to(device)
    loss_function = torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    soft_targets = None
    if teacher is not None:
        if teacher.probs.shape != (len(train), NUM_CLASSES):
            raise UsageError(f"teacher outputs are {teacher.probs.shape}, for {len(train)} faces")
        soft_targets = torch.from_numpy(teacher.probs.astype(np.float32)).to(device)
    for epoch in range(start_epoch, recipe.epochs):
        started = last_saved = time.perf_counter()
        torch.manual_seed(seed * 100_003 + epoch)  # dropout
        generator = torch.Generator(device).manual_seed(seed * 100_003 + epoch)
        order = np.random.default_rng([seed, epoch]).permutation(len(train))
        order = torch.from_numpy(order).to(device)
        model.train()
        progress = EpochProgress()
        if within_epoch is not None:  # only for the epoch the run was stopped in
            progress, within_epoch = EpochProgress.restore(within_epoch, generator), None
        for index in range(progress.step, steps_per_epoch):
            step = epoch * steps_per_epoch + index
            for group in optimizer.param_groups:
                group["lr"] = learning_rate_at(step, steps_per_epoch, recipe)
            chosen = order[index * recipe.batch_size : (index + 1) * recipe.batch_size]
            x = augment(images[chosen], generator, recipe, model.input_size)
            x = x.contiguous(memory_format=torch.channels_last)
            y = labels[chosen]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=recipe.bfloat16):
                logits = model(x)
            if soft_targets is None:
                loss = loss_function(logits.float(), y)
            else:
                loss = _distillation_loss(
                    logits.float(), y, soft_targets[chosen], teacher, loss_function
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            average.update(model, step)
            progress.loss_sum += float(loss.detach()) * len(y)
            progress.correct += float((logits.argmax(1) == y).sum())
            progress.seen += len(y)
            progress.step = index + 1
            now = time.perf_counter()
            if now - last_saved >= checkpoint_seconds and progress.step < steps_per_epoch:
                save_checkpoint(
                    run_dir, model.state_dict(), average.model.state_dict(),
                    optimizer.state_dict(), history, recipe,
                    progress.state(generator, progress.seconds_before + now - started),
                )
                last_saved = now
        probs = predict_probs(average.model, val.images, recipe.bfloat16)
        report = classification_report(val.labels, probs.argmax(1))
        row = {
            "epoch": epoch,
            "loss": progress.loss_sum / progress.seen,
            "accuracy": progress.correct / progress.seen,
            "val_accuracy": report["accuracy"],
            "val_macro_f1": report["macro_f1"],
            "val_macro_recall": report["macro_recall"],
            "learning_rate": optimizer.param_groups[0]["lr"],
            "seconds": round(progress.seconds_before + time.perf_counter() - started, 1),
        }
        history.append(row)
        if report["accuracy"] > best:
            best = report["accuracy"]
            save_best(run_dir, average.model.state_dict(), epoch)
        save_checkpoint(  # epoch + 1 == len(history)
            run_dir, model.state_dict(), average.model.state_dict(), optimizer.state_dict(),
            history, recipe,
        )
        log(
            f"epoch {epoch + 1}/{recipe.epochs}: loss {row['loss']:.4f} acc {row['accuracy']:.4f}"
            f" val {row['val_accuracy']:.4f} macro-F1 {row['val_macro_f1']:.4f}"
            f" ({row['seconds']:.0f} s)"
        )
    best_state = torch.load(run_dir / BEST, weights_only=False, map_location=device)
    average.model.load_state_dict(best_state["ema"])
    return average.model, history
