"""fer-live as a library: faces and their emotions in images and videos, without the command line.

    from fer_live import Recognizer

    with Recognizer("five_layer") as recognizer:
        for face in recognizer.detect("photo.jpg"):
            print(face.box, face.label, face.probabilities["happy"])

`Recognizer.detect` finds and labels the faces of an image, `Recognizer.classify` gives the N×7
probabilities of face crops, `Recognizer.process_video` yields per-frame faces with track ids and
`Recognizer.analyze_video` writes what fer-video writes. Models are the shipped names, names on
$FER_MODEL_DIR or artifact folders (a str or a pathlib.Path), as for the commands. Errors are
`FerError` subclasses with a one-line message. The commands' code installs beside it as
fer_live.engines, fer_live.realtime, fer_live.train and fer_live.benchmarks.
"""

from __future__ import annotations

from fer_live.engines import __version__
from fer_live.engines.errors import FerError
from fer_live.engines.labels import EMOTIONS
from fer_live.recognizer import Face, Recognizer, VideoFrame, to_dataframe

__all__ = [
    "EMOTIONS",
    "Face",
    "FerError",
    "Recognizer",
    "VideoFrame",
    "__version__",
    "to_dataframe",
]
