"""hermetic.settings: declarations, checks, the registry, unknown keys, the reference."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import typing as t
from datetime import timedelta
from pathlib import Path

import pytest

import hermetic
from hermetic.settings import (
    MODULES,
    UNSET,
    Settings,
    SettingsError,
    declared_keys,
    load_all,
    reference,
    setting,
    unknown_keys,
)
from hermetic.settings.__main__ import main as reference_main
from hermetic.settings.core import CoreSettings

ROOT = Path(__file__).resolve().parents[2]
UserId = t.NewType("UserId", int)


def _positive(value: int) -> int:
    if value <= 0:
        raise ValueError("it must be positive.")
    return value


def _strict(value: str) -> str:
    if value == "bad":
        raise SettingsError("DEMO_PARSED is bad. Fix: anything else.", key="DEMO_PARSED")
    return value.upper()


# No ``feature=``: a test class stays out of the registry (and the reference).
@dataclasses.dataclass(frozen=True)
class DemoSettings(Settings):
    flag: bool = setting("DEMO_FLAG", default=False, doc="A flag.")
    count: int = setting("DEMO_COUNT", default=3, parse=_positive, doc="A count.")
    ratio: float = setting("DEMO_RATIO", default=0.5, doc="A ratio.")
    name: str | None = setting("DEMO_NAME", default=None, doc="A name.")
    names: tuple[str, ...] = setting("DEMO_NAMES", default=("a",), doc="Names.")
    table: dict[str, int] = setting("DEMO_TABLE", default={"a": 1}, doc="A table.")
    mode: str = setting("DEMO_MODE", default="on", choices=("on", "off"), doc="A mode.")
    ttl: timedelta = setting("DEMO_TTL", default=timedelta(seconds=1), doc="A duration.")
    token: str | None = setting("DEMO_TOKEN", default=None, secret=True, doc="A token.")
    parsed: str = setting("DEMO_PARSED", default="x", parse=_strict, doc="Parsed.")
    anything: t.Any = setting("DEMO_ANY", default=None, doc="Anything.")
    pattern: re.Pattern[str] | None = setting("DEMO_PATTERN", default=None, doc="A regex.")

    def check(self) -> None:
        if self.flag and self.name is None:
            raise SettingsError("DEMO_FLAG needs DEMO_NAME. Fix: set DEMO_NAME.", key="DEMO_FLAG")


def test_defaults_when_the_config_is_empty():
    settings = DemoSettings.from_config({})
    assert settings == DemoSettings.defaults()
    assert (settings.flag, settings.count, settings.names, settings.table) == (
        False,
        3,
        ("a",),
        {"a": 1},
    )
    assert settings.parsed == "X"  # the default is parsed like a configured value
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.flag = True  # type: ignore[misc]


def test_each_default_is_a_fresh_copy():
    first = DemoSettings.defaults()
    first.table["b"] = 2
    assert DemoSettings.defaults().table == {"a": 1}


GOOD = [
    ("DEMO_COUNT", 7, "count", 7),
    ("DEMO_RATIO", 2, "ratio", 2),
    ("DEMO_NAME", "n", "name", "n"),
    ("DEMO_NAMES", ["x", "y"], "names", ("x", "y")),  # a list becomes a tuple
    ("DEMO_TABLE", {"b": 2}, "table", {"b": 2}),
    ("DEMO_MODE", "off", "mode", "off"),
    ("DEMO_TTL", timedelta(hours=1), "ttl", timedelta(hours=1)),
    ("DEMO_ANY", object, "anything", object),
    ("DEMO_PATTERN", re.compile("a"), "pattern", re.compile("a")),
]


@pytest.mark.parametrize(("key", "value", "attr", "expected"), GOOD)
def test_good_values(key, value, attr, expected):
    assert getattr(DemoSettings.from_config({key: value}), attr) == expected


BAD = [
    ("DEMO_FLAG", 1, "True or False, got int 1"),  # no truthiness
    ("DEMO_FLAG", "false", "True or False, got str 'false'"),
    ("DEMO_COUNT", True, "an integer, got bool True"),  # bool is not an int
    ("DEMO_COUNT", "3", "an integer, got str '3'"),
    ("DEMO_COUNT", 0, "DEMO_COUNT is not valid: it must be positive."),
    ("DEMO_RATIO", "0.5", "a number"),
    ("DEMO_NAME", 5, "a string or None, got int 5"),
    ("DEMO_NAMES", "x", "a list of strings, got str 'x'"),  # a string is not a list
    ("DEMO_NAMES", ["x", 1], "a list of strings"),
    ("DEMO_TABLE", {"a": "1"}, "a dict of str to int"),
    ("DEMO_TABLE", [("a", 1)], "a dict of str to int"),
    ("DEMO_MODE", "maybe", "one of 'on', 'off', got str 'maybe'"),
    ("DEMO_TTL", 3600, "a timedelta, got int 3600"),
    ("DEMO_PARSED", "bad", "DEMO_PARSED is bad. Fix: anything else."),
    ("DEMO_PATTERN", "a", "a Pattern or None"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD)
def test_a_bad_value_names_the_key_what_it_got_and_the_fix(key, value, message):
    with pytest.raises(SettingsError) as info:
        DemoSettings.from_config({key: value})
    assert info.value.key == key
    text = str(info.value)
    assert text.startswith(key)
    assert message in text
    assert "Fix:" in text


def test_a_secret_value_never_appears_in_the_message():
    with pytest.raises(SettingsError) as info:
        DemoSettings.from_config({"DEMO_TOKEN": b"s3cr3t-value"})
    assert "s3cr3t" not in str(info.value)
    assert "bytes (value hidden)" in str(info.value)


def test_check_spans_keys():
    with pytest.raises(SettingsError, match="DEMO_FLAG needs DEMO_NAME"):
        DemoSettings.from_config({"DEMO_FLAG": True})
    assert DemoSettings.from_config({"DEMO_FLAG": True, "DEMO_NAME": "n"}).flag


def test_a_settings_class_without_feature_is_not_registered():
    assert DemoSettings not in load_all().values()
    assert DemoSettings.keys()[:2] == ["DEMO_FLAG", "DEMO_COUNT"]


def test_a_feature_is_declared_once():
    with pytest.raises(TypeError, match="already declared"):

        @dataclasses.dataclass(frozen=True)
        class Again(Settings, feature="core"):
            pass


def test_an_uncheckable_annotation_asks_for_parse():
    @dataclasses.dataclass(frozen=True)
    class Odd(Settings):
        value: UserId | None = setting("ODD", default=None, doc="Odd.")

    with pytest.raises(TypeError, match="parse="):
        Odd.from_config({"ODD": 5})


# -- the registry ---------------------------------------------------------------


def _hermetic_modules():
    for info in pkgutil.walk_packages(hermetic.__path__, "hermetic."):
        if info.name.startswith("hermetic.compat") or info.name.endswith("__main__"):
            continue
        try:
            yield importlib.import_module(info.name)
        except ImportError:  # an extra that is not installed
            continue


def test_every_declaring_module_is_listed():
    declared = {
        (obj.__module__, obj.__qualname__)
        for module in _hermetic_modules()
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Settings) and obj.feature
    }
    registered = {(cls.__module__, cls.__qualname__) for cls in load_all().values()}
    assert declared == registered
    assert {module for module, _ in declared} == set(MODULES)


def test_each_key_is_declared_once():
    seen: dict[str, str] = {}
    for cls in load_all().values():
        for key in cls.keys():
            assert key not in seen, f"{key} is declared by {seen[key]} and {cls.feature}"
            seen[key] = cls.feature
    assert set(seen) == set(declared_keys())


def test_each_key_has_its_features_prefix_or_is_flasks():
    for cls in load_all().values():
        for key in cls.keys():
            assert cls.feature == "core" or key.startswith(cls.prefixes), key


@pytest.mark.parametrize("feature", sorted(load_all()))
def test_the_declared_defaults_are_valid_and_mean_the_same_as_no_key(feature):
    cls = load_all()[feature]
    for _, decl in cls.declarations():
        assert cls.from_config({decl.key: decl.default}) == cls.defaults(), decl.key
        if decl.secure_default is not UNSET:
            cls.from_config({decl.key: decl.secure_default})  # valid too
        assert decl.doc and decl.doc[0] in "`ABCDEFGHIJKLMNOPQRSTUVWXYZ", decl.key
        assert decl.doc.endswith("."), decl.key


def test_flask_core_keys_are_declared_with_flasks_defaults():
    keys = declared_keys()
    for key, value in hermetic.Flask.default_config.items():
        assert key in keys, f"{key} is in Flask's default_config but not declared"
        assert keys[key][1].default == value, key
    assert set(CoreSettings.keys()) == set(hermetic.Flask.default_config) - {"TRUSTED_HOSTS"}
    # The declaration checks every default config of a plain Flask app.
    CoreSettings.from_config(hermetic.Flask("x").config)


def test_hermetic_starts_from_the_declared_secure_defaults():
    from hermetic.security.profile import DECLARED, SECURE_DEFAULTS, Hermetic

    declared = declared_keys()
    for cls in DECLARED:
        for _, decl in cls.declarations():
            if decl.secure_default is not UNSET:
                assert Hermetic.default_config[decl.key] == decl.secure_default, decl.key
    # Keys of features not migrated yet stay in SECURE_DEFAULTS, and only those.
    assert not set(SECURE_DEFAULTS) & set(declared)
    assert Hermetic.default_config["SESSION_COOKIE_SECURE"] is True
    assert Hermetic.default_config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert Hermetic.default_config["TRUSTED_PROXY_HOPS"] == 0


# -- unknown keys ---------------------------------------------------------------


def test_unknown_keys_suggest_the_closest_declared_key():
    config = {
        "SECURITY_CPS": "x",
        "CORS_ORIGIN": ["https://a.example"],
        "TRUSTED_PROXY_HOP": 1,
        "SECURITY_CSP": None,  # declared
        "SECURITY_ZZZZZZZZZZ": 1,  # no close key
        "MY_APP_SETTING": 1,  # not a hermetic prefix
        "JWT_ALGORITHM": "RS256",  # JWT settings are not declared yet: not checked
        42: "not a string key",
    }
    found = {u.key: u.suggestion for u in unknown_keys(config)}
    assert found == {
        "SECURITY_CPS": "SECURITY_CSP",
        "CORS_ORIGIN": "CORS_ORIGINS",
        "TRUSTED_PROXY_HOP": "TRUSTED_PROXY_HOPS",
        "SECURITY_ZZZZZZZZZZ": None,
        "JWT_ALGORITHM": None,
    }
    messages = [u.message for u in unknown_keys(config)]
    assert "SECURITY_CPS is not a hermetic setting; did you mean SECURITY_CSP?" in messages
    assert "SECURITY_ZZZZZZZZZZ is not a hermetic setting (nothing reads it)." in messages


def test_a_plain_app_config_has_no_unknown_keys():
    from hermetic.security.profile import Hermetic

    assert unknown_keys(hermetic.Flask("x").config) == []
    assert unknown_keys(Hermetic.default_config) == []


# -- the reference page ---------------------------------------------------------


def test_the_committed_reference_is_current():
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == reference(), "docs/configuration.md is out of date: run scripts/config-reference"


def test_the_reference_lists_every_key_with_both_defaults():
    page = reference()
    for key in declared_keys():
        assert f"| `{key}` |" in page
    assert "| `SESSION_COOKIE_SECURE` | `bool` | `False` | `True` |" in page
    assert "(secret)" not in page  # no secret has a default value to hide


def test_the_reference_command(tmp_path, capsys):
    path = tmp_path / "configuration.md"
    assert reference_main(["--check", str(path)]) == 1  # missing
    assert reference_main([str(path)]) == 0
    assert path.read_text(encoding="utf-8") == reference()
    assert reference_main(["--check", str(path)]) == 0
    path.write_text("stale", encoding="utf-8")
    assert reference_main(["--check", str(path)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert reference_main([]) == 0
    assert capsys.readouterr().out == reference()
    assert reference_main(["--check"]) == 2


def test_a_default_is_checked_like_a_configured_value():
    @dataclasses.dataclass(frozen=True)
    class Listed(Settings):
        names: tuple[str, ...] = setting("LISTED_NAMES", default=["a"], doc="Names.")
        broken: int = setting("LISTED_BROKEN", default="3", doc="A wrong default.")

    assert Listed.from_config({"LISTED_BROKEN": 3}).names == ("a",)  # a tuple, as configured
    with pytest.raises(SettingsError, match="LISTED_BROKEN must be an integer"):
        Listed.defaults()
