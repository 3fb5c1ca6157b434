"""The settings table in deploy/README.md is the one the Settings model generates."""

from __future__ import annotations

from activities.settings import Settings
from deploy.settings_table import README, meaning, render_readme, settings_table


def test_the_readme_settings_table_is_up_to_date():
    text = README.read_text(encoding="utf-8")
    assert render_readme(text) == text, "run: .venv/bin/python -m deploy.settings_table --write"


def test_every_setting_has_a_row_with_its_environment_variable_and_a_meaning():
    table = settings_table()
    for name, field in Settings.model_fields.items():
        assert f"`DUBAN_{name.upper()}`" in table
        assert meaning(name, field), f"{name} has no meaning in the table"
