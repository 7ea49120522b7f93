"""Training backend and precision follow the CPU's instruction set; explicit settings win."""

import pytest

from fer_live.engines.errors import UnknownNameError
from fer_live.train import backend_choice


@pytest.fixture
def flags(monkeypatch):
    def set_flags(*names):
        monkeypatch.setattr(backend_choice, "cpu_flags", lambda: frozenset(names))

    return set_flags


def test_auto_precision_is_bfloat16_only_with_native_support(flags):
    flags("avx2", "avx512f", "avx512_bf16")
    assert backend_choice.resolve_precision("auto") == "mixed_bfloat16"
    flags("avx2", "amx_bf16")
    assert backend_choice.resolve_precision("auto") == "mixed_bfloat16"
    flags("avx2", "fma")
    assert backend_choice.resolve_precision("auto") == "float32"
    assert backend_choice.resolve_precision("mixed_bfloat16") == "mixed_bfloat16"


def test_unknown_precision_suggests_closest():
    with pytest.raises(UnknownNameError) as error:
        backend_choice.resolve_precision("float23")
    assert error.value.suggestion == "float32"


def test_backend_tensorflow_on_avx512_and_explicit_setting_wins(flags, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    flags("avx2", "avx512f")
    assert backend_choice.choose_training_backend() == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert backend_choice.choose_training_backend() == "jax"


def test_cpu_flags_reads_this_machine():
    backend_choice.cpu_flags.cache_clear()
    assert isinstance(backend_choice.cpu_flags(), frozenset)
