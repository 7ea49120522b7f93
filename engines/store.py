"""The model store: names and paths -> artifact folders, and artifact folders -> backends.

A single-model folder holds `spec.json` and one or more model files, one per backend/precision:

    model.keras        Keras reference (backend keras, fp32)
    model.onnx         ONNX FP32             (backend onnxruntime / tensorrt, fp32)
    model.fp16.onnx    ONNX FP16, FP32 I/O   (onnxruntime / tensorrt, fp16)
    model.int8.onnx    ONNX INT8 Q/DQ        (onnxruntime / tensorrt, int8)

A composite folder holds `members.json`: {"kind": "ensemble" | "ovr", "members": [...]}, each member
a folder path relative to it or a shipped name, optionally "weights": [w, ...] (an ensemble's
weighted mean, one non-negative number per member, fitted on validation faces by `fer-assemble
weigh`), and optionally "class_bias": {emotion: b} (a decision rule fitted on validation faces
by `fer-assemble balance`: probabilities are multiplied by exp(b) per class and renormalised,
which trades a little accuracy for the recall of rare classes). Shipped models live in
`engines/models/`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from fer_live.engines.errors import ModelFileError, UnknownNameError, UsageError
from fer_live.engines.labels import EMOTIONS
from fer_live.engines.spec import SPEC_FILENAME, ModelSpec, load_spec

SHIPPED_DIR = Path(__file__).with_name("models")
MEMBERS_FILE = "members.json"
MODES = ("auto", "single", "ensemble", "ovr")
DEFAULT_ENSEMBLE = "ensemble"
# The model every command, the API and fer-serve run unless told otherwise (README: Models).
DEFAULT_MODEL = "compact_resnet"
# The mirror-image setting (engines.model.FLIP_CHOICES) of the runtime commands (fer-video,
# fer-live, fer-serve, the Python API); fer-eval's default stays "auto". Measured on PublicTest
# (INT8; one pass / every face mirrored / only unsure faces mirrored, share mirrored):
# compact_resnet 0.6846 / 0.6921 / 0.6921 (43%), six_layer 0.6403 / 0.6525 / 0.6520 (45%),
# five_layer 0.6375 / 0.6403 / 0.6403 (53%). fer-video --no-video on the one-minute talking head:
# 3.5 s instead of 4.0 s (2-core AMD EPYC with AVX-512).
RUNTIME_FLIP = "unsure"
OVR_SUFFIX = "_ovr"


def model_dirs() -> list[Path]:
    """Where names are looked up: $FER_MODEL_DIR (user models, first) then the shipped models."""
    extra = [Path(p) for p in os.environ.get("FER_MODEL_DIR", "").split(os.pathsep) if p]
    return [*extra, SHIPPED_DIR]


def available_names() -> list[str]:
    names = set()
    for root in model_dirs():
        if root.is_dir():
            names.update(
                p.name
                for p in root.iterdir()
                if (p / SPEC_FILENAME).is_file() or (p / MEMBERS_FILE).is_file()
            )
    return sorted(names)


@dataclass(frozen=True)
class Artifact:
    """A resolved model: one folder (kind single) or a composite of member artifacts."""

    name: str
    folder: Path
    kind: str  # single | ensemble | ovr
    members: tuple[Artifact, ...] = ()
    class_bias: tuple[float, ...] | None = None  # per class, EMOTIONS order (members.json)
    weights: tuple[float, ...] | None = None  # per member, an ensemble's weighted mean

    @property
    def spec(self) -> ModelSpec:
        return load_spec(self.folder)


def find_folder(name_or_path: str) -> Path:
    """A registered name, or a path to an artifact folder (anything with a separator, or a folder
    in the working directory that is not a registered name); unknown names list the choices."""
    path = Path(name_or_path).expanduser()
    looks_like_path = os.sep in name_or_path or name_or_path.startswith((".", "~"))
    if not looks_like_path:
        for root in model_dirs():
            candidate = root / name_or_path
            if candidate.is_dir():
                return candidate
    if path.is_dir():
        return path
    if looks_like_path or path.suffix:
        raise ModelFileError(f"{name_or_path}: no such model folder")
    raise UnknownNameError("model", name_or_path, available_names() or ["(no models installed)"])


def load_artifact(name_or_path: str, _within: tuple[Path, ...] = ()) -> Artifact:
    """The artifact a name or folder holds. `_within`: the composite folders being resolved
    around this one, so a members file that names its own folder or an ancestor is refused."""
    folder = find_folder(name_or_path)
    members_file = folder / MEMBERS_FILE
    if members_file.is_file():
        if folder.resolve() in _within:
            raise ModelFileError(f"{members_file}: the members lead back to {folder} (a cycle)")
        kind, members, class_bias, weights = _read_members(members_file)
        within = (*_within, folder.resolve())
        resolved = tuple(_load_member(folder, member, within) for member in members)
        return Artifact(folder.name, folder, kind, resolved, class_bias, weights)
    if not (folder / SPEC_FILENAME).is_file():
        raise ModelFileError(f"{folder}: neither {SPEC_FILENAME} nor {MEMBERS_FILE} in the folder")
    spec = load_spec(folder)
    # One network with seven sigmoid outputs (heads on a shared trunk) is a whole OVR set.
    is_ovr_network = spec.output == "sigmoid" and len(spec.labels) == len(EMOTIONS)
    return Artifact(folder.name, folder, "ovr" if is_ovr_network else "single")


MAX_CLASS_BIAS = 5.0  # exp(5) ≈ 148: beyond that a "bias" is a different model


def _read_members(
    members_file: Path,
) -> tuple[str, list[str], tuple[float, ...] | None, tuple[float, ...] | None]:
    try:
        data = json.loads(members_file.read_text(encoding="utf-8"))
        kind, members = data["kind"], data["members"]
        bias, weights = data.get("class_bias"), data.get("weights")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelFileError(f"{members_file}: not a valid members file ({error!r})") from error
    if kind not in ("ensemble", "ovr"):
        raise ModelFileError(f"{members_file}: kind '{kind}' is not ensemble or ovr")
    if (
        not isinstance(members, list)
        or not members
        or not all(isinstance(m, str) and m.strip() and "\0" not in m for m in members)
    ):
        raise ModelFileError(
            f"{members_file}: 'members' must be a non-empty list of model names or folders, "
            f"not {members!r}"
        )
    return (
        kind,
        members,
        _checked_bias(bias, members_file),
        _checked_weights(weights, kind, len(members), members_file),
    )


def _checked_weights(
    weights, kind: str, member_count: int, members_file: Path
) -> tuple[float, ...] | None:
    """One finite, non-negative number per member with a positive sum, for an ensemble only (an
    OVR set's members answer different questions), or absent."""
    if weights is None:
        return None
    valid = (
        kind == "ensemble"
        and isinstance(weights, list)
        and len(weights) == member_count
        and all(
            isinstance(w, int | float) and not isinstance(w, bool) and 0 <= w < float("inf")
            for w in weights
        )
        and sum(weights) > 0
    )
    if not valid:
        raise ModelFileError(
            f"{members_file}: 'weights' must be a list of {member_count} non-negative numbers "
            f"with a positive sum, one per member of an ensemble, not {weights!r}"
        )
    return tuple(float(w) for w in weights)


def _checked_bias(bias, members_file: Path) -> tuple[float, ...] | None:
    """{emotion: finite number within ±MAX_CLASS_BIAS} for all seven emotions, or absent."""
    if bias is None:
        return None
    valid = (
        isinstance(bias, dict)
        and sorted(bias) == sorted(EMOTIONS)
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and abs(v) <= MAX_CLASS_BIAS
            for v in bias.values()
        )
    )
    if not valid:
        raise ModelFileError(
            f"{members_file}: 'class_bias' must map each of the seven emotions to a number "
            f"within ±{MAX_CLASS_BIAS:g}, not {bias!r}"
        )
    return tuple(float(bias[emotion]) for emotion in EMOTIONS)


