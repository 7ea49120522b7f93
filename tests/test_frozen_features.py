"""The frozen-feature pass: cached ImageNet features, a head on them, and the artifact it writes."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from fer_live.train.frozen_features import conservative_class_weights
from tests.conftest import run_command

pytest.importorskip("tf2onnx", reason="the backbone is exported with the [train] extra")


def test_conservative_weights_follow_btfer():
    labels = np.array([3] * 90 + [1] * 10 + [0] * 45 + [2, 4, 5, 6] * 30)
    weights = conservative_class_weights(labels)
    assert weights[3] == 1.0 and weights[0] == 2.0  # n_max / n_c
    assert weights[1] == 3.0  # 9 capped at 3


def test_sizes_are_checked_before_any_work(tmp_path):
    result = run_command(
        sys.executable, "-m", "fer_live.train.frozen_features", "--data", str(tmp_path / "x.npz"),
        "--cache-dir", str(tmp_path), "--sizes", "64,9000",
    )  # fmt: skip
    assert result.returncode == 2
    assert "'9000' is not a size" in result.stderr and "Traceback" not in result.stderr


def test_head_artifact_scores_what_the_head_scored_and_cache_is_reused(fer2013, tmp_path):
    full = np.load(fer2013)
    usage = full["usage"]
    rows = np.concatenate(
        [np.flatnonzero(usage == name)[:count] for name, count in
         (("Training", 300), ("PublicTest", 120), ("PrivateTest", 10))]
    )  # fmt: skip
    small = tmp_path / "small.npz"
    np.savez(small, images=full["images"][rows], labels=full["labels"][rows], usage=usage[rows])
    cache, out, table = tmp_path / "cache", tmp_path / "head", tmp_path / "t.json"
    command = [sys.executable, "-m", "fer_live.train.frozen_features", "--data", str(small)]
    command += ["--cache-dir", str(cache), "--sizes", "32", "--epochs", "3"]
    first = run_command(*command, "--json", str(table), "--out", str(out), "--size", "32")
    assert first.returncode == 0, first.stderr
    rows = json.loads(table.read_text())["rows"]
    assert [row["class_weighting"] for row in rows] == ["none", "conservative"]
    assert all(row["backbone_ms_per_face"] > 0 for row in rows)
    # The artifact (ImageNet backbone + the head, standardisation folded in) gives the head's
    # validation accuracy when fer-eval runs it through the runtime's preprocessing.
    chosen = (
        "conservative" if json.loads((out / "info.json").read_text())["class_weighting"] else "none"
    )
    expected = next(row["val_accuracy"] for row in rows if row["class_weighting"] == chosen)
    report = tmp_path / "r.json"
    evaluated = run_command(
        "fer-eval", "--model", str(out), "--data", str(small), "--split", "PublicTest",
        "--json", str(report),
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(report.read_text())["accuracy"] == pytest.approx(expected, abs=1 / 120)
    # A second run reads the cached features: no backbone time is paid again.
    second = run_command(*command, "--json", str(table))
    assert second.returncode == 0, second.stderr
    assert all(row["backbone_ms_per_face"] is None for row in json.loads(table.read_text())["rows"])
