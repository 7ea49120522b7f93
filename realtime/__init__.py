"""Live and recorded-video runtime: sources, detection, cropping, tracking, overlay, sinks."""

from __future__ import annotations
