"""The topics the service reads and writes: what each must look like, checked and created.

This is the one place that knows each topic's partitions and configs. ``topic_specs`` and
``check_topics`` are pure (tested without a broker); ``inspect_topics`` and ``ensure_topics``
talk to the cluster through the admin client, at start-up and for ``article-ingest topics``.

What would corrupt state is refused: a state changelog that is not compacted (retention would
delete live state, and restore would bring back only part of it), and internal topics whose
partition counts differ from ``kafka.state_shards`` (articles would be routed to, and restored
from, the wrong shard). Everything else is a warning.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import (
    InvalidReplicationFactorError,
    KafkaError,
    TopicAlreadyExistsError,
    for_code,
)

from service.config import Config
from service.edges.kafka import client_options

log = logging.getLogger("service.topics")


@dataclass(frozen=True)
class TopicSpec:
    """One topic as the service wants it; ``key`` is the setting that names it."""

    key: str
    name: str
    partitions: int
    configs: Mapping[str, str] = field(default_factory=dict)
    exact_partitions: bool = False  # state shards: any other count corrupts state


@dataclass(frozen=True)
class TopicFacts:
    """One existing topic as the cluster describes it."""

    partitions: int
    replication: int
    configs: Mapping[str, str] | None  # None: the cluster would not say (ACLs)


class Severity(enum.Enum):
    FATAL = "fatal"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    key: str  # the setting to look at
    message: str


def topic_specs(config: Config) -> list[TopicSpec]:
    """Every topic of one deployment; the internal ones carry the consumer group's name."""
    topics, kafka = config.topics, config.kafka
    specs = [TopicSpec(f"topics.{role}", getattr(topics, role), kafka.topic_partitions)
             for role in ("raw", "clean", "clusters", "dlq")]
    specs.append(TopicSpec("topics.prepared", topics.prepared, kafka.state_shards,
                           exact_partitions=True))
    specs.append(TopicSpec("topics.state", topics.state, kafka.state_shards,
                           configs={"cleanup.policy": "compact"}, exact_partitions=True))
    return specs


def check_topics(specs: list[TopicSpec], existing: Mapping[str, TopicFacts],
                 replication_factor: int, brokers: int) -> list[Problem]:
    """What is wrong with the existing topics (missing ones are not checked here)."""
    problems: list[Problem] = []
    if replication_factor == 1 and brokers > 1:
        problems.append(Problem(Severity.WARNING, "kafka.topic_replication_factor",
                                f"is 1 on a cluster of {brokers} brokers: topics the service "
                                f"creates lose data with any one broker; set 3"))
    for spec in specs:
        facts = existing.get(spec.name)
        if facts is None:
            continue
        if facts.partitions != spec.partitions:
            if spec.exact_partitions:
                problems.append(Problem(
                    Severity.FATAL, "kafka.state_shards",
                    f"is {spec.partitions} but {spec.name} ({spec.key}) has {facts.partitions} "
                    f"partitions: articles would reach and restore from the wrong state shard"))
            else:
                problems.append(Problem(
                    Severity.WARNING, spec.key,
                    f"{spec.name} has {facts.partitions} partitions "
                    f"(kafka.topic_partitions is {spec.partitions})"))
        if facts.configs is None:
            if spec.configs:
                problems.append(Problem(Severity.WARNING, spec.key,
                                        f"cannot read the configs of {spec.name} (DescribeConfigs "
                                        f"refused): make sure it has {dict(spec.configs)}"))
            continue
        for name, wanted in spec.configs.items():
            # Kafka's default cleanup.policy is delete; a broker may list only explicit configs.
            actual = facts.configs.get(name, "delete" if name == "cleanup.policy" else "")
            if name == "cleanup.policy" and "compact" not in actual.split(","):
                problems.append(Problem(
                    Severity.FATAL, spec.key,
                    f"{spec.name} has cleanup.policy={actual}, needs compact: retention would "
                    f"delete live state"))
            elif name != "cleanup.policy" and actual != wanted:
                problems.append(Problem(Severity.WARNING, spec.key,
                                        f"{spec.name} has {name}={actual}, expected {wanted}"))
        if brokers > 1 and facts.replication == 1:
            problems.append(Problem(Severity.WARNING, spec.key,
                                    f"{spec.name} has replication factor 1 on a cluster of "
                                    f"{brokers} brokers"))
    return problems


