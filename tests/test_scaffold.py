"""Scaffold: root and instance paths, resources, static files, registration."""

from __future__ import annotations

import importlib
import os
import sys
import types

import pytest
from jinja2 import FileSystemLoader

import hermetic
from hermetic.helpers import get_root_path
from hermetic.scaffold import find_package


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """A folder on ``sys.path``; modules imported from ``tmp_path`` are forgotten afterwards."""
    path = tmp_path / "modules"
    path.mkdir()
    monkeypatch.syspath_prepend(os.fspath(path))
    yield path
    # Only the test's own modules: forgetting a library module imported for
    # the first time during the test would make a second copy of it later.
    for name, module in list(sys.modules.items()):
        locations = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", [])]
        if any(str(loc).startswith(os.fspath(tmp_path)) for loc in locations):
            del sys.modules[name]
    importlib.invalidate_caches()


def _app_module(folder, name):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("import hermetic\napp = hermetic.Flask(__name__)\n")


# -- instance paths --------------------------------------------------------


def test_module_on_sys_path_uses_instance_next_to_it(modules):
    _app_module(modules, "plain_module_app.py")
    from plain_module_app import app

    assert app.instance_path == os.fspath(modules / "instance")
    assert app.root_path == os.fspath(modules)
    assert find_package("plain_module_app") == (None, os.fspath(modules))


def test_package_on_sys_path_uses_instance_next_to_the_package(modules):
    _app_module(modules / "plain_package_app", "__init__.py")
    _app_module(modules / "plain_package_app", "sub.py")
    import plain_package_app
    import plain_package_app.sub

    assert plain_package_app.app.instance_path == os.fspath(modules / "instance")
    assert plain_package_app.app.root_path == os.fspath(modules / "plain_package_app")
    # A submodule belongs to the same project as its top-level package.
    assert plain_package_app.sub.app.instance_path == os.fspath(modules / "instance")


def test_namespace_package_uses_the_project_that_holds_it(tmp_path, monkeypatch, modules):
    projects = []
    for package in ("ns_part1", "ns_part2"):
        project = tmp_path / f"project-{package}"
        monkeypatch.syspath_prepend(os.fspath(project))
        _app_module(project / "hermetic_test_ns" / package, "__init__.py")
        projects.append(project)
    importlib.invalidate_caches()

    from hermetic_test_ns.ns_part2 import app

    assert app.instance_path == os.fspath(projects[1] / "instance")


@pytest.fixture
def fake_prefix(tmp_path, monkeypatch):
    """A ``sys.prefix`` in ``tmp_path`` with a site-packages on ``sys.path``."""
    prefix = tmp_path / "prefix"
    site_packages = prefix / "lib" / "python3.x" / "site-packages"
    site_packages.mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", os.fspath(prefix))
    return prefix, site_packages


def test_installed_module_uses_prefix_var_instance(fake_prefix, modules, monkeypatch):
    prefix, site_packages = fake_prefix
    monkeypatch.syspath_prepend(os.fspath(site_packages))
    _app_module(site_packages, "site_module_app.py")
    from site_module_app import app

    assert app.instance_path == os.fspath(prefix / "var" / "site_module_app-instance")
    assert find_package("site_module_app") == (os.fspath(prefix), os.fspath(site_packages))


def test_installed_package_uses_prefix_var_instance(fake_prefix, modules, monkeypatch):
    prefix, site_packages = fake_prefix
    monkeypatch.syspath_prepend(os.fspath(site_packages))
    _app_module(site_packages / "site_package_app", "__init__.py")
    import site_package_app

    assert site_package_app.app.instance_path == os.fspath(
        prefix / "var" / "site_package_app-instance"
    )


def test_package_anywhere_under_the_prefix_is_installed(fake_prefix, modules, monkeypatch):
    prefix, _ = fake_prefix
    other = prefix / "path"
    monkeypatch.syspath_prepend(os.fspath(other))
    _app_module(other / "prefixed_package_app", "__init__.py")
    import prefixed_package_app

    assert prefixed_package_app.app.instance_path == os.fspath(
        prefix / "var" / "prefixed_package_app-instance"
    )


