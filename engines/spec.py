"""The model spec: what every artifact carries so that every stage preprocesses it the same way.

An artifact folder holds `spec.json` beside its model file(s). The spec says which architecture the
weights belong to, the input size and colour, the normalisation, the label order and the precision.
Runtime preprocessing, training and INT8 calibration all read it (see `engines.preprocess`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from fer_live.engines.errors import ModelFileError
from fer_live.engines.labels import EMOTIONS

SPEC_FILENAME = "spec.json"
COLORS = ("gray", "rgb")
# unit: x/255; caffe: BGR minus ImageNet means (Keras VGG/ResNet);
# lite: (x - 127) / 128, the input scaling EfficientNet-Lite was trained with on ImageNet.
NORMALIZATIONS = ("unit", "caffe", "lite")
OUTPUTS = ("softmax", "sigmoid")
PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to feed a model and read its output.

    input_shape: (height, width, channels), channels 1 for gray models, 3 for rgb models.
    labels: the class of each output column, in output order.
    output: "softmax" for a multi-class distribution, "sigmoid" for independent one-vs-rest scores.
    test_time_flip: the runtime also runs each face's mirror image and averages the two outputs
    (test-time augmentation, twice the inference work). The model's own default; commands can
    override it with --flip on|off. Faces are left/right symmetric enough for the mirror to be a
    second, slightly different view: measured +1.0 point on five_layer's PrivateTest accuracy.
    """

    architecture: str
    input_shape: tuple[int, int, int]
    color: str = "gray"
    normalization: str = "unit"
    labels: tuple[str, ...] = EMOTIONS
    output: str = "softmax"
    precision: str = "fp32"
    test_time_flip: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        height, width, channels = self.input_shape
        if min(height, width) < 1 or channels not in (1, 3):
            raise ModelFileError(f"spec input_shape {self.input_shape} is not (H, W, 1|3)")
        if self.color not in COLORS:
            raise ModelFileError(f"spec color '{self.color}' is not one of {COLORS}")
        if (
            self.color == "rgb" and channels != 3
        ):  # gray models may take 1 or 3 (replicated) channels
            raise ModelFileError(f"spec color 'rgb' needs 3 channels, not {channels}")
        if self.normalization not in NORMALIZATIONS:
            raise ModelFileError(
                f"spec normalization '{self.normalization}' not in {NORMALIZATIONS}"
            )
        if self.output not in OUTPUTS:
            raise ModelFileError(f"spec output '{self.output}' is not one of {OUTPUTS}")
        if self.precision not in PRECISIONS:
            raise ModelFileError(f"spec precision '{self.precision}' not in {PRECISIONS}")
        unknown = [label for label in self.labels if label not in EMOTIONS]
        if unknown or not self.labels:
            raise ModelFileError(f"spec labels {list(self.labels)} are not FER emotions")
        if len(set(self.labels)) != len(self.labels):
            raise ModelFileError(f"spec labels {list(self.labels)} name an emotion twice")
        if self.output == "softmax" and len(self.labels) != len(EMOTIONS):
            raise ModelFileError(
                f"spec labels {list(self.labels)}: a softmax model's labels are the "
                f"{len(EMOTIONS)} emotions, in its output order"
            )

    @property
    def height(self) -> int:
        return self.input_shape[0]

    @property
    def width(self) -> int:
        return self.input_shape[1]

    @property
    def channels(self) -> int:
        return self.input_shape[2]

    def with_precision(self, precision: str) -> ModelSpec:
        return replace(self, precision=precision)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        data["labels"] = list(self.labels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "spec") -> ModelSpec:
        try:
            return cls(
                architecture=str(data["architecture"]),
                input_shape=tuple(int(v) for v in data["input_shape"]),  # type: ignore[arg-type]
                color=str(data.get("color", "gray")),
                normalization=str(data.get("normalization", "unit")),
                labels=_labels(data.get("labels", EMOTIONS)),
                output=str(data.get("output", "softmax")),
                precision=str(data.get("precision", "fp32")),
                test_time_flip=_as_bool(data.get("test_time_flip", False)),
                extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            raise ModelFileError(f"{source}: not a valid model spec ({error!r})") from error


def _labels(value: Any) -> tuple[str, ...]:
    # A string is iterable too: "happy" would become five one-letter labels.
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"labels must be a list of emotion names, not {value!r}")
    return tuple(value)


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"test_time_flip must be true or false, not {value!r}")
    return value


def save_spec(spec: ModelSpec, folder: Path) -> Path:
    from fer_live.engines.atomic import write_text_atomic

    return write_text_atomic(folder / SPEC_FILENAME, json.dumps(spec.to_dict(), indent=2) + "\n")


def load_spec(folder: Path) -> ModelSpec:
    path = folder / SPEC_FILENAME
    if not path.is_file():
        raise ModelFileError(f"{folder}: no {SPEC_FILENAME} in the model folder")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # ValueError: bad JSON or not UTF-8
        raise ModelFileError(f"{path}: cannot read spec ({error})") from error
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: a spec is a JSON object, not {type(data).__name__}")
    return ModelSpec.from_dict(data, source=str(path))
