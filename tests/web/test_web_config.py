"""Config: loaders, namespaces, defaults, ConfigAttribute."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from corral.web.config import DEFAULT_CONFIG, Config, ConfigAttribute, import_string

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None


class Settings:
    SECRET_KEY = "from-object"
    DEBUG = True
    lowercase = "ignored"


def test_flask_defaults_present() -> None:
    import flask

    assert set(flask.Flask.default_config) <= set(DEFAULT_CONFIG)
    for key, value in flask.Flask.default_config.items():
        assert DEFAULT_CONFIG[key] == value, key
    assert DEFAULT_CONFIG["PERMANENT_SESSION_LIFETIME"] == timedelta(days=31)
    assert DEFAULT_CONFIG["MAX_FORM_MEMORY_SIZE"] == 500_000


def test_from_mapping_takes_uppercase_only() -> None:
    c = Config()
    c.from_mapping({"A": 1, "b": 2}, C=3, d=4)
    assert c == {"A": 1, "C": 3}


def test_from_object_instance_class_and_string() -> None:
    c = Config()
    c.from_object(Settings)
    assert c["SECRET_KEY"] == "from-object" and "lowercase" not in c
    c2 = Config()
    c2.from_object("tests.web.test_web_config.Settings")
    assert c2 == c
    c3 = Config()
    c3.from_object("tests.web.test_web_config:Settings")
    assert c3 == c


def test_from_pyfile(tmp_path: Path) -> None:
    (tmp_path / "cfg.py").write_text("TEST_KEY = 'foo'\nSECRET_KEY = 'config'\nlower = 1\n")
    c = Config(tmp_path)
    assert c.from_pyfile("cfg.py") is True
    assert c == {"TEST_KEY": "foo", "SECRET_KEY": "config"}


def test_from_pyfile_missing(tmp_path: Path) -> None:
    c = Config(tmp_path)
    assert c.from_pyfile("missing.py", silent=True) is False
    with pytest.raises(OSError, match="Unable to load configuration file"):
        c.from_pyfile("missing.py")


def test_from_envvar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = Config(tmp_path)
    monkeypatch.delenv("CORRAL_TEST_SETTINGS", raising=False)
    with pytest.raises(RuntimeError, match="CORRAL_TEST_SETTINGS"):
        c.from_envvar("CORRAL_TEST_SETTINGS")
    assert c.from_envvar("CORRAL_TEST_SETTINGS", silent=True) is False
    (tmp_path / "s.py").write_text("X = 1\n")
    monkeypatch.setenv("CORRAL_TEST_SETTINGS", str(tmp_path / "s.py"))
    assert c.from_envvar("CORRAL_TEST_SETTINGS")
    assert c["X"] == 1


def test_from_file_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"A": 1, "b": 2}))
    c = Config(tmp_path)
    assert c.from_file("c.json", load=json.load)
    assert c == {"A": 1}
    assert c.from_file("nope.json", load=json.load, silent=True) is False
    with pytest.raises(OSError):
        c.from_file("nope.json", load=json.load)
    if tomllib is not None:
        (tmp_path / "c.toml").write_text('B = "x"\n')
        assert c.from_file("c.toml", load=tomllib.load, text=False)
        assert c["B"] == "x"


def test_from_prefixed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_STRING", "value")
    monkeypatch.setenv("CORRAL_BOOL", "true")
    monkeypatch.setenv("CORRAL_INT", "1")
    monkeypatch.setenv("CORRAL_LIST", "[1, 2]")
    monkeypatch.setenv("CORRAL_NEST__A__B", "42")
    monkeypatch.setenv("FLASK_PORTABLE", "1")
    monkeypatch.setenv("FLASK_INT", "7")
    monkeypatch.setenv("NOT_CORRAL_OTHER", "x")
    c = Config()
    c.from_prefixed_env()
    assert c["STRING"] == "value"
    assert c["BOOL"] is True
    assert c["INT"] == 1  # CORRAL_ wins over FLASK_
    assert c["LIST"] == [1, 2]
    assert c["NEST"] == {"A": {"B": 42}}
    assert c["PORTABLE"] == 1
    assert "OTHER" not in c


def test_from_prefixed_env_custom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYAPP_A", "x")
    monkeypatch.setenv("CORRAL_B", "y")
    c = Config()
    c.from_prefixed_env("MYAPP", loads=str.upper)
    assert c == {"A": "X"}


def test_get_namespace() -> None:
    c = Config()
    c.update(FOO_OPTION_1="a", FOO_OPTION_2="b", BAR_STUFF_1="c")
    assert c.get_namespace("FOO_") == {"option_1": "a", "option_2": "b"}
    assert c.get_namespace("FOO_", lowercase=False) == {"OPTION_1": "a", "OPTION_2": "b"}
    assert c.get_namespace("FOO_", trim_namespace=False) == {
        "foo_option_1": "a",
        "foo_option_2": "b",
    }


def test_config_attribute_and_repr() -> None:
    class Holder:
        secret = ConfigAttribute[str]("SECRET_KEY")
        port = ConfigAttribute[int]("PORT", get_converter=int)

        def __init__(self) -> None:
            self.config = Config(".", {"SECRET_KEY": "s", "PORT": "80"})

    h = Holder()
    assert h.secret == "s" and h.port == 80
    h.secret = "t"
    assert h.config["SECRET_KEY"] == "t"
    assert isinstance(Holder.secret, ConfigAttribute)
    assert repr(Config(".", {"A": 1})) == "<Config {'A': 1}>"


def test_import_string() -> None:
    assert import_string("os.path:join") is __import__("os").path.join
    assert import_string("os.path.join") is __import__("os").path.join
    with pytest.raises(ImportError):
        import_string("os.path:nope")


# -- the app's side: properties, instance folder, resources -------------------


def test_app_config_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    from corral.web import App

    monkeypatch.delenv("CORRAL_DEBUG", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = App(__name__)
    assert isinstance(app.config, Config)
    for key, value in DEFAULT_CONFIG.items():
        if key != "DEBUG":
            assert app.config[key] == value, key
    assert app.debug is False and app.testing is False and app.secret_key is None
    app.testing = True
    app.secret_key = "k"
    app.debug = True
    assert app.config["TESTING"] is True and app.config["SECRET_KEY"] == "k"
    assert app.config["DEBUG"] is True
    monkeypatch.setenv("CORRAL_DEBUG", "1")
    assert App(__name__).debug is True
    monkeypatch.setenv("CORRAL_DEBUG", "0")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert App(__name__).debug is False


def test_instance_path_and_resources(tmp_path: Path) -> None:
    from corral.web import App

    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "settings.py").write_text("FROM_INSTANCE = True\n")
    (tmp_path / "data.txt").write_text("root resource\n")
    app = App(
        "resources_app",
        root_path=str(tmp_path),
        instance_path=str(tmp_path / "instance"),
        instance_relative_config=True,
    )
    assert app.root_path == str(tmp_path)
    assert app.config.root_path == str(tmp_path / "instance")
    assert app.config.from_pyfile("settings.py")
    assert app.config["FROM_INSTANCE"] is True
    with app.open_resource("data.txt") as f:
        assert f.read() == b"root resource\n"
    with app.open_resource("data.txt", "r", encoding="utf-8") as f:
        assert f.read() == "root resource\n"
    with pytest.raises(ValueError):
        app.open_resource("data.txt", "w")
    with app.open_instance_resource("new.txt", "w") as f:
        f.write("written")
    assert (tmp_path / "instance" / "new.txt").read_text() == "written"
    with pytest.raises(ValueError, match="must be absolute"):
        App("x", instance_path="relative/path")


def test_default_instance_path_is_next_to_module() -> None:
    import flask

    from corral.web import App

    assert App(__name__).instance_path == flask.Flask(__name__).instance_path