def member_allowed(folder: Path, member_folder: Path) -> bool:
    """Confinement of composite members: inside the composite's folder or a model search root."""
    target = member_folder.resolve()
    roots = [folder.resolve(), *(root.resolve() for root in model_dirs())]
    return any(target.is_relative_to(root) for root in roots)


def _load_member(folder: Path, member: str, within: tuple[Path, ...]) -> Artifact:
    """A member is a name on the model search path, or a relative folder inside the composite's
    folder or a search root (a sibling ensemble member: `../five_layer`); absolute paths and
    paths leading anywhere else are refused, so a model folder cannot load files from anywhere
    on disk."""
    relative = Path(member)
    inside = (folder / relative).resolve()
    if relative.is_absolute() or not member_allowed(folder, inside):
        raise ModelFileError(
            f"{folder / MEMBERS_FILE}: member '{member}' is outside the folder and the model "
            "search path",
            hint="members are model names, or folders inside it or on $FER_MODEL_DIR",
        )
    if inside.is_dir():
        return load_artifact(str(folder / relative), within)
    if os.sep in member or member.startswith("."):
        raise ModelFileError(f"{folder / MEMBERS_FILE}: member folder '{member}' does not exist")
    return load_artifact(member, within)


def resolve_model(model: str | os.PathLike, mode: str) -> Artifact:
    """What `--model X --mode Y` runs.

    auto: what X is (one model, an ensemble or OVR artifact; a comma list is an ensemble).
    single: X must be one model. ensemble: X is a comma list of members, an ensemble artifact, or
    one member name (then the shipped default ensemble is used when it contains X). ovr: X is an OVR
    artifact or a model whose OVR set `X_ovr` exists.
    """
    if mode not in MODES:
        raise UnknownNameError("mode", mode, MODES)
    if isinstance(model, os.PathLike):  # the Python API: an artifact folder as a Path
        model = os.fspath(model)
    if not isinstance(model, str):
        raise UsageError(
            f"model must be a name or a folder path, not {type(model).__name__} {model!r}"
        )
    names = [part.strip() for part in model.split(",") if part.strip()]
    if not names:
        raise UsageError("--model is empty")
    if mode == "auto":
        mode = "ensemble" if len(names) > 1 else load_artifact(names[0]).kind
    if mode == "ensemble":
        if len(names) > 1:
            members = tuple(load_artifact(name) for name in names)
            return Artifact(
                "+".join(a.name for a in members), members[0].folder, "ensemble", members
            )
        artifact = load_artifact(names[0])
        if artifact.kind == "ensemble":
            return artifact
        default = load_artifact(DEFAULT_ENSEMBLE)
        if artifact.name in {m.name for m in default.members}:
            return default
        raise UsageError(
            f"'{names[0]}' is not an ensemble",
            hint="name the members: --model five_layer,six_layer",
        )
    if len(names) > 1:
        raise UsageError(
            f"--mode {mode} takes one model, got {len(names)}",
            hint="use --mode ensemble for several models",
        )
    artifact = load_artifact(names[0])
    if mode == "ovr":
        if artifact.kind == "ovr":
            return artifact
        try:
            return load_artifact(names[0] + OVR_SUFFIX)
        except UnknownNameError:
            raise UsageError(
                f"'{names[0]}' has no one-vs-rest set ('{names[0]}{OVR_SUFFIX}')",
                hint=f"build one: fer-assemble ovr --trunk {names[0]} --data fer2013.npz --out DIR",
            ) from None
    if artifact.kind != "single":
        raise UsageError(
            f"'{names[0]}' is an {artifact.kind} artifact", hint=f"use --mode {artifact.kind}"
        )
    return artifact
