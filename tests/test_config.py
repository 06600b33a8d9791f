from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

import pytest

from hermetic.config import Config, ConfigAttribute

# Uppercase globals of this module, loaded by from_object("tests...")-style tests.
SECRET_KEY = "config"
TEST_KEY = "foo"
lower_key = "ignored"


def assert_common(config: dict) -> None:
    assert config["SECRET_KEY"] == "config"
    assert config["TEST_KEY"] == "foo"
    assert "lower_key" not in config
    assert "LOWER_KEY" not in config


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(tmp_path)


def test_defaults_and_repr(tmp_path):
    c = Config(tmp_path, {"A": 1})
    assert c["A"] == 1
    assert c.root_path == tmp_path
    assert repr(c) == "<Config {'A': 1}>"

    class Sub(Config):
        pass

    assert repr(Sub(tmp_path)) == "<Sub {}>"


def test_from_pyfile_relative_to_root(config, tmp_path):
    (tmp_path / "settings.py").write_text(
        "SECRET_KEY = 'config'\nTEST_KEY = 'f' + 'oo'\nlower_key = 1\nFILE = __file__\n"
    )
    assert config.from_pyfile("settings.py") is True
    assert_common(config)
    assert config["FILE"] == os.path.join(tmp_path, "settings.py")


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_from_pyfile_coding_cookie(config, tmp_path, encoding):
    f = tmp_path / "enc.py"
    f.write_text(f'# -*- coding: {encoding} -*-\nVALUE = "föö"\n', encoding)
    config.from_pyfile(f)
    assert config["VALUE"] == "föö"


def test_from_pyfile_missing(config):
    with pytest.raises(OSError) as e:
        config.from_pyfile("missing.cfg")

    msg = str(e.value)
    assert msg.startswith(
        "[Errno 2] Unable to load configuration file (No such file or directory):"
    )
    assert msg.endswith("missing.cfg'")
    assert config.from_pyfile("missing.cfg", silent=True) is False


