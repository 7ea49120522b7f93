"""How many threads the libraries under the video pipeline use, decided once per process.

The pipeline already keeps both cores busy with its own threads: the file is decoded on one,
the annotated video drawn and encoded on another, and detection, tracking and the classifier run
on the main thread. Left to themselves ONNX Runtime (a pool of one thread per core that
spin-waits between calls), OpenCV (a pool per call) and FFmpeg (frame threads) each add threads
of their own on the same two cores, and they wait for one another. On a 2-core AVX-512 EPYC,
fer-video on the 60 s talking head (compact_resnet) took 8.6 s with the libraries' defaults and
5.0 s with one OpenCV thread, one FFmpeg decoding thread and ONNX Runtime's threads asleep
between calls (README, speed).

`use_pipeline_threads()` is called by every pipeline entry point (fer-video, fer-live,
fer-serve, the Recognizer); `fer-eval` and `fer-bench`'s classifier timings keep the libraries'
defaults, where one big batch should use every core. FER_THREADS=N overrides ONNX Runtime's
intra-op threads everywhere.
"""

from __future__ import annotations

import os

_pipeline = False


def use_pipeline_threads() -> None:
    """From now on in this process: OpenCV calls on one thread, video files decoded on one
    FFmpeg thread, ONNX Runtime sessions opened later without spin-waiting threads."""
    global _pipeline
    _pipeline = True
    import cv2

    cv2.setNumThreads(1)


def pipeline_threads() -> bool:
    return _pipeline


def onnxruntime_threads() -> tuple[int, bool]:
    """(intra-op threads, spin-wait) for a new ONNX Runtime session; 0 = one per core.

    Inside the pipeline the classifier keeps a thread per core (five_layer's batch of 32 takes
    half as long on two) but its threads sleep between calls instead of spinning: with spinning,
    fer-video on the talking head took 14.0 s (five_layer) and 8.3 s (compact_resnet); with one
    thread, 14.8 s and 5.0-5.3 s; with two sleeping threads 9.6 s and 4.7-5.6 s (2-core AVX-512
    EPYC, one run each)."""
    override = os.environ.get("FER_THREADS", "").strip()
    threads = int(override) if override.isdigit() else 0
    return threads, not _pipeline


def decoder_threads() -> int:
    """FFmpeg decoding threads for a video file: 0 lets FFmpeg choose (one per core)."""
    return 1 if _pipeline else 0
