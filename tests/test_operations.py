"""What a platform team meets on day one: exit 2 with one line where the user is at fault, the
topics checked (and created on request) before any state is touched, and the settings printable
from an installed package."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.harness import ServiceProcess
from service.config import (
    Config,
    annotated_defaults,
    internal_topic,
    load_config,
    redacted,
    to_toml,
)
from service.edges.broker import EmbeddedBroker, free_port
from service.edges.topics import Severity, TopicFacts, check_topics, topic_specs
from service.logs import setup_logging
from service.summary import summary_fields
from tests.conftest import REPO, SEEDS
from tests.harness import publish


def cli(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=REPO, text=True,
                          env={"PATH": "/usr/bin:/bin", **env}, capture_output=True,
                          timeout=timeout)


def assert_one_line(done: subprocess.CompletedProcess[str], key: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "Traceback" not in done.stderr and key in done.stderr


# -- exit 2, one line ------------------------------------------------------------------------

def test_http_port_in_use_exits_2_naming_the_key() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = cli("run", INGEST_KAFKA__BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
                   INGEST_HTTP__PORT=str(port))
    assert_one_line(done, "http.port")
    assert "in use" in done.stderr


def test_replay_to_an_unreachable_broker_exits_2_without_leaking_the_producer() -> None:
    done = cli("replay", str(SEEDS), INGEST_KAFKA__BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    assert_one_line(done, "kafka.bootstrap_servers")
    assert "Unclosed" not in done.stderr


def test_process_to_an_unwritable_place_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = cli("process", str(SEEDS), "--out", str(blocker / "out"))
    assert_one_line(done, "--out")


def test_topics_needs_a_broker_address() -> None:
    assert_one_line(cli("topics"), "kafka.bootstrap_servers")


# -- settings from an installed package ------------------------------------------------------

def test_config_prints_the_annotated_defaults() -> None:
    done = cli("config")
    assert done.returncode == 0
    assert done.stdout == (REPO / "config" / "default.toml").read_text()
    assert annotated_defaults() == done.stdout


def test_effective_config_reads_back_and_hides_secrets(tmp_path: Path) -> None:
    done = cli("config", "--effective", INGEST_KAFKA__SASL_PASSWORD="hunter2",
               INGEST_KAFKA__GROUP_ID="news")
    assert done.returncode == 0 and "hunter2" not in done.stdout
    effective = tomllib.loads(done.stdout)
    assert effective["kafka"]["sasl_password"] == "(hidden)"
    assert effective["topics"]["state"] == "news-state-changelog"
    path = tmp_path / "effective.toml"
    path.write_text(to_toml(redacted(Config())))
    assert load_config(path, env={}) == Config()


def test_the_defaults_ship_in_the_wheel() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "default.toml" in project["tool"]["setuptools"]["package-data"]["service"]
    assert (REPO / "service" / "default.toml").resolve() == \
        (REPO / "config" / "default.toml").resolve()


# -- topic checks (pure) ---------------------------------------------------------------------

def facts(config: Config, **changed: TopicFacts) -> dict[str, TopicFacts]:
    """The topics as the service would create them, with some replaced."""
    made = {spec.name: TopicFacts(spec.partitions, 1, dict(spec.configs))
            for spec in topic_specs(config)}
    return {**made, **changed}


def test_topics_as_created_have_no_problems() -> None:
    config = Config()
    assert check_topics(topic_specs(config), facts(config), 1, brokers=1) == []


def test_a_changelog_that_is_not_compacted_is_fatal() -> None:
    config = Config()
    found = facts(config, **{config.topics.state: TopicFacts(1, 1, {"cleanup.policy": "delete"})})
    problems = check_topics(topic_specs(config), found, 1, brokers=1)
    assert [(p.severity, p.key) for p in problems] == [(Severity.FATAL, "topics.state")]
    unlisted = facts(config, **{config.topics.state: TopicFacts(1, 1, {})})  # broker default
    assert check_topics(topic_specs(config), unlisted, 1, brokers=1)[0].severity is Severity.FATAL


def test_state_partitions_other_than_the_shards_are_fatal() -> None:
    config = Config()
    found = facts(config, **{config.topics.prepared: TopicFacts(3, 1, {})})
    problems = check_topics(topic_specs(config), found, 1, brokers=1)
    assert [(p.severity, p.key) for p in problems] == [(Severity.FATAL, "kafka.state_shards")]


def test_other_mismatches_only_warn() -> None:
    config = Config()
    found = facts(config, **{config.topics.raw: TopicFacts(6, 1, {})})
    problems = check_topics(topic_specs(config), found, 3, brokers=3)
    assert problems and all(p.severity is Severity.WARNING for p in problems)
    assert "topics.raw" in {p.key for p in problems}


def test_replication_factor_1_on_a_real_cluster_warns() -> None:
    config = Config()
    keys = {p.key for p in check_topics(topic_specs(config), {}, 1, brokers=3)}
    assert "kafka.topic_replication_factor" in keys
    assert check_topics(topic_specs(config), {}, 1, brokers=1) == []


def test_unreadable_configs_warn_rather_than_pass() -> None:
    config = Config()
    found = facts(config, **{config.topics.state: TopicFacts(1, 1, None)})
    problems = check_topics(topic_specs(config), found, 1, brokers=1)
    assert [(p.severity, p.key) for p in problems] == [(Severity.WARNING, "topics.state")]


# -- topic checks against a broker -----------------------------------------------------------

def create(bootstrap: str, *topics: NewTopic) -> None:
    async def go() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics(list(topics))
        finally:
            await admin.close()
    asyncio.run(go())


@pytest.mark.integration
def test_topics_command_checks_then_creates(broker: EmbeddedBroker) -> None:
    env = {"INGEST_KAFKA__BOOTSTRAP_SERVERS": broker.bootstrap, "INGEST_KAFKA__GROUP_ID": "ops"}
    missing = cli("topics", **env)
    assert missing.returncode == 1
    assert "ops-state-changelog\ttopics.state\tmissing" in missing.stdout
    made = cli("topics", "--create", **env)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "ops-state-changelog\ttopics.state\tcreated" in made.stdout
    again = cli("topics", **env)
    assert again.returncode == 0 and "\tmissing" not in again.stdout


@pytest.mark.integration
def test_run_refuses_a_changelog_that_is_not_compacted(broker: EmbeddedBroker) -> None:
    create(broker.bootstrap, NewTopic(internal_topic("bad", "state"), 1, 1,
                                      topic_configs={"cleanup.policy": "delete"}))
    done = cli("run", INGEST_KAFKA__BOOTSTRAP_SERVERS=broker.bootstrap,
               INGEST_KAFKA__GROUP_ID="bad", INGEST_HTTP__PORT="0")
    assert done.returncode == 2, done.stderr
    assert "topics.state" in done.stderr and "compact" in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stdout


@pytest.mark.integration
def test_run_without_topic_creation_refuses_missing_topics(broker: EmbeddedBroker) -> None:
    done = cli("run", INGEST_KAFKA__BOOTSTRAP_SERVERS=broker.bootstrap,
               INGEST_KAFKA__GROUP_ID="acl", INGEST_KAFKA__CREATE_TOPICS="false",
               INGEST_HTTP__PORT="0")
    assert_one_line(done, "kafka.create_topics")
    assert "article-ingest topics --create" in done.stderr


# -- what operators see in the logs ----------------------------------------------------------

def test_summary_fields_count_the_interval_and_report_gauges_now() -> None:
    before = {"consumed": 100.0, "produced": 250.0, "clean": 90.0, "duplicate": 5.0,
              "dead_letter": 5.0, "lag": 40.0, "in_flight": 3.0, "state_articles": 95.0,
              "clusters_active": 20.0}
    after = {**before, "consumed": 400.0, "produced": 1000.0, "clean": 380.0, "lag": 0.0,
             "state_articles": 385.0}
    fields = summary_fields(before, after, 10.0)
    assert fields["consumed"] == 300 and fields["produced"] == 750 and fields["clean"] == 290
    assert fields["consumed_per_s"] == 30.0
    assert (fields["lag"], fields["state_articles"]) == (0, 385)


def test_a_retry_logs_one_line() -> None:
    """The client's own lines about failed sends and unreachable brokers are muted, since the
    service logs each retry itself; debug keeps them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        setup_logging("info")
        sender = logging.getLogger("aiokafka.producer.sender")
        assert sender.getEffectiveLevel() == logging.CRITICAL
        assert logging.getLogger("aiokafka.client").getEffectiveLevel() == logging.CRITICAL
        assert logging.getLogger("aiokafka.consumer").getEffectiveLevel() == logging.WARNING
        setup_logging("debug")
        assert sender.getEffectiveLevel() < logging.CRITICAL
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.integration
def test_operators_see_config_assignments_restore_and_summaries(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    service = ServiceProcess(broker.bootstrap, tmp_path, group="logs",
                             kafka__sasl_password="hunter2", service__summary_interval_s="0.5")
    try:
        service.wait_ready()
        publish(broker.bootstrap, "articles.raw", SEEDS.read_bytes().splitlines())
        deadline = time.monotonic() + 30  # the first summaries may come before the messages
        while time.monotonic() < deadline and not re.search(r'"summary".*"consumed":[1-9]',
                                                            service.logs()):
            time.sleep(0.2)
    finally:
        service.stop()
    lines = [orjson.loads(line) for line in service.logs().splitlines() if line.startswith("{")]
    by_msg: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_msg.setdefault(line["msg"], []).append(line)
    assert "hunter2" not in service.logs()
    started = by_msg["starting"][0]
    assert started["config"]["kafka"]["sasl_password"] == "(hidden)"
    assert started["config"]["topics"]["state"] == "logs-state-changelog"
    held = by_msg["partitions assigned"][0]["partitions"]
    assert len(held["articles.raw"]) == 12 and held["logs-prepared-repartition"] == [0]
    assert by_msg["state restored"][0]["shard"] == 0
    assert {"ready", "connecting", "restoring state"} <= by_msg.keys()
    assert any(summary["consumed"] > 0 for summary in by_msg["summary"])


# -- packaging -------------------------------------------------------------------------------

def test_the_version_lives_in_one_place_and_the_rest_follows_it() -> None:
    from service import __version__
    from service.config import FetchConfig

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "service.__version__"}
    kustomization = (REPO / "deploy" / "k8s" / "kustomization.yaml").read_text()
    assert f"newTag: {__version__}" in kustomization
    for manifest in ("k8s/deployment.yaml", "docker-compose.yml"):
        assert f"image: article-ingest:{__version__}" in (REPO / "deploy" / manifest).read_text()
    major_minor = ".".join(__version__.split(".")[:2])
    assert FetchConfig().user_agent.startswith(f"article-ingest/{major_minor} ")


def test_metadata_names_the_license_and_the_project() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert all((REPO / name).is_file() for name in project["license-files"])
    assert "Apache License" in (REPO / "LICENSE").read_text()
    assert {"Homepage", "Repository"} <= project["urls"].keys()
    extras = project["optional-dependencies"]
    assert {"embedded", "zstd", "lz4", "snappy"} <= extras.keys()


def test_the_sizing_fit_recovers_a_line() -> None:
    from bench.bench_memory import fit

    base, per_100k = fit([(40_000, 394.0), (80_000, 438.0), (120_000, 482.0)])
    assert (round(base, 6), round(per_100k, 6)) == (350.0, 110.0)


def test_a_topic_the_cluster_refuses_to_create_is_fatal() -> None:
    from service.edges.topics import creation_outcome

    created, refused = creation_outcome([
        ("a", 0, None), ("b", 36, "Topic with this name already exists."),
        ("c", 38, "Replication factor: 3 larger than available brokers: 1."),
        ("d", 29, None)])
    assert created == ["a", "b"]
    assert [(p.severity, p.key) for p in refused] == [
        (Severity.FATAL, "kafka.topic_replication_factor"), (Severity.FATAL, "kafka.create_topics")]
    assert "larger than available brokers" in refused[0].message
