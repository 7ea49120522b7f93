"""fer-live as a library: faces and their emotions in images, without the command line.

    from fer_live import Recognizer

    with Recognizer("five_layer") as recognizer:
        for face in recognizer.analyze("photo.jpg"):
            print(face.box, face.label, face.probabilities["happy"])

`Recognizer.detect` finds faces, `Recognizer.classify` labels face crops, `Recognizer.analyze`
does both on one image. Models are the shipped names, names on $FER_MODEL_DIR or artifact folders,
as for the commands. Errors are `FerError` subclasses with a one-line message.
"""

from __future__ import annotations

from engines.errors import FerError
from engines.labels import EMOTIONS
from fer_live.recognizer import Emotion, Face, FaceEmotion, Recognizer

__all__ = ["EMOTIONS", "Emotion", "Face", "FaceEmotion", "FerError", "Recognizer"]
