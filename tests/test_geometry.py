from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fer_live.realtime.geometry import clip_boxes, crop_faces, iou_matrix, square_crop_boxes

coords = st.floats(-500, 2500, allow_nan=False)
sizes = st.integers(1, 2000)


@given(
    x1=coords,
    y1=coords,
    w=st.floats(0, 800),
    h=st.floats(0, 800),
    width=sizes,
    height=sizes,
    margin=st.floats(0, 1),
)
def test_square_crops_always_inside_and_non_empty(x1, y1, w, h, width, height, margin):
    crop = square_crop_boxes(np.array([[x1, y1, x1 + w, y1 + h]]), width, height, margin)[0]
    assert 0 <= crop[0] < crop[2] <= width
    assert 0 <= crop[1] < crop[3] <= height


def test_square_crop_is_square_with_margin_when_inside():
    crop = square_crop_boxes(np.array([[100, 100, 140, 120]]), 640, 480, margin=0.5)[0]
    assert crop[2] - crop[0] == crop[3] - crop[1] == 60  # longest side 40 grown by half
    assert (crop[0] + crop[2]) / 2 == 120 and (crop[1] + crop[3]) / 2 == 110


def test_crop_at_frame_edge_is_clipped():
    image = np.zeros((100, 200, 3), np.uint8)
    (crop,) = crop_faces(image, np.array([[-30, -30, 30, 30]]), margin=0.2)
    assert crop.shape[0] > 0 and crop.shape[1] > 0 and crop.shape[:2] == (36, 36)


@given(st.lists(st.tuples(coords, coords, coords, coords), min_size=1, max_size=5), sizes, sizes)
def test_clip_boxes_inside(boxes, width, height):
    clipped = clip_boxes(np.array(boxes), width, height)
    assert (clipped[:, [0, 2]] >= 0).all() and (clipped[:, [0, 2]] <= width).all()
    assert (clipped[:, [1, 3]] >= 0).all() and (clipped[:, [1, 3]] <= height).all()


@given(
    st.lists(
        st.tuples(coords, coords, st.floats(1, 300), st.floats(1, 300)), min_size=1, max_size=6
    )
)
def test_iou_bounds_and_self_overlap(boxes):
    xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in boxes])
    matrix = iou_matrix(xyxy, xyxy)
    assert ((matrix >= 0) & (matrix <= 1 + 1e-9)).all()
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    np.testing.assert_allclose(matrix, matrix.T)


def test_iou_known_value():
    assert iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10]]))[0, 0] == 50 / 150
