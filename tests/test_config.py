from pathlib import Path

import pytest

from os1.config import load_settings
from os1.errors import ConfigError


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path), **extra}


def test_defaults(tmp_path):
    s = load_settings(env=env(tmp_path))
    assert s.home == tmp_path / ".local/share/os1"
    assert s.cache_dir == tmp_path / ".cache/os1"
    assert s.llm.model == "qwen2.5-1.5b" and not s.llm.is_remote
    assert s.persona.name == "Mira"
    assert s.user == "local"


def test_precedence_file_env_flags(tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    (home / "config.toml").write_text(
        '[llm]\nmodel = "qwen2.5-0.5b"\ntemperature = 1\n[persona]\nname = "Ada"\n'
    )
    s = load_settings(env=env(tmp_path, OS1_HOME=str(home)))
    assert (s.llm.model, s.llm.temperature, s.persona.name) == ("qwen2.5-0.5b", 1.0, "Ada")
    s = load_settings(env=env(tmp_path, OS1_HOME=str(home), OS1_NAME="Eve",
                              OS1_LLM="http://127.0.0.1:9/v1"))
    assert s.persona.name == "Eve" and s.llm.is_remote
    s = load_settings({"name": "Zoe", "llm": "qwen2.5-1.5b"},
                      env=env(tmp_path, OS1_HOME=str(home), OS1_NAME="Eve"))
    assert (s.persona.name, s.llm.model) == ("Zoe", "qwen2.5-1.5b")


def test_settings_are_frozen(tmp_path):
    s = load_settings(env=env(tmp_path))
    with pytest.raises(AttributeError):
        s.user = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("[llm\nmodel=", "is not valid TOML"),
        ('[llm]\nmodle = "x"', "unknown setting llm.modle"),
        ('[llm]\ncontext_length = "big"', "llm.context_length must be a int"),
        ('[llm]\nmodel = "gpt-9"', "unknown model 'gpt-9'"),
        ('llm = 3', "[llm] must be a table"),
        ('[voice]\nspeed = 5', "voice.speed must be between 0.5 and 2"),
    ],
)
def test_bad_config_names_file_and_problem(tmp_path, content, fragment):
    home = tmp_path / "h"
    home.mkdir()
    path = home / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_settings(env=env(tmp_path, OS1_HOME=str(home)))
    assert str(path) in str(err.value)
    assert fragment in str(err.value)


def test_missing_explicit_config(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"config": str(tmp_path / "nope.toml")}, env=env(tmp_path))


def test_the_country_for_crisis_lines_comes_from_file_or_environment(tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    (home / "config.toml").write_text('country = "gb"\n')
    assert load_settings(env=env(tmp_path, OS1_HOME=str(home))).country == "GB"
    assert load_settings(env=env(tmp_path, OS1_HOME=str(home), OS1_COUNTRY="us")).country == "US"
    assert load_settings(env=env(tmp_path)).country is None
    with pytest.raises(ConfigError, match="two-letter"):
        load_settings(env=env(tmp_path, OS1_COUNTRY="Britain"))
