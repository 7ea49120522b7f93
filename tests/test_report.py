"""The per-input summary's whole-input answer and the timeline plot."""

from __future__ import annotations

import csv
import warnings

import numpy as np

from fer_live.engines.labels import EMOTIONS
from fer_live.realtime.report import TrackSummary, overall_summary, plot_timeline, with_gaps
from fer_live.realtime.sinks import CSV_COLUMNS
from fer_live.realtime.types import FaceResult


def _face(face_id: int, label: int) -> FaceResult:
    probs = np.full(len(EMOTIONS), 0.05, np.float32)
    probs[label] = 0.7
    return FaceResult(face_id, (0, 0, 10, 10), 0.9, probs, probs)


def test_overall_shares_and_dominant_over_all_faces():
    first, second = TrackSummary(), TrackSummary()
    for step in range(30):
        first.add(_face(1, EMOTIONS.index("happy")), step / 10, False)
    for step in range(10):
        second.add(_face(2, EMOTIONS.index("sad")), step / 10, False)
    overall = overall_summary([first, second], min_track_s=1.0)
    assert overall["face_frames"] == 40 and overall["dominant"] == "happy"
    assert overall["share"]["happy"] == 0.75 and overall["share"]["sad"] == 0.25
    assert overall["people"] == 1  # the second face was seen for 0.9 s only
    assert overall_summary([], 1.0)["dominant"] is None


def test_gaps_break_the_series():
    rows = np.array([[0.0, 1], [0.04, 1], [3.0, 1], [3.04, 1]])
    gapped = with_gaps(rows)
    assert len(gapped) == 5 and np.isnan(gapped[2, 1]) and np.all(np.diff(gapped[:, 0]) > 0)


def test_timeline_plots_without_warnings(tmp_path):
    path = tmp_path / "clip.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for frame in [*range(0, 40), *range(90, 130)]:  # a 2 s gap in the middle
            probs = np.random.default_rng(frame).dirichlet(np.ones(7))
            writer.writerow([frame, frame / 25, 1, 0, 0, 9, 9, 0.9, "happy", 0.5, *probs])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plot_timeline(path, tmp_path / "clip.png", min_track_s=1.0) == 1
    import cv2

    assert cv2.imread(str(tmp_path / "clip.png")) is not None


def test_probability_panel_avoids_the_faces_and_names_its_face():
    from fer_live.realtime.overlay import annotate, panel_corner

    # A face in the top-right corner: the panel goes to the top left instead.
    boxes = [np.array([500.0, 20, 620, 160])]
    assert panel_corner((480, 640), (180, 140), boxes, 6) == (6, 6)
    assert panel_corner((480, 640), (180, 140), [], 6) == (640 - 180 - 6, 6)
    image = np.zeros((480, 640, 3), np.uint8)
    face = FaceResult(3, np.array([500.0, 20, 620, 160]), 0.9, np.eye(7)[3], np.eye(7)[3])
    annotate(image, [face])
    assert image[:150, :200].any()  # the panel was drawn top left


def test_wide_shot_hint_names_the_full_range_detector(media, tmp_path):
    """The stage clip's faces are small for BlazeFace short range: fer-video says what to use."""
    from tests.conftest import run_command

    stage = run_command(
        "fer-video", str(media / "hamilton_clip_stage_multiface.mp4"), "--no-video", "--quiet",
        "--output-dir", str(tmp_path / "stage"),
    )
    assert stage.returncode == 0, stage.stderr[-2000:]
    assert "--detector mediapipe-full" in stage.stderr
    import json

    summary = json.loads((tmp_path / "stage" / "hamilton_clip_stage_multiface.summary.json")
                         .read_text())
    assert 0.2 < summary["face_height_share_p50"] < 0.35
    close = run_command(
        "fer-video", str(media / "talking_head_webcam_man.mp4"), "--no-video", "--quiet",
        "--output-dir", str(tmp_path / "talk"),
    )
    assert close.returncode == 0 and "mediapipe-full" not in close.stderr


def test_timeline_title_defaults_to_the_csv_stem_and_can_be_given(tmp_path, monkeypatch):
    import matplotlib.figure

    titles = []
    original = matplotlib.figure.Figure.suptitle
    monkeypatch.setattr(
        matplotlib.figure.Figure,
        "suptitle",
        lambda self, text, **kw: titles.append(text) or original(self, text, **kw),
    )
    path = tmp_path / "video.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerow(CSV_COLUMNS)
    plot_timeline(path, tmp_path / "a.png")
    plot_timeline(path, tmp_path / "b.png", title="interview 3.mp4")
    assert titles == ["video", "interview 3.mp4"]
