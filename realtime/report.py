"""Per-track summaries and the timeline plot of a processed video."""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fer_live.engines.atomic import write_atomic
from fer_live.engines.labels import EMOTIONS
from fer_live.realtime.types import FaceResult


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


def overall_summary(tracks, min_track_s: float, still: bool = False) -> dict[str, Any]:
    """The whole input's answer: shares of each emotion over every face-frame, the dominant
    emotion, and how many people: tracks seen for at least `min_track_s`, or every face of a
    photo (`still`)."""
    tracks = list(tracks)
    counts = sum((t.label_counts for t in tracks), np.zeros(len(EMOTIONS), np.int64))
    total = int(counts.sum())
    people = [t for t in tracks if still or t.last_s - t.first_s >= min_track_s]
    return {
        "face_frames": total,
        "people": len(people),
        "share": {
            e: round(float(c) / max(total, 1), 4) for e, c in zip(EMOTIONS, counts, strict=True)
        },
        "dominant": EMOTIONS[int(np.argmax(counts))] if total else None,
    }


def with_gaps(rows: np.ndarray, gap_s: float | None = None) -> np.ndarray:
    """rows (time, values...) with a NaN row inserted wherever the face was missing for longer
    than `gap_s` (default: 3 frame steps, at least 0.25 s), so plots show the gap."""
    if len(rows) < 2:
        return rows
    steps = np.diff(rows[:, 0])
    if gap_s is None:
        gap_s = max(3 * float(np.median(steps)), 0.25)
    breaks = np.flatnonzero(steps > gap_s) + 1
    if not len(breaks):
        return rows
    blank = np.full((len(breaks), rows.shape[1]), np.nan)
    blank[:, 0] = rows[breaks - 1, 0] + gap_s / 2  # inside the gap, in time order
    return np.insert(rows, breaks, blank, axis=0)


def _import_plotting() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot


def import_plotting_in_background() -> None:
    """Import matplotlib on a thread now, so that plot_timeline at the end of a video does not
    wait for it: the import takes 0.3 s of a 5 s fer-video run, while the other core has room.
    Python's import lock makes a plot_timeline that comes first simply wait for it."""
    threading.Thread(target=_import_plotting, name="import-matplotlib", daemon=True).start()


def plot_timeline(
    csv_path: Path,
    png_path: Path,
    min_track_s: float = 1.0,
    max_panels: int = 12,
    title: str | None = None,
) -> int:
    """One panel per face id seen for at least `min_track_s`; returns the number of panels.
    title: the figure's title (default: the CSV's stem, which is the input's)."""
    _import_plotting()
    import matplotlib.pyplot as plt

    from fer_live.realtime.overlay import COLORS

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
    # Constrained layout keeps the legend outside the panels, under them, never over the data.
    figure, axes = plt.subplots(
        panels,
        1,
        figsize=(10, 2.0 * panels + 1.0),
        sharex=True,
        squeeze=False,
        layout="constrained",
    )
    colors = [tuple(c / 255 for c in COLORS[emotion][::-1]) for emotion in EMOTIONS]
    for axis, face_id in zip(axes[:, 0], chosen, strict=False):
        data = with_gaps(tracks[face_id])
        # Stacked shares (they sum to 1) read better than seven crossing lines; NaN rows break
        # the areas where the face was not detected instead of drawing straight across.
        axis.stackplot(data[:, 0], data[:, 1:].T, labels=EMOTIONS, colors=colors, alpha=0.9)
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
    else:
        handles, labels = axes[0, 0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncol=7, fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    figure.suptitle(title or csv_path.stem)
    try:
        write_atomic(png_path, lambda temporary: figure.savefig(temporary, dpi=100))
    finally:
        plt.close(figure)
    return len(chosen)
