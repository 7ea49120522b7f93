"""Inference engines: labels, model specs, the model store, preprocessing, backends, converters.

Only numpy is imported at import time; frameworks are imported inside the module that needs them.
"""

from __future__ import annotations

from fer_live.engines.errors import FerError
from fer_live.engines.labels import EMOTIONS

__all__ = ["EMOTIONS", "FerError"]
__version__ = "0.1.0"