def test_from_pyfile_silent_directory_and_notdir(config, tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("")
    assert config.from_pyfile("dir", silent=True) is False
    assert config.from_pyfile("file/inner.py", silent=True) is False

    with pytest.raises(OSError, match="Unable to load configuration file"):
        config.from_pyfile("dir")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs permission checks")
def test_from_pyfile_silent_does_not_hide_permission_error(config, tmp_path):
    f = tmp_path / "secret.py"
    f.write_text("A = 1\n")
    f.chmod(0)

    with pytest.raises(PermissionError, match="Unable to load configuration file"):
        config.from_pyfile("secret.py", silent=True)


def test_from_pyfile_error_in_file_propagates(config, tmp_path):
    (tmp_path / "bad.py").write_text("A = 1 / 0\n")

    with pytest.raises(ZeroDivisionError):
        config.from_pyfile("bad.py", silent=True)


def test_from_envvar(config, tmp_path, monkeypatch):
    monkeypatch.delenv("HERMETIC_TEST_SETTINGS", raising=False)

    with pytest.raises(RuntimeError) as e:
        config.from_envvar("HERMETIC_TEST_SETTINGS")

    assert "'HERMETIC_TEST_SETTINGS' is not set" in str(e.value)
    assert "make it point to a configuration file" in str(e.value)
    assert config.from_envvar("HERMETIC_TEST_SETTINGS", silent=True) is False

    (tmp_path / "s.py").write_text("SECRET_KEY = 'config'\nTEST_KEY = 'foo'\n")
    monkeypatch.setenv("HERMETIC_TEST_SETTINGS", "s.py")
    assert config.from_envvar("HERMETIC_TEST_SETTINGS") is True
    assert_common(config)


def test_from_envvar_missing_file(config, monkeypatch):
    monkeypatch.setenv("HERMETIC_TEST_SETTINGS", "missing.cfg")

    with pytest.raises(OSError, match=r"^\[Errno 2\] Unable to load configuration file"):
        config.from_envvar("HERMETIC_TEST_SETTINGS")

    assert config.from_envvar("HERMETIC_TEST_SETTINGS", silent=True) is False


def test_from_object_module_class_and_string(config):
    class Base:
        TEST_KEY = "foo"

    class Settings(Base):
        SECRET_KEY = "config"
        lower_key = "ignored"

    config.from_object(Settings)
    assert_common(config)

    other = Config("")
    other.from_object(sys.modules[__name__])
    assert_common(other)

    by_name = Config("")
    by_name.from_object("json.decoder")
    assert "JSONDecodeError" not in by_name  # not all uppercase
    by_name.from_object("os")
    assert by_name["O_RDONLY"] == os.O_RDONLY


def test_from_object_bad_import_string(config):
    from werkzeug.utils import ImportStringError

    with pytest.raises(ImportStringError):
        config.from_object("no_such_module_for_hermetic.Settings")


def test_from_file_json_and_binary(config, tmp_path):
    (tmp_path / "c.json").write_text(
        json.dumps({"SECRET_KEY": "config", "TEST_KEY": "foo", "lower_key": 1})
    )
    assert config.from_file("c.json", json.load) is True
    assert_common(config)

    seen = []

    def load(f):
        seen.append(f.read())
        return {"RAW": True}

    config.from_file("c.json", load, text=False)
    assert isinstance(seen[0], bytes)
    assert config["RAW"] is True


def test_from_file_missing(config):
    with pytest.raises(OSError) as e:
        config.from_file("missing.json", load=json.load)

    assert str(e.value).startswith(
        "[Errno 2] Unable to load configuration file (No such file or directory):"
    )
    assert str(e.value).endswith("missing.json'")
    assert config.from_file("missing.json", load=json.load, silent=True) is False


def test_from_mapping(config):
    assert config.from_mapping({"SECRET_KEY": "config"}, TEST_KEY="foo", lower_key=1)
    assert_common(config)

    config.from_mapping([("PAIR", 1)])
    assert config["PAIR"] == 1

    config.from_mapping(None, KW=2)
    assert config["KW"] == 2

    with pytest.raises(TypeError):
        config.from_mapping({}, {})


def test_from_prefixed_env_types(config, monkeypatch):
    monkeypatch.setenv("FLASK_STRING", "value")
    monkeypatch.setenv("FLASK_BOOL", "true")
    monkeypatch.setenv("FLASK_INT", "1")
    monkeypatch.setenv("FLASK_FLOAT", "1.2")
    monkeypatch.setenv("FLASK_LIST", "[1, 2]")
    monkeypatch.setenv("FLASK_DICT", '{"k": "v"}')
    monkeypatch.setenv("NOT_FLASK_OTHER", "other")

    assert config.from_prefixed_env() is True
    assert config["STRING"] == "value"
    assert config["BOOL"] is True
    assert config["INT"] == 1
    assert config["FLOAT"] == 1.2
    assert config["LIST"] == [1, 2]
    assert config["DICT"] == {"k": "v"}
    assert "OTHER" not in config


def test_from_prefixed_env_custom_prefix_and_loads(config, monkeypatch):
    monkeypatch.setenv("FLASK_A", "a")
    monkeypatch.setenv("MYAPP_A", "b")
    monkeypatch.setenv("MYAPP_N", "3")

    config.from_prefixed_env("MYAPP", loads=str.upper)
    assert config["A"] == "B"
    assert config["N"] == "3"


@pytest.mark.skipif(os.name == "nt", reason="env keys are uppercase on Windows")
def test_from_prefixed_env_nested(config, monkeypatch):
    monkeypatch.setenv("FLASK_EXIST__ok", "other")
    monkeypatch.setenv("FLASK_EXIST__inner__ik", "2")
    monkeypatch.setenv("FLASK_EXIST__new__more", '{"k": false}')
    monkeypatch.setenv("FLASK_NEW__K", "v")
    config["EXIST"] = {"ok": "value", "flag": True, "inner": {"ik": 1}}

    config.from_prefixed_env()
    assert config["EXIST"] == {
        "ok": "other",
        "flag": True,
        "inner": {"ik": 2},
        "new": {"more": {"k": False}},
    }
    assert config["NEW"] == {"K": "v"}


def test_get_namespace(config):
    config.update(FOO_OPTION_1="1", FOO_OPTION_2="2", BAR_STUFF="b")
    assert config.get_namespace("FOO_") == {"option_1": "1", "option_2": "2"}
    assert config.get_namespace("FOO_", lowercase=False) == {"OPTION_1": "1", "OPTION_2": "2"}
    assert config.get_namespace("BAR_", trim_namespace=False) == {"bar_stuff": "b"}
    assert config.get_namespace("BAR_", lowercase=False, trim_namespace=False) == {"BAR_STUFF": "b"}
    assert config.get_namespace("NONE_") == {}


def test_config_attribute():
    class Owner:
        value = ConfigAttribute("VALUE")
        lifetime = ConfigAttribute("LIFETIME", get_converter=lambda v: timedelta(seconds=v))

        def __init__(self):
            self.config = Config("", {"VALUE": 1, "LIFETIME": 42})

    assert isinstance(Owner.value, ConfigAttribute)
    assert Owner.value.__name__ == "VALUE"

    o = Owner()
    assert o.value == 1
    o.value = 2
    assert o.config["VALUE"] == 2
    assert o.lifetime == timedelta(seconds=42)
    o.lifetime = 7  # set stores the raw value; the converter applies on read
    assert o.config["LIFETIME"] == 7
    assert o.lifetime.seconds == 7

    del o.config["VALUE"]
    with pytest.raises(KeyError):
        o.value  # noqa: B018


# App-level behaviour; needs the core.


def test_app_config_attributes(app):
    assert isinstance(app.config, Config)
    app.config.from_object(__name__)
    assert app.secret_key == "config"
    app.config["PERMANENT_SESSION_LIFETIME"] = 42
    assert app.permanent_session_lifetime == timedelta(seconds=42)
    app.testing = True
    assert app.config["TESTING"] is True


def test_custom_config_class():
    from hermetic import Flask

    class MyConfig(Config):
        pass

    class MyFlask(Flask):
        config_class = MyConfig

    app = MyFlask(__name__)
    assert isinstance(app.config, MyConfig)
    assert app.config.root_path == app.root_path