@dataclass(frozen=True)
class TopicsReport:
    """The cluster's topics against the specs, after any creation."""

    specs: list[TopicSpec]
    existing: dict[str, TopicFacts]
    created: list[str]
    problems: list[Problem]

    @property
    def missing(self) -> list[TopicSpec]:
        return [spec for spec in self.specs if spec.name not in self.existing]

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.FATAL]


async def ensure_topics(config: Config, create: bool) -> TopicsReport:
    """Describe the deployment's topics, create the missing ones when ``create``, check the rest.

    Connection failures propagate (KafkaConnectionError) so that callers decide: retry at
    start-up, refuse for the ``topics`` command."""
    specs = topic_specs(config)
    admin = AIOKafkaAdminClient(**client_options(config.kafka))
    await admin.start()
    try:
        listed = set(await admin.list_topics())
        created: list[str] = []
        refused: list[Problem] = []
        absent = [spec for spec in specs if spec.name not in listed]
        if create and absent:
            replication = config.kafka.topic_replication_factor
            response = await admin.create_topics([
                NewTopic(spec.name, spec.partitions, replication,
                         topic_configs=dict(spec.configs)) for spec in absent])
            created, refused = creation_outcome(response.topic_errors)
            listed |= set(created)
        # Described only once they exist: some brokers create a topic they are asked about.
        existing = await _describe(admin, [spec.name for spec in specs if spec.name in listed])
        brokers = len((await admin.describe_cluster())["brokers"])
    finally:
        await admin.close()
    problems = check_topics(specs, existing, config.kafka.topic_replication_factor, brokers)
    return TopicsReport(specs, existing, created, refused + problems)


def creation_outcome(topic_errors: list[tuple[Any, ...]]) -> tuple[list[str], list[Problem]]:
    """Topics created (or created by another worker first) and the refusals, as fatal problems
    (a missing internal topic cannot be worked around)."""
    created: list[str] = []
    refused: list[Problem] = []
    for name, code, *rest in topic_errors:
        error = for_code(code)
        if code == 0 or error is TopicAlreadyExistsError:
            created.append(name)
            continue
        key = ("kafka.topic_replication_factor" if error is InvalidReplicationFactorError
               else "kafka.create_topics")
        detail = rest[0] if rest and rest[0] else ""
        refused.append(Problem(Severity.FATAL, key,
                               f"the cluster refused to create {name}: {error.__name__} {detail}"
                               .rstrip()))
    return created, refused


async def _describe(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, TopicFacts]:
    if not names:
        return {}
    described = await admin.describe_topics(names)
    configs: dict[str, dict[str, str]] = {}
    readable = True
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    except KafkaError:  # e.g. no DescribeConfigs ACL: the checks that need configs warn instead
        readable = False
    else:
        for response in responses:
            for resource in response.resources:
                error_code, _, _, name, entries = resource[:5]
                if not error_code:
                    configs[name] = {entry[0]: entry[1] for entry in entries
                                     if entry[1] is not None}
    facts: dict[str, TopicFacts] = {}
    for topic in described:
        partitions = topic["partitions"]
        replication = min((len(p["replicas"]) for p in partitions), default=0)
        facts[topic["topic"]] = TopicFacts(len(partitions), replication,
                                           configs.get(topic["topic"]) if readable else None)
    return facts


def log_report(report: TopicsReport) -> None:
    """Warnings and creations as log lines (fatal problems are the caller's to raise)."""
    if report.created:
        log.info("topics created", extra={"topics": report.created})
    for problem in report.problems:
        if problem.severity is Severity.WARNING:
            log.warning("topic check", extra={"key": problem.key, "problem": problem.message})