def test_site_packages_outside_the_prefix_uses_its_own_prefix(tmp_path, modules, monkeypatch):
    # For example a --user install: <base>/lib/pythonX.Y/site-packages.
    base = tmp_path / "userbase"
    site_packages = base / "lib" / "python3.x" / "site-packages"
    _app_module(site_packages, "user_site_app.py")
    monkeypatch.syspath_prepend(os.fspath(site_packages))
    importlib.invalidate_caches()

    assert find_package("user_site_app") == (os.fspath(base), os.fspath(site_packages))
    from user_site_app import app

    assert app.instance_path == os.fspath(base / "var" / "user_site_app-instance")


def test_unimportable_name_uses_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = hermetic.Flask("hermetic_no_such_module_anywhere")

    assert app.root_path == os.fspath(tmp_path)
    assert app.instance_path == os.fspath(tmp_path / "instance")


def test_explicit_instance_path_must_be_absolute(tmp_path):
    with pytest.raises(ValueError, match="must be absolute"):
        hermetic.Flask("app", instance_path="instance")

    app = hermetic.Flask("app", instance_path=os.fspath(tmp_path))
    assert app.instance_path == os.fspath(tmp_path)


def test_instance_relative_config(tmp_path):
    (tmp_path / "settings.py").write_text("ANSWER = 42\n")
    app = hermetic.Flask("app", instance_path=os.fspath(tmp_path), instance_relative_config=True)
    app.config.from_pyfile("settings.py")
    assert app.config["ANSWER"] == 42


# -- get_root_path -------------------------------------------------------


def test_get_root_path_of_a_module():
    assert get_root_path(__name__) == os.path.dirname(os.path.abspath(__file__))
    assert get_root_path("hermetic") == os.path.dirname(hermetic.__file__)


def test_get_root_path_of_a_main_like_module_is_cwd(tmp_path, monkeypatch):
    # Like __main__ in an interactive session: in sys.modules, no file, no spec.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "hermetic_fake_main", types.ModuleType("hermetic_fake_main"))

    assert get_root_path("hermetic_fake_main") == os.fspath(tmp_path)
    assert get_root_path("hermetic_missing_module") == os.fspath(tmp_path)


def test_get_root_path_of_an_unloaded_module(modules):
    _app_module(modules, "unloaded_module_app.py")
    assert get_root_path("unloaded_module_app") == os.fspath(modules)
    # Finding the path does not import the module.
    assert "unloaded_module_app" not in sys.modules


def test_get_root_path_of_a_namespace_package_is_an_error(modules):
    (modules / "hermetic_test_bare_ns").mkdir()
    importlib.import_module("hermetic_test_bare_ns")

    with pytest.raises(RuntimeError, match="No root path can be found"):
        get_root_path("hermetic_test_bare_ns")


# -- resources ---------------------------------------------------------------


@pytest.fixture
def resource_app(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "data.txt").write_text("héllo", encoding="utf-8")
    (tmp_path / "instance").mkdir()
    return hermetic.Flask(
        "resources",
        root_path=os.fspath(tmp_path / "root"),
        instance_path=os.fspath(tmp_path / "instance"),
    )


@pytest.mark.parametrize(
    ("mode", "expected"), [("rb", "héllo".encode()), ("r", "héllo"), ("rt", "héllo")]
)
def test_open_resource_read_modes(resource_app, mode, expected):
    with resource_app.open_resource("data.txt", mode, encoding="utf-8") as f:
        assert f.read() == expected


def test_open_resource_default_is_binary(resource_app):
    with resource_app.open_resource("data.txt") as f:
        assert f.read() == "héllo".encode()


def test_open_resource_with_encoding(resource_app, tmp_path):
    (tmp_path / "root" / "utf16.txt").write_text("text", encoding="utf-16-le")
    with resource_app.open_resource("utf16.txt", "rt", encoding="utf-16-le") as f:
        assert f.read() == "text"


@pytest.mark.parametrize("mode", ["w", "wb", "x", "a", "r+", "rb+"])
def test_open_resource_write_modes_are_rejected(resource_app, tmp_path, mode):
    with pytest.raises(ValueError, match="only be opened for reading"):
        resource_app.open_resource("data.txt", mode)
    assert (tmp_path / "root" / "data.txt").read_text(encoding="utf-8") == "héllo"


def test_open_resource_missing_file(resource_app):
    with pytest.raises(FileNotFoundError):
        resource_app.open_resource("missing.txt")


