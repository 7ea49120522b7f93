"""Timing harness, statistics, reports and `fer-bench`."""

from __future__ import annotations
