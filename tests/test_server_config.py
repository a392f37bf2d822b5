"""The server settings in .streamlit/config.toml are options this Streamlit knows (a misspelt or retired option
is ignored with only a log line), with the values the benchmarks measured."""

from __future__ import annotations

import tomllib
from pathlib import Path

from streamlit import config

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def test_every_setting_is_an_option_streamlit_knows():
    settings = tomllib.loads(CONFIG.read_text())
    names = [f"{section}.{name}" for section, options in settings.items() for name in options]
    known = config.get_config_options()
    unknown = [name for name in names if name not in known]
    assert names and not unknown


def test_no_source_watcher_and_no_full_collection_after_every_run():
    settings = tomllib.loads(CONFIG.read_text())
    assert settings["server"]["fileWatcherType"] == "none"
    assert settings["runner"]["postScriptGC"] is False
