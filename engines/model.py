"""A runnable model: one artifact (single, ensemble or OVR set) opened on backends.

`predict_crops` takes face crops of any size and returns a `Prediction`: every member runs on the
whole batch in one call (never a loop per face), inputs are preprocessed once per distinct spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fer_live.engines.backends.base import Backend
from fer_live.engines.backends.select import open_backend
from fer_live.engines.combine import apply_class_bias, ensemble_mean, ovr_normalise
from fer_live.engines.errors import ModelFileError, UnknownNameError
from fer_live.engines.labels import EMOTIONS
from fer_live.engines.preprocess import to_model_input
from fer_live.engines.store import Artifact, resolve_model


@dataclass(frozen=True)
class Prediction:
    """probs: float32 N×7 in EMOTIONS order, rows summing to 1 (OVR: normalised scores);
    scores: the raw N×7 combined output before normalisation (equal to probs except for OVR)."""

    probs: np.ndarray
    scores: np.ndarray
    labels: tuple[str, ...] = EMOTIONS

    def __post_init__(self) -> None:
        if self.probs.ndim != 2 or self.probs.shape[1] != len(self.labels):
            raise ValueError(
                f"probabilities of shape {self.probs.shape} for {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return len(self.probs)

    @property
    def top_index(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def top_label(self) -> list[str]:
        return [self.labels[i] for i in self.top_index]

    @property
    def confidence(self) -> np.ndarray:
        return self.probs.max(axis=1) if len(self) else np.zeros(0, np.float32)


FLIP_CHOICES = ("auto", "unsure", "on", "off")
# A face is "unsure" when its two highest probabilities lie closer than this (for a one-output
# sigmoid model: p and 1 - p). 0.5 was the smallest of 0.1-0.6 that kept the full mirror
# average's PublicTest accuracy for compact_resnet.
UNSURE_MARGIN = 0.5


def _leaf_flip(choice: str, spec_flip: bool) -> str:
    """One leaf's mirror setting: "all" faces, only "unsure" ones, or "off"."""
    if choice == "on":
        return "all"
    if choice == "off" or not spec_flip:
        return "off"
    return "all" if choice == "auto" else "unsure"


def _margin(out: np.ndarray) -> np.ndarray:
    if out.shape[1] == 1:
        return np.abs(2 * out[:, 0] - 1)
    top = np.sort(out, axis=1)
    return top[:, -1] - top[:, -2]


def _predict(backend: Backend, pixels: np.ndarray, flip: str) -> np.ndarray:
    """backend.predict, with the mirror-image average for "all" faces (one batch of 2N, so the
    backend still makes a single call) or for the "unsure" ones (a second call on those)."""
    mirrored = pixels[:, :, ::-1]  # N×H×W×C: axis 2 is x
    if flip == "all":
        count = len(pixels)
        both = _checked(backend, backend.predict(np.concatenate([pixels, mirrored])))
        return (both[:count] + both[count:]) / 2
    out = _checked(backend, backend.predict(pixels))
    if flip == "off":
        return out
    unsure = np.flatnonzero(_margin(out) < UNSURE_MARGIN)
    if len(unsure):
        second = _checked(backend, backend.predict(np.ascontiguousarray(mirrored[unsure])))
        out = out.copy()  # the backend's own buffer stays untouched
        out[unsure] = (out[unsure] + second) / 2
    return out


def _checked(backend: Backend, out: np.ndarray) -> np.ndarray:
    """The model's output, refused when its columns do not match its spec's labels."""
    labels = backend.spec.labels
    if out.ndim != 2 or out.shape[1] != len(labels):
        raise ModelFileError(
            f"{backend.spec.architecture}: the model gives {out.shape[-1]} outputs per face but "
            f"its spec.json lists {len(labels)} labels"
        )
    return out


def _in_emotion_order(backend: Backend, out: np.ndarray) -> np.ndarray:
    """Columns reordered from the spec's label order to EMOTIONS order (a no-op for ours)."""
    order = [backend.spec.labels.index(emotion) for emotion in EMOTIONS]
    return out if order == list(range(len(EMOTIONS))) else out[:, order]


