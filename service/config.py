"""Configuration: one TOML file plus ``INGEST_<SECTION>__<KEY>`` environment overrides.

Every setting is a typed field of a frozen dataclass (below, and ``NormalizeSettings`` and
``StorySettings`` beside the stages they tune), which the loader and its validation read. The
defaults are written once, in ``config/default.toml`` with their comments: each field takes its
default from it (``service.defaults``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service import defaults
from service.stages.normalize import NormalizeSettings
from service.state.stories import StorySettings

ENV_PREFIX = "INGEST_"
_KAFKA = defaults.section("kafka")
_TOPICS = defaults.section("topics")
_HTTP = defaults.section("http")
_FETCH = defaults.section("fetch")
_LIMITS = defaults.section("limits")
_SERVICE = defaults.section("service")


class ConfigError(ValueError):
    """A bad or unknown setting; ``key`` is its dotted name (``kafka.group_id``)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap_servers: str = _KAFKA["bootstrap_servers"]
    group_id: str = _KAFKA["group_id"]
    client_id: str = _KAFKA["client_id"]
    embedded_port: int = _KAFKA["embedded_port"]
    topic_partitions: int = _KAFKA["topic_partitions"]
    topic_replication_factor: int = _KAFKA["topic_replication_factor"]
    create_topics: bool = _KAFKA["create_topics"]
    security_protocol: str = _KAFKA["security_protocol"]
    sasl_mechanism: str = _KAFKA["sasl_mechanism"]
    sasl_username: str = _KAFKA["sasl_username"]
    sasl_password: str = field(default=_KAFKA["sasl_password"], repr=False)
    sasl_password_file: str = _KAFKA["sasl_password_file"]
    ssl_cafile: str = _KAFKA["ssl_cafile"]
    ssl_certfile: str = _KAFKA["ssl_certfile"]
    ssl_keyfile: str = _KAFKA["ssl_keyfile"]
    session_timeout_ms: int = _KAFKA["session_timeout_ms"]
    heartbeat_interval_ms: int = _KAFKA["heartbeat_interval_ms"]
    max_poll_records: int = _KAFKA["max_poll_records"]
    fetch_max_wait_ms: int = _KAFKA["fetch_max_wait_ms"]
    max_in_flight: int = _KAFKA["max_in_flight"]
    producer_max_batch_bytes: int = _KAFKA["producer_max_batch_bytes"]
    producer_linger_ms: int = _KAFKA["producer_linger_ms"]
    compression: str = _KAFKA["compression"]
    acks: str = _KAFKA["acks"]
    commit_interval_ms: int = _KAFKA["commit_interval_ms"]
    state_shards: int = _KAFKA["state_shards"]
    state_shard_load: float = _KAFKA["state_shard_load"]
    settle_idle_ms: int = _KAFKA["settle_idle_ms"]


@dataclass(frozen=True)
class TopicsConfig:
    raw: str = _TOPICS["raw"]
    clean: str = _TOPICS["clean"]
    clusters: str = _TOPICS["clusters"]
    dlq: str = _TOPICS["dlq"]
    # Internal topics: empty means named after kafka.group_id (see Config.__post_init__).
    prepared: str = _TOPICS["prepared"]
    state: str = _TOPICS["state"]


def internal_topic(group_id: str, role: str) -> str:
    """An internal topic's default name, after the consumer group as Kafka Streams names its
    own (``<application.id>-<name>-repartition`` / ``-changelog``): two deployments with different
    group ids on one cluster never share state."""
    suffix = {"prepared": "prepared-repartition", "state": "state-changelog"}[role]
    return f"{group_id}-{suffix}"


@dataclass(frozen=True)
class HttpConfig:
    host: str = _HTTP["host"]
    port: int = _HTTP["port"]


@dataclass(frozen=True)
class FetchConfig:
    enabled: bool = _FETCH["enabled"]
    allow_private_networks: bool = _FETCH["allow_private_networks"]
    user_agent: str = _FETCH["user_agent"]
    concurrency: int = _FETCH["concurrency"]
    per_host: int = _FETCH["per_host"]
    connect_timeout_s: float = _FETCH["connect_timeout_s"]
    read_timeout_s: float = _FETCH["read_timeout_s"]
    total_timeout_s: float = _FETCH["total_timeout_s"]
    max_bytes: int = _FETCH["max_bytes"]
    max_redirects: int = _FETCH["max_redirects"]
    retries: int = _FETCH["retries"]
    backoff_base_s: float = _FETCH["backoff_base_s"]
    backoff_max_s: float = _FETCH["backoff_max_s"]
    retry_after_cap_s: float = _FETCH["retry_after_cap_s"]


@dataclass(frozen=True)
class LimitsConfig:
    max_message_bytes: int = _LIMITS["max_message_bytes"]
    max_dead_letter_raw_bytes: int = _LIMITS["max_dead_letter_raw_bytes"]
    max_record_bytes: int = _LIMITS["max_record_bytes"]
    message_deadline_s: float = _LIMITS["message_deadline_s"]


