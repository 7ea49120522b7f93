"""FER2013 in its public forms, loaded into one in-memory shape, and its train/val/test splits.

Loaders accept the shared npz, Kaggle's `fer2013.csv` (emotion,pixels,Usage) and the image-folder
layout (`train/<class>/*.jpg`, `test/<class>/*.jpg`). Every malformed file is an `InputFileError`
naming the file (and row) and what is wrong.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_live.engines.errors import InputFileError, UsageError
from fer_live.engines.labels import EMOTIONS, NUM_CLASSES

USAGES = ("Training", "PublicTest", "PrivateTest")
SPLIT_SCHEMES = ("official", "random")


@dataclass(frozen=True)
class FaceSet:
    """Gray faces with FER2013 labels.

    images: uint8 N×48×48; labels: int64 N (EMOTIONS order); usage: str N (Training/PublicTest/
    PrivateTest, or "" when unknown); votes: int N×10 FER+ votes or None.
    """

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    votes: np.ndarray | None = None
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.ndim != 3 or self.images.dtype != np.uint8:
            raise InputFileError(f"{self.source}: images must be uint8 N×H×W")
        if len(self.labels) != n or len(self.usage) != n:
            raise InputFileError(f"{self.source}: images, labels and usage differ in length")
        if n and (self.labels.min() < 0 or self.labels.max() >= NUM_CLASSES):
            raise InputFileError(f"{self.source}: labels outside 0..{NUM_CLASSES - 1}")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, mask_or_index: np.ndarray) -> FaceSet:
        votes = None if self.votes is None else self.votes[mask_or_index]
        return FaceSet(
            self.images[mask_or_index],
            self.labels[mask_or_index],
            self.usage[mask_or_index],
            votes,
            self.source,
        )

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=NUM_CLASSES)


@dataclass(frozen=True)
class Splits:
    train: FaceSet
    val: FaceSet
    test: FaceSet


def load_faces(
    path: str | Path, votes_path: str | Path | None = None, load_votes: bool = True
) -> FaceSet:
    """Load FER2013 from an npz, a Kaggle csv or an image folder, chosen by what `path` is.
    load_votes=False (evaluation) never reads a `ferplus_votes.npz` lying beside the data."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file or folder")
    if path.is_dir():
        faces = _load_image_folder(path)
    elif path.suffix.lower() == ".npz":
        faces = _load_npz(path)
    elif path.suffix.lower() == ".csv":
        faces = _load_kaggle_csv(path)
    else:
        raise InputFileError(f"{path}: unknown dataset format (expected .npz, .csv or a folder)")
    if not load_votes:
        return faces
    if votes_path is None and path.suffix.lower() == ".npz":
        sibling = path.with_name("ferplus_votes.npz")
        votes_path = sibling if sibling.is_file() else None
    if votes_path is not None:
        faces = _with_votes(faces, Path(votes_path))
    return faces