def test_open_instance_resource_can_write_and_read(resource_app, tmp_path):
    with resource_app.open_instance_resource("state.txt", "w", encoding="utf-8") as f:
        f.write("sävëd")
    assert (tmp_path / "instance" / "state.txt").read_text(encoding="utf-8") == "sävëd"

    with resource_app.open_instance_resource("state.txt") as f:
        assert f.read() == "sävëd".encode()
    with resource_app.open_instance_resource("state.txt", "r", encoding="utf-8") as f:
        assert f.read() == "sävëd"
    with resource_app.open_instance_resource("state.txt", "ab") as f:
        f.write(b"!")
    assert (tmp_path / "instance" / "state.txt").read_bytes() == "sävëd!".encode()


# -- static folder and templates -----------------------------------------


def test_default_static_folder_and_url(tmp_path):
    app = hermetic.Flask("app", root_path=os.fspath(tmp_path))
    assert app.static_folder == os.fspath(tmp_path / "static")
    assert app.static_url_path == "/static"
    assert app.has_static_folder


def test_static_url_path_follows_folder_name_and_strips_slashes(tmp_path):
    app = hermetic.Flask("app", root_path=os.fspath(tmp_path), static_folder="assets/")
    assert app.static_folder == os.fspath(tmp_path / "assets")
    assert app.static_url_path == "/assets"

    app.static_url_path = "/files/"
    assert app.static_url_path == "/files"


def test_no_static_folder(tmp_path):
    app = hermetic.Flask("app", root_path=os.fspath(tmp_path), static_folder=None)
    assert app.static_folder is None
    assert app.static_url_path is None
    assert not app.has_static_folder
    assert "static" not in app.view_functions


def test_static_files_are_served_with_max_age(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.js").write_text("1;")
    app = hermetic.Flask("app", root_path=os.fspath(tmp_path))
    client = app.test_client()

    rv = client.get("/static/app.js")
    assert rv.data == b"1;"
    assert rv.cache_control.max_age is None
    rv.close()

    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    rv = client.get("/static/app.js")
    assert rv.cache_control.max_age == 3600
    rv.close()
    assert client.get("/static/nope.js").status_code == 404


def test_jinja_loader(tmp_path):
    app = hermetic.Flask("app", root_path=os.fspath(tmp_path))
    assert isinstance(app.jinja_loader, FileSystemLoader)
    assert app.jinja_loader.searchpath == [os.fspath(tmp_path / "templates")]

    bp = hermetic.Blueprint("bp", "bp", root_path=os.fspath(tmp_path))
    assert bp.jinja_loader is None


# -- registration ------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "patch"])
def test_method_shortcuts(app, client, method):
    getattr(app, method)("/")(lambda: method)
    rv = client.open("/", method=method.upper())
    assert rv.data == method.encode()
    other = "POST" if method == "get" else "GET"
    assert client.open("/", method=other).status_code == 405


def test_method_shortcuts_reject_methods_argument(app):
    with pytest.raises(TypeError, match="Use the 'route' decorator"):
        app.get("/", methods=["POST"])


def test_endpoint_decorator(app, client):
    app.add_url_rule("/", "home")

    @app.endpoint("home")
    def home():
        return "home"

    assert client.get("/").data == b"home"


def test_error_handler_registration_errors(app):
    with pytest.raises(ValueError, match="'999' is not a recognized HTTP error code"):
        app.register_error_handler(999, lambda e: "")
    with pytest.raises(TypeError, match="is an instance, not a class"):
        app.register_error_handler(KeyError(), lambda e: "")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'str' is not a subclass of Exception"):
        app.register_error_handler(str, lambda e: "")  # type: ignore[arg-type]


def test_route_without_view_or_endpoint_is_an_error(app):
    with pytest.raises(AssertionError, match="expected view func"):
        app.add_url_rule("/")


def test_modules_fixture_forgot_the_test_modules():
    # The instance path tests above import modules from temporary folders.
    names = {
        "plain_module_app",
        "plain_package_app",
        "site_module_app",
        "site_package_app",
        "prefixed_package_app",
        "user_site_app",
        "unloaded_module_app",
    }
    leftovers = [
        name for name in sys.modules if name.split(".")[0] in names or "hermetic_test_" in name
    ]
    assert leftovers == []
