from __future__ import annotations

import numpy as np

from fer_live.engines.model import FerModel
from fer_live.realtime.pipeline import Pipeline, PipelineOptions
from fer_live.realtime.types import FaceBoxes, Frame


class GridDetector:
    """A detector stand-in that reports `count` boxes on a grid (tests the batching, not faces)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def detect(self, image):
        boxes = np.array([[40 * i, 0, 40 * i + 30, 30] for i in range(self.count)], np.float32)
        boxes = boxes.reshape(-1, 4)
        return FaceBoxes(boxes, np.ones(self.count, np.float32))


def test_all_faces_of_a_frame_go_in_one_call(with_models):
    with FerModel.open("tiny", "single", "onnxruntime") as model:
        pipeline = Pipeline(model, GridDetector(30))
        frames = [Frame(np.zeros((100, 1300, 3), np.uint8), i, i / 30) for i in range(3)]
        results = list(pipeline.run(frames))
    assert pipeline.inference_calls == 3
    assert [len(r.faces) for r in results] == [30, 30, 30]
    assert [f.face_id for f in results[2].faces] == list(range(1, 31))


def test_faces_of_consecutive_frames_are_batched(with_models):
    with FerModel.open("tiny", "single", "onnxruntime") as model:
        pipeline = Pipeline(model, GridDetector(2), PipelineOptions(batch_frames=4))
        frames = [Frame(np.zeros((60, 100, 3), np.uint8), i, i / 30) for i in range(10)]
        results = list(pipeline.run(frames))
    assert len(results) == 10 and pipeline.inference_calls == 3  # 4 + 4 + 2 frames
    assert [r.frame.index for r in results] == list(range(10))


def test_no_faces_means_no_inference(with_models):
    with FerModel.open("tiny", "single", "onnxruntime") as model:
        pipeline = Pipeline(model, GridDetector(0))
        results = list(pipeline.run([Frame(np.zeros((10, 10, 3), np.uint8), 0, 0.0)]))
    assert results[0].faces == [] and pipeline.inference_calls == 0


class ShiftingDetector(GridDetector):
    """Two boxes that move with the frame index, so every frame's crops (and labels) differ."""

    def __init__(self) -> None:
        super().__init__(2)
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        shift = float(image[0, 0, 0])
        boxes = np.array([[shift, 5, shift + 40, 45], [70 + shift, 5, 110 + shift, 45]], np.float32)
        return FaceBoxes(boxes, np.ones(2, np.float32))


def test_batches_classified_on_a_worker_thread_give_the_per_frame_results_in_order(with_models):
    """Recorded video classifies batch k on a worker while batch k+1 is detected: the results
    must be those of classifying each frame at once (live video's path), frame by frame."""
    rng = np.random.default_rng(0)
    frames = []
    for index in range(11):
        image = rng.integers(0, 256, (60, 160, 3), dtype=np.uint8)
        image[0, 0, 0] = index * 3  # the detector's shift
        frames.append(Frame(image, index, index / 30))

    def run(batch_frames: int):
        with FerModel.open("tiny", "single", "onnxruntime") as model:
            options = PipelineOptions(batch_frames=batch_frames, detect_every=1)
            pipeline = Pipeline(model, ShiftingDetector(), options)
            return list(pipeline.run(frames)), pipeline

    at_once, _ = run(1)
    overlapped, pipeline = run(4)
    assert pipeline.inference_calls == 3  # 4 + 4 + 3 frames
    assert [r.frame.index for r in overlapped] == list(range(11))
    for single, batched in zip(at_once, overlapped, strict=True):
        assert [f.face_id for f in batched.faces] == [f.face_id for f in single.faces]
        for a, b in zip(single.faces, batched.faces, strict=True):
            np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)
            np.testing.assert_allclose(a.smoothed, b.smoothed, atol=1e-5)
