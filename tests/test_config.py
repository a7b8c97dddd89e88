"""Configuration: defaults documented in config/default.toml, env overrides, exit 2 on bad keys."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib

import pytest

from service.config import Config, ConfigError, load_config
from tests.conftest import REPO

DEFAULT_TOML = REPO / "config" / "default.toml"


def test_default_toml_documents_every_key_with_its_default() -> None:
    documented = tomllib.loads(DEFAULT_TOML.read_text())
    built_in = {name: dataclasses.asdict(getattr(Config(), name))
                for name in (f.name for f in dataclasses.fields(Config))}
    assert documented == built_in


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


def test_sasl_password_never_appears_in_repr() -> None:
    config = load_config(env={"INGEST_KAFKA__SASL_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(config)
