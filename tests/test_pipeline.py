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
