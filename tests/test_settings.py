"""Settings: defaults in one place, ASSISTANT_* variables override, explicit arguments win."""

from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.generators import get_generator
from assistant.settings import Settings


def test_environment_overrides_defaults_and_arguments_win(monkeypatch):
    monkeypatch.setenv("ASSISTANT_K", "9")
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", "/tmp/elsewhere")
    monkeypatch.setenv("ASSISTANT_GENERATOR", "llamacpp")
    monkeypatch.setenv("ASSISTANT_AUTO_INDEX", "false")
    s = Settings.load()
    assert (s.k, s.index_dir, s.generator, s.auto_index) == (9, Path("/tmp/elsewhere"), "llamacpp", False)
    assert Settings.load(k=3).k == 3


def test_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("ASSISTANT_K", "many")
    with pytest.raises(ConfigError, match="ASSISTANT_K"):
        Settings.load()


@pytest.mark.parametrize("kwargs,needle", [({"chunk_overlap": 500}, "chunk_overlap"),
                                            ({"k": 0}, "k=0"), ({"nonsense": 1}, "Unknown setting")])
def test_invalid_settings_are_rejected(kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        Settings.load(**kwargs)


def test_unknown_generator_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="extractive"):
        get_generator("gpt-17", Settings.load(), embedder=None)
