"""Per-track summaries and the timeline plot of a processed video."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engines.errors import OutputError
from engines.labels import EMOTIONS
from realtime.types import FaceResult


@dataclass
class TrackSummary:
    """Running totals for one face id (memory does not grow with video length)."""

    frames: int = 0
    first_s: float = 0.0
    last_s: float = 0.0
    label_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(EMOTIONS), np.int64))
    prob_sums: np.ndarray = field(default_factory=lambda: np.zeros(len(EMOTIONS), np.float64))

    def add(self, face: FaceResult, timestamp_s: float, use_smoothed: bool) -> None:
        probs = face.smoothed if use_smoothed else face.probs
        if self.frames == 0:
            self.first_s = timestamp_s
        self.frames += 1
        self.last_s = timestamp_s
        self.label_counts[int(np.argmax(probs))] += 1
        self.prob_sums += probs

    def to_dict(self) -> dict[str, Any]:
        share = self.label_counts / max(self.frames, 1)
        return {
            "frames": self.frames,
            "first_s": round(self.first_s, 3),
            "last_s": round(self.last_s, 3),
            "duration_s": round(self.last_s - self.first_s, 3),
            "share": {e: round(float(s), 4) for e, s in zip(EMOTIONS, share, strict=True)},
            "mean_probs": {
                e: round(float(p), 4)
                for e, p in zip(EMOTIONS, self.prob_sums / max(self.frames, 1), strict=True)
            },
            "dominant": EMOTIONS[int(np.argmax(self.label_counts))],
        }


def plot_timeline(
    csv_path: Path, png_path: Path, min_track_s: float = 1.0, max_panels: int = 12
) -> int:
    """One panel per face id seen for at least `min_track_s`; returns the number of panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from realtime.overlay import COLORS

    series: dict[int, list[list[float]]] = {}
    with csv_path.open() as handle:
        for row in csv.DictReader(handle):
            values = [float(row["timestamp_s"])] + [float(row[e]) for e in EMOTIONS]
            series.setdefault(int(row["face_id"]), []).append(values)
    tracks = {
        face_id: np.array(rows)
        for face_id, rows in series.items()
        if rows[-1][0] - rows[0][0] >= min_track_s
    }
    chosen = sorted(tracks, key=lambda i: -len(tracks[i]))[:max_panels]
    chosen.sort()
    panels = max(len(chosen), 1)
    figure, axes = plt.subplots(
        panels, 1, figsize=(10, 2.2 * panels + 0.6), sharex=True, squeeze=False
    )
    for axis, face_id in zip(axes[:, 0], chosen, strict=False):
        data = tracks[face_id]
        for column, emotion in enumerate(EMOTIONS, start=1):
            color = tuple(c / 255 for c in COLORS[emotion][::-1])
            axis.plot(data[:, 0], data[:, column], label=emotion, color=color, linewidth=1.2)
        axis.set_ylim(0, 1)
        axis.set_ylabel(f"face {face_id}")
    if not chosen:
        axes[0, 0].text(
            0.5,
            0.5,
            f"no face tracked for {min_track_s:g} s or longer",
            ha="center",
            va="center",
            transform=axes[0, 0].transAxes,
        )
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(loc="upper right", ncol=7, fontsize=7)
    figure.suptitle(csv_path.stem)
    figure.tight_layout()
    tmp = png_path.with_name(f".{png_path.stem}.partial.png")
    try:
        figure.savefig(tmp, dpi=100)
        tmp.replace(png_path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{png_path}: cannot write ({error.strerror or error})") from error
    finally:
        plt.close(figure)
    return len(chosen)
