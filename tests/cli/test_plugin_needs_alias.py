"""A ``flask.commands`` plugin that imports ``flask`` (Flask-Limiter's) without the alias."""

from __future__ import annotations

import importlib.metadata

import click
import pytest
from click.testing import CliRunner

from hermetic.cli import FlaskGroup


class _EntryPoint:
    def __init__(self, name: str, error: ModuleNotFoundError | None) -> None:
        self.name = name
        self._error = error

    def load(self) -> click.Command:
        if self._error is not None:
            raise self._error
        return click.Command(self.name, callback=lambda: click.echo("plugin ran"))


def _entry_points(found: dict[str, list[_EntryPoint]]):
    return lambda group: found.get(group, [])


def test_a_plugin_that_needs_flask_is_skipped_without_the_alias(monkeypatch):
    needs_flask = ModuleNotFoundError("No module named 'flask'", name="flask")
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        _entry_points(
            {"flask.commands": [_EntryPoint("limiter", needs_flask), _EntryPoint("ok", None)]}
        ),
    )
    result = CliRunner().invoke(FlaskGroup(), ["ok"])
    assert result.exit_code == 0, result.output
    assert "plugin ran" in result.output


def test_any_other_missing_module_still_fails_loudly(monkeypatch):
    missing = ModuleNotFoundError("No module named 'somelib'", name="somelib")
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        _entry_points({"flask.commands": [_EntryPoint("broken", missing)]}),
    )
    result = CliRunner().invoke(FlaskGroup(), ["broken"])
    assert isinstance(result.exception, ModuleNotFoundError)
    with pytest.raises(ModuleNotFoundError):
        raise result.exception
