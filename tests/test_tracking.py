from __future__ import annotations

import numpy as np

from fer_live.realtime.tracking import IouTracker, Track, smooth

BOX = np.array([[100, 100, 200, 200]], np.float32)


def test_same_face_keeps_its_id_while_moving():
    tracker = IouTracker()
    ids = [tracker.update(BOX + 5 * i, i / 30)[0] for i in range(30)]
    assert set(ids) == {1}


def test_short_occlusion_keeps_id_long_one_starts_new():
    tracker = IouTracker(max_age_s=1.0)
    assert tracker.update(BOX, 0.0) == [1]
    assert tracker.update(np.zeros((0, 4)), 0.5) == []
    assert tracker.update(BOX, 0.9) == [1]
    assert tracker.update(BOX, 2.5) == [2]


def test_two_faces_get_two_ids_and_keep_them():
    tracker = IouTracker()
    two = np.array([[0, 0, 50, 50], [300, 0, 350, 50]], np.float32)
    first = tracker.update(two, 0.0)
    second = tracker.update(two[::-1] + 2, 0.033)
    assert sorted(first) == [1, 2] and second == first[::-1]


def test_smoothing_is_an_ema_and_off_at_alpha_one():
    track = Track(1, BOX[0], 0.0)
    a = np.eye(7)[0]
    b = np.eye(7)[1]
    smooth(track, a, 0.5)
    np.testing.assert_allclose(smooth(track, b, 0.5), 0.5 * a + 0.5 * b)
    np.testing.assert_allclose(smooth(track, a, 1.0), a)