class FerModel:
    """The artifact's leaf models on their backends plus the mode's combination rule.

    flip: "auto" runs each leaf model with or without the mirror-image average as its spec says
    (`test_time_flip`); "unsure" as well, but mirrors only the faces whose single pass is unsure
    (UNSURE_MARGIN); "on" / "off" force it for every face of every leaf.
    """

    def __init__(
        self,
        artifact: Artifact,
        backend: str = "auto",
        precision: str = "auto",
        flip: str = "auto",
    ) -> None:
        if flip not in FLIP_CHOICES:
            raise UnknownNameError("flip setting", flip, FLIP_CHOICES)
        self.artifact = artifact
        self.kind = artifact.kind
        leaves = artifact.members if artifact.members else (artifact,)
        if any(leaf.members for leaf in leaves):
            raise ModelFileError(f"{artifact.folder}: nested ensembles/OVR sets are not supported")
        self.backends: list[Backend] = []
        try:
            for leaf in leaves:
                self.backends.append(open_backend(leaf.folder, leaf.spec, backend, precision))
        except Exception:
            self.close()
            raise
        self.flips = [_leaf_flip(flip, backend.spec.test_time_flip) for backend in self.backends]
        try:
            self._check_labels()
        except ModelFileError:
            self.close()
            raise

    def _check_labels(self) -> None:
        artifact = self.artifact
        partial = [b for b in self.backends if sorted(b.spec.labels) != sorted(EMOTIONS)]
        if self.kind != "ovr" and partial:
            raise ModelFileError(
                f"{artifact.folder}: a model with labels {list(partial[0].spec.labels)} cannot "
                f"run as a {self.kind} model of the seven emotions",
                hint="a one-vs-rest member runs inside its OVR set (--mode ovr)",
            )
        if self.kind == "ovr":
            covered = [label for b in self.backends for label in b.spec.labels]
            if sorted(covered) != sorted(EMOTIONS):
                raise ModelFileError(
                    f"{artifact.folder}: OVR members cover {covered}, "
                    f"not the seven emotions once each"
                )

    @classmethod
    def open(
        cls,
        model: str,
        mode: str = "single",
        backend: str = "auto",
        precision: str = "auto",
        flip: str = "auto",
    ) -> FerModel:
        return cls(resolve_model(model, mode), backend, precision, flip)

    @property
    def backend_names(self) -> str:
        return ",".join(sorted({b.name for b in self.backends}))

    @property
    def precisions(self) -> str:
        return ",".join(sorted({b.spec.precision for b in self.backends}))

    @property
    def flip_state(self) -> str:
        """ "on", "unsure", "off" or "mixed" (an ensemble whose members differ): for reports."""
        states = set(self.flips)
        if len(states) > 1:
            return "mixed"
        return {"all": "on", "unsure": "unsure", "off": "off"}[states.pop()]

    def predict_crops(self, crops: Sequence[np.ndarray]) -> Prediction:
        return self.run(self.prepare(crops))

    @staticmethod
    def _input_key(backend: Backend) -> tuple:
        return (backend.spec.input_shape, backend.spec.color, backend.spec.normalization)

    def prepare(self, crops: Sequence[np.ndarray]) -> dict[tuple, np.ndarray]:
        """Preprocess once per distinct input spec among the members."""
        inputs: dict[tuple, np.ndarray] = {}
        if len(crops) == 0:
            return inputs
        for backend in self.backends:
            key = self._input_key(backend)
            if key not in inputs:
                inputs[key] = to_model_input(crops, backend.spec)
        return inputs

    def run(self, inputs: dict[tuple, np.ndarray]) -> Prediction:
        """Every member on the whole batch in one call each, then the mode's combination."""
        if not inputs:
            empty = np.zeros((0, len(EMOTIONS)), np.float32)
            return Prediction(empty, empty)
        outputs = [
            (backend, _predict(backend, inputs[self._input_key(backend)], flip))
            for backend, flip in zip(self.backends, self.flips, strict=True)
        ]
        return self._combine(outputs)

    def _combine(self, outputs: list[tuple[Backend, np.ndarray]]) -> Prediction:
        if self.kind == "ovr":
            scores = np.zeros((len(outputs[0][1]), len(EMOTIONS)), np.float32)
            for backend, out in outputs:
                for column, label in enumerate(backend.spec.labels):
                    scores[:, EMOTIONS.index(label)] = out[:, column]
            return Prediction(self._biased(ovr_normalise(scores)), scores)
        probs = ensemble_mean(
            [_in_emotion_order(backend, out) for backend, out in outputs], self.artifact.weights
        )
        return Prediction(self._biased(probs), probs)

    def _biased(self, probs: np.ndarray) -> np.ndarray:
        """The composite's fitted decision rule (members.json class_bias), if it has one."""
        if self.artifact.class_bias is None:
            return probs
        return apply_class_bias(probs, np.asarray(self.artifact.class_bias))

    def close(self) -> None:
        for backend in self.backends:
            backend.close()

    def __enter__(self) -> FerModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
