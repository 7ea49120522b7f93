"""Dataset variants of the paper (§3): original, filtered, balanced, filtered-balanced, binary."""

from __future__ import annotations

from engines.errors import UnknownNameError
from train.datasets import Splits

VARIANTS = ("original",)


def make_variant(splits: Splits, variant: str, seed: int = 0) -> Splits:
    if variant == "original":
        return splits
    raise UnknownNameError("dataset variant", variant, VARIANTS)