def _load_npz(path: Path) -> FaceSet:
    """images (N×H×W integers in 0..255), labels (N integers 0..6) and, optionally, usage (N
    strings). Anything else is refused by name: a silent cast would turn float 0..1 images
    black, NaN into 0, 765 into 253, label 3.7 into 3, and N×1 labels into a nonsense matrix."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise InputFileError(f"{path}: not a readable npz ({error})") from error
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise InputFileError(f"{path}: a single .npy array, not an npz archive")
    try:
        with data:
            missing = {"images", "labels"} - set(data.files)
            if missing:
                raise InputFileError(f"{path}: missing arrays {sorted(missing)}")
            images, labels = data["images"], data["labels"]
            usage = data["usage"] if "usage" in data.files else None
    except (OSError, ValueError, EOFError) as error:
        raise InputFileError(f"{path}: not a readable npz ({error})") from error
    count = len(images) if images.ndim else 0
    usage = np.full(count, "", dtype=str) if usage is None else _checked_usage(usage, count, path)
    return FaceSet(
        _checked_images(images, path), _checked_labels(labels, count, path), usage, source=str(path)
    )


def _checked_images(images: np.ndarray, path: Path) -> np.ndarray:
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or min(images.shape[1:], default=0) < 1:
        raise InputFileError(f"{path}: 'images' must be N×H×W gray images, not {images.shape}")
    if not np.issubdtype(images.dtype, np.integer):
        raise InputFileError(
            f"{path}: 'images' are {images.dtype}; expected integers 0..255 (uint8)"
        )
    if images.size and (images.min() < 0 or images.max() > 255):
        raise InputFileError(
            f"{path}: 'images' values span {images.min()}..{images.max()}, not 0..255"
        )
    return images.astype(np.uint8, copy=False)


def _checked_labels(labels: np.ndarray, count: int, path: Path) -> np.ndarray:
    if labels.ndim != 1 or len(labels) != count:
        raise InputFileError(
            f"{path}: 'labels' must be one integer per image (shape ({count},)), "
            f"not shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or not np.all(np.mod(labels, 1) == 0):
            raise InputFileError(f"{path}: 'labels' must be whole numbers 0..{NUM_CLASSES - 1}")
    return labels.astype(np.int64)


def _checked_usage(usage: np.ndarray, count: int, path: Path) -> np.ndarray:
    if usage.shape != (count,) or usage.dtype.kind not in "US":
        raise InputFileError(
            f"{path}: 'usage' must be {count} strings, not {usage.dtype} {usage.shape}"
        )
    return usage.astype(str)


def _load_kaggle_csv(path: Path) -> FaceSet:
    images, labels, usage = [], [], []
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            needed = {"emotion", "pixels"}
            if reader.fieldnames is None or not needed <= set(reader.fieldnames):
                raise InputFileError(
                    f"{path}: expected columns emotion,pixels[,Usage], found {reader.fieldnames}"
                )
            for row_number, row in enumerate(reader, start=2):
                images.append(_parse_pixels(row["pixels"], path, row_number))
                labels.append(_parse_label(row["emotion"], path, row_number))
                usage.append(row.get("Usage") or "")
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputFileError(f"{path}: cannot read csv ({error})") from error
    if not images:
        raise InputFileError(f"{path}: no rows")
    return FaceSet(np.stack(images), np.array(labels), np.array(usage), source=str(path))


def _parse_pixels(text: str, path: Path, row: int) -> np.ndarray:
    try:
        values = np.array(text.split(), dtype=np.int64)
    except ValueError as error:
        raise InputFileError(f"{path}: row {row}: pixels are not integers") from error
    side = round(np.sqrt(values.size))
    if values.size == 0 or side * side != values.size:
        raise InputFileError(f"{path}: row {row}: {values.size} pixels is not a square image")
    if values.min() < 0 or values.max() > 255:
        raise InputFileError(f"{path}: row {row}: pixel values outside 0..255")
    return values.astype(np.uint8).reshape(side, side)


def _parse_label(text: str, path: Path, row: int) -> int:
    try:
        label = int(text)
    except ValueError as error:
        raise InputFileError(f"{path}: row {row}: label '{text}' is not an integer") from error
    if not 0 <= label < NUM_CLASSES:
        raise InputFileError(f"{path}: row {row}: unknown label {label} (expected 0..6)")
    return label


def _load_image_folder(root: Path) -> FaceSet:
    import cv2

    images, labels, usage = [], [], []
    folder_usage = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
    subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    # <class>/<image> (a set from another source, one split) or <split>/<class>/<image>.
    single_split = bool(subfolders) and all(p.name in EMOTIONS for p in subfolders)
    for split_dir in [root] if single_split else subfolders:
        for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            if class_dir.name not in EMOTIONS:
                raise InputFileError(
                    f"{class_dir}: unknown class folder; expected one of {', '.join(EMOTIONS)}"
                )
            for file in sorted(class_dir.iterdir()):
                image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
                if image is None:
                    raise InputFileError(f"{file}: not a readable image")
                if image.shape != (48, 48):
                    image = cv2.resize(image, (48, 48), interpolation=cv2.INTER_AREA)
                images.append(image)
                labels.append(EMOTIONS.index(class_dir.name))
                usage.append(_usage_of(file.name, folder_usage.get(split_dir.name, "")))
    if not images:
        raise InputFileError(f"{root}: no images in <class>/ or <split>/<class>/ folders")
    return FaceSet(np.stack(images), np.array(labels), np.array(usage), source=str(root))


def _usage_of(filename: str, default: str) -> str:
    # msambare file names keep the original split: PublicTest_123.jpg / PrivateTest_456.jpg.
    for usage in USAGES:
        if filename.startswith(usage + "_"):
            return usage
    return default


def _with_votes(faces: FaceSet, votes_path: Path) -> FaceSet:
    try:
        with np.load(votes_path, allow_pickle=False) as data:
            votes = np.asarray(data["votes"], dtype=np.int64)
    except (OSError, ValueError, KeyError) as error:
        raise InputFileError(f"{votes_path}: not a FER+ votes npz ({error})") from error
    if votes.shape != (len(faces), 10):
        raise InputFileError(f"{votes_path}: votes shape {votes.shape} does not fit {len(faces)}")
    return FaceSet(faces.images, faces.labels, faces.usage, votes, faces.source)


def split_faces(faces: FaceSet, scheme: str = "official", seed: int = 42) -> Splits:
    """official: Training / PublicTest (validation) / PrivateTest (test); random: 80/10/10."""
    if scheme == "official":
        parts = [faces.subset(faces.usage == usage) for usage in USAGES]
        if min(len(part) for part in parts) == 0:
            raise UsageError(
                f"{faces.source}: the official split needs Training, PublicTest and "
                "PrivateTest rows",
                hint="use --split-scheme random",
            )
        return Splits(*parts)
    if scheme == "random":
        order = np.random.default_rng(seed).permutation(len(faces))
        n_train, n_val = int(0.8 * len(faces)), int(0.1 * len(faces))
        return Splits(
            faces.subset(order[:n_train]),
            faces.subset(order[n_train : n_train + n_val]),
            faces.subset(order[n_train + n_val :]),
        )
    raise UsageError(f"unknown split scheme '{scheme}'; choose one of: {', '.join(SPLIT_SCHEMES)}")


def file_checksum(path: str | Path) -> str:
    """sha256 of a dataset file (of every file, in name order, for a folder)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