@dataclass(frozen=True)
class ServiceConfig:
    shutdown_grace_s: float = _SERVICE["shutdown_grace_s"]
    log_level: str = _SERVICE["log_level"]
    summary_interval_s: float = _SERVICE["summary_interval_s"]


@dataclass(frozen=True)
class Config:
    kafka: KafkaConfig = KafkaConfig()
    topics: TopicsConfig = TopicsConfig()
    http: HttpConfig = HttpConfig()
    fetch: FetchConfig = FetchConfig()
    limits: LimitsConfig = LimitsConfig()
    service: ServiceConfig = ServiceConfig()
    normalize: NormalizeSettings = NormalizeSettings()
    stories: StorySettings = StorySettings()

    def __post_init__(self) -> None:
        """Fill in the internal topics' names from the group id where none is configured."""
        named = {role: getattr(self.topics, role) or internal_topic(self.kafka.group_id, role)
                 for role in ("prepared", "state")}
        object.__setattr__(self, "topics", dataclasses.replace(self.topics, **named))


_CHOICES: dict[str, tuple[str, ...]] = {
    "kafka.security_protocol": ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
    "kafka.sasl_mechanism": ("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
    "kafka.compression": ("none", "gzip", "snappy", "lz4", "zstd"),
    "kafka.acks": ("all", "1", "0"),
    "service.log_level": ("debug", "info", "warning", "error"),
}
_NON_NEGATIVE = (int, float)
_SECRETS = {"kafka.sasl_password"}
# Similarities, cosines and Jaccard estimates: a value outside [0, 1] can never (or always) match.
_FRACTIONS = {"stories.join_threshold", "stories.young_story_link", "stories.merge_threshold",
              "stories.absorb_threshold", "stories.near_jaccard", "stories.near_containment",
              "stories.refine_floor", "stories.refine_margin"}
_MIN_RECORD_BYTES = 10_000  # room for a dead letter's fields beside a cut-down raw
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_NON_EMPTY = {"topics.raw", "topics.clean", "topics.clusters", "topics.dlq", "kafka.group_id"}
# Kafka's rule for topic names (249 characters at most, of these).
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def _field_types(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _shown(key: str, value: Any) -> str:
    """A value as an error message may quote it: never a secret's."""
    return "(value hidden)" if key in _SECRETS else repr(value)


def _coerce(key: str, kind: type, value: Any, from_env: bool) -> Any:
    """Turn a TOML or environment value into ``kind`` or raise ConfigError naming ``key``."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if from_env and isinstance(value, str) and value.lower() in ("true", "1", "yes", "false",
                                                                     "0", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(key, f"expected true or false, got {_shown(key, value)}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_env and isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
        raise ConfigError(key, f"expected an integer, got {_shown(key, value)}")
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if from_env and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(key, f"expected a number, got {_shown(key, value)}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ConfigError(key, f"expected a string, got {_shown(key, value)}")
    raise ConfigError(key, f"unsupported setting type {kind!r}")  # pragma: no cover


def _validate(key: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(key, f"must be a finite number, got {value!r}")
    if key in _FRACTIONS and not 0.0 <= value <= 1.0:
        raise ConfigError(key, f"must be between 0 and 1, got {value!r}")
    if key == "http.host" and not _valid_host(value):
        raise ConfigError(key, f"must be an IP address or a host name, got {value!r}")
    choices = _CHOICES.get(key)
    if choices is not None and value not in choices:
        raise ConfigError(key, f"must be one of {', '.join(repr(c) for c in choices)}")
    if isinstance(value, _NON_NEGATIVE) and not isinstance(value, bool) and value < 0:
        raise ConfigError(key, f"must not be negative, got {_shown(key, value)}")
    if key in _NON_EMPTY and not value:
        raise ConfigError(key, "must not be empty")
    if key.startswith("topics.") and not _TOPIC_NAME.match(value):
        raise ConfigError(key, f"{value!r} is not a valid topic name (letters, digits, . _ -)")
    if key.endswith("port") and not (0 <= value <= 65535):
        raise ConfigError(key, f"must be a port number 0-65535, got {_shown(key, value)}")


def _valid_host(host: str) -> bool:
    """An IP address, or a host name whose last label is not a number (``999.1.1.1`` is a bad
    address, not a name: resolvers and WHATWG URLs read it as IPv4)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.match(host)) and not host.rsplit(".", 1)[-1].isdigit()
    return True


def _section_classes() -> dict[str, type]:
    return {name: kind for name, kind in _field_types(Config).items()}


def _apply(overrides: dict[str, dict[str, tuple[Any, bool]]]) -> Config:
    sections: dict[str, Any] = {}
    for section, cls in _section_classes().items():
        kinds = _field_types(cls)
        values: dict[str, Any] = {}
        for name, (raw, from_env) in overrides.get(section, {}).items():
            values[name] = _coerce(f"{section}.{name}", kinds[name], raw, from_env)
        sections[section] = cls(**values)
    group_id, topics = sections["kafka"].group_id, sections["topics"]
    if not (topics.prepared and topics.state) and not _TOPIC_NAME.match(
            internal_topic(group_id, "prepared")):
        raise ConfigError("kafka.group_id", f"{group_id!r} names the internal topics: use letters, "
                          "digits, . _ - (or set topics.prepared and topics.state)")
    config = Config(**sections)
    for section in _section_classes():
        for name, value in dataclasses.asdict(getattr(config, section)).items():
            _validate(f"{section}.{name}", value)
    _check_combinations(config)
    return config


def _check_combinations(config: Config) -> None:
    kafka = config.kafka
    if kafka.heartbeat_interval_ms >= kafka.session_timeout_ms:
        raise ConfigError("kafka.heartbeat_interval_ms", "must be below kafka.session_timeout_ms")
    if kafka.sasl_mechanism and not kafka.security_protocol.startswith("SASL_"):
        raise ConfigError("kafka.security_protocol",
                          "must be SASL_PLAINTEXT or SASL_SSL when kafka.sasl_mechanism is set")
    if kafka.security_protocol.startswith("SASL_") and not kafka.sasl_mechanism:
        raise ConfigError("kafka.sasl_mechanism", f"required with {kafka.security_protocol}")
    if kafka.sasl_password_file and not Path(kafka.sasl_password_file).is_file():
        raise ConfigError("kafka.sasl_password_file", f"no such file: {kafka.sasl_password_file}")
    for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path = getattr(kafka, key)
        if path and not Path(path).is_file():
            raise ConfigError(f"kafka.{key}", f"no such file: {path}")
    for key in ("max_in_flight", "state_shards", "topic_partitions", "max_poll_records",
                "topic_replication_factor", "heartbeat_interval_ms", "session_timeout_ms"):
        if getattr(kafka, key) < 1:
            raise ConfigError(f"kafka.{key}", "must be at least 1")
    if config.limits.max_record_bytes < _MIN_RECORD_BYTES:
        raise ConfigError("limits.max_record_bytes", f"must be at least {_MIN_RECORD_BYTES}")
    if config.fetch.concurrency < 1 or config.fetch.per_host < 1:
        key = "fetch.concurrency" if config.fetch.concurrency < 1 else "fetch.per_host"
        raise ConfigError(key, "must be at least 1")


def _collect_file(data: Mapping[str, Any]) -> dict[str, dict[str, tuple[Any, bool]]]:
    known = _section_classes()
    found: dict[str, dict[str, tuple[Any, bool]]] = {}
    for section, body in data.items():
        if section not in known:
            raise ConfigError(section, "unknown section")
        if not isinstance(body, dict):
            raise ConfigError(section, "expected a table")
        names = _field_types(known[section])
        for name, value in body.items():
            if name not in names:
                raise ConfigError(f"{section}.{name}", "unknown key")
            found.setdefault(section, {})[name] = (value, False)
    return found


def _collect_env(env: Mapping[str, str], into: dict[str, dict[str, tuple[Any, bool]]]) -> None:
    known = _section_classes()
    for var, value in env.items():
        section, sep, name = var[len(ENV_PREFIX):].lower().partition("__")
        if not var.startswith(ENV_PREFIX) or not sep or "_" in section:
            # Not ours: Docker links and Kubernetes set INGEST_PORT=tcp://... and such, and a
            # Docker link passes a linked container's variables on as INGEST_ENV_<NAME>; no
            # section name has an underscore.
            continue
        if section not in known or name not in _field_types(known[section]):
            raise ConfigError(var, "unknown setting (expected INGEST_<SECTION>__<KEY>)")
        into.setdefault(section, {})[name] = (value, True)


def load_config(path: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (or only the built-in defaults) and apply environment overrides."""
    overrides: dict[str, dict[str, tuple[Any, bool]]] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise ConfigError("--config", f"cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("--config", f"{path} is not valid TOML: {exc}") from exc
        overrides = _collect_file(data)
    _collect_env(os.environ if env is None else env, overrides)
    return _apply(overrides)


def sasl_password(kafka: KafkaConfig) -> str:
    """The SASL password, read from its file when one is configured (files beat inline)."""
    if kafka.sasl_password_file:
        return Path(kafka.sasl_password_file).read_text(encoding="utf-8").strip()
    return kafka.sasl_password


def redacted(config: Config) -> dict[str, dict[str, Any]]:
    """Every setting by section, secrets hidden: for the start-up log and `config --effective`."""
    sections: dict[str, dict[str, Any]] = {}
    for section in _section_classes():
        values = dataclasses.asdict(getattr(config, section))
        for name, value in values.items():
            if f"{section}.{name}" in _SECRETS and value:
                values[name] = "(hidden)"
        sections[section] = values
    return sections


def to_toml(sections: Mapping[str, Mapping[str, Any]]) -> str:
    """Settings as a TOML file that ``--config`` reads back (strings, numbers and booleans)."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for name, value in values.items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, str):
                text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            else:
                text = repr(value)
            lines.append(f"{name} = {text}")
        lines.append("")
    return "\n".join(lines)


def annotated_defaults() -> str:
    """``config/default.toml``, shipped in the package as ``service/default.toml``."""
    return defaults.PATH.read_text(encoding="utf-8")
