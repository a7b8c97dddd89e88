"""Deployment assets checked against the code and the real tools.

Docker and Kubernetes do not run here, so every file in deploy/ and the Dockerfile is parsed and
cross-checked: variables must be keys the service accepts, ports the ones it listens on, metric
names ones it exports. Prometheus rules go through Debian's ``promtool``; Kubernetes manifests
through the bundled API schemas (kubernetes-validate); the compose file through the compose
specification (compose-spec).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fnmatch
import json
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.config import Config, load_config
from service.edges.http import Health, HttpServer
from service.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PROM = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
K8S = DEPLOY / "k8s"
DASHBOARD = GRAFANA / "dashboards" / "article-ingest.json"

REQUIRED_ALERTS = {"IngestConsumerLagGrowing", "IngestNoProgress", "IngestDeadLetterRatioHigh",
                   "IngestFetchFailuresHigh", "IngestNotReady", "IngestRestartLoop"}
# Series Prometheus itself adds to every scrape.
SCRAPE_SERIES = {"up"}


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# --- metric names -------------------------------------------------------------------------------

_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "info": ("_info",),
             "histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}


def exported_series() -> set[str]:
    """Every series name a service instance can expose, read from its own registry."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names


_PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                 "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (Grafana variables allowed): identifiers that are not
    functions, keywords, label names or label values."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        word = match.group()
        if word.lower() in _PROMQL_WORDS or expr[match.end():].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def test_metric_name_extraction() -> None:
    expr = ('histogram_quantile(0.99, sum by (stage, le) (rate(a_bucket{job=~"$job"}'
            '[$__rate_interval]))) > 1e3 and on (job, instance) b_info unless c:rec')
    assert metric_names(expr) == {"a_bucket", "b_info", "c:rec"}


# --- Prometheus rules ---------------------------------------------------------------------------

def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool not found: install Debian's `prometheus` package to check the rules")
    return subprocess.run([binary, *args], cwd=PROM, capture_output=True, text=True, timeout=120,
                          check=False)


def rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(PROM / "rules.yml")["groups"] for rule in group["rules"]]


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", "rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", "rules_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_scrape_config() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    assert alerts >= REQUIRED_ALERTS
    firing: set[str] = set()
    silent: set[str] = set()
    for case in load_yaml(PROM / "rules_test.yml")["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    assert alerts - firing == set(), "alerts never seen firing"
    assert alerts - silent == set(), "alerts never seen silent"


def test_alerts_carry_severity_and_summary() -> None:
    for rule in rules():
        if "alert" in rule:
            assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]


def test_rules_use_only_exported_metrics() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    known = exported_series() | recorded | SCRAPE_SERIES
    for rule in rules():
        assert metric_names(rule["expr"]) <= known, rule.get("alert") or rule.get("record")


# --- Grafana ------------------------------------------------------------------------------------

def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def panel_queries() -> list[str]:
    panels = dashboard()["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def test_dashboard_queries_use_only_exported_metrics() -> None:
    queries = panel_queries() + [a["expr"] for a in dashboard()["annotations"]["list"]]
    used = set().union(*(metric_names(q) for q in queries))
    for variable in dashboard()["templating"]["list"]:  # Grafana's label_values(metric, label)
        source = re.fullmatch(r"label_values\((\w+), *\w+\)", variable["definition"])
        assert source is not None, variable["definition"]
        used.add(source[1])
    assert used <= exported_series() | SCRAPE_SERIES
    assert used, "the extractor found no metric at all"


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every panel query, written out as recording rules."""
    exprs = [q.replace("$__rate_interval", "5m").replace("$job", ".+") for q in panel_queries()]
    exprs += [a["expr"].replace("$job", ".+") for a in dashboard()["annotations"]["list"]]
    group = {"name": "dashboard", "rules": [{"record": f"panel:q{i}", "expr": e}
                                            for i, e in enumerate(exprs)]}
    (tmp_path / "dashboard_rules.yml").write_text(yaml.safe_dump({"groups": [group]}))
    result = promtool("check", "rules", str(tmp_path / "dashboard_rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("metric", "grouping"), [
    ("ingest_messages_consumed_total", "topic"),
    ("ingest_records_produced_total", "topic"),
    ("ingest_articles_total", "outcome"),
    ("ingest_consumer_lag", "partition"),
    ("ingest_processing_seconds_bucket", "stage"),
    ("ingest_dead_letters_total", "reason"),
    ("ingest_clusters_active", ""),
])
def test_dashboard_shows(metric: str, grouping: str) -> None:
    assert any(metric in metric_names(q) and grouping in q for q in panel_queries())


def test_dashboard_panels_are_well_formed() -> None:
    panels = dashboard()["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    datasource = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    uid = datasource["datasources"][0]["uid"]
    for panel in panels:
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == uid, panel["title"]


# --- Dockerfile ---------------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    """Every instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    lines = (line.strip() for line in text.splitlines())
    return [(name.upper(), args.strip()) for name, _, args in
            (line.partition(" ") for line in lines if line and not line.startswith("#"))]


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions per build stage (the global ARGs before the first FROM left out)."""
    stages: list[list[tuple[str, str]]] = []
    for instruction, args in dockerfile_instructions():
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, args))
    return stages


def base_image() -> str:
    """The default of the BASE_IMAGE build argument every stage starts from."""
    for instruction, args in dockerfile_instructions():
        if instruction == "FROM":
            break
        if instruction == "ARG" and args.startswith("BASE_IMAGE="):
            return args.partition("=")[2]
    raise AssertionError("no global ARG BASE_IMAGE before the first FROM")


def final_stage(instruction: str) -> list[str]:
    return [args for name, args in dockerfile_stages()[-1] if name == instruction]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in final_stage("ENV"):
        for pair in args.split():
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    assert all(stage[0][1].split()[0] == "${BASE_IMAGE}" for stage in stages)
    assert base_image().startswith("python:3.11-slim")
    user = final_stage("USER")[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0
    assert any("--no-index" in args for args in final_stage("RUN")), "install only built wheels"


def test_the_image_installs_no_broker() -> None:
    """The embedded broker is an extra for laptops and tests; production images go without."""
    installs = [args for args in final_stage("RUN") if "pip install" in args]
    assert installs and all("article-ingest" in args and "[" not in args for args in installs)
    built = [args for name, args in dockerfile_stages()[0] if name == "RUN"]
    assert any(re.search(r"pip wheel .* \.$", args) for args in built)


def test_the_image_ships_the_compiled_core_without_a_compiler() -> None:
    """The build stage compiles (setup.py with ARTICLE_INGEST_COMPILE=1, gcc installed there);
    the runtime stage installs the wheel and no compiler."""
    build = dockerfile_stages()[0]
    assert ("ARG", "ARTICLE_INGEST_COMPILE=1") in build
    assert any("gcc" in args for name, args in build if name == "RUN")
    assert not any("gcc" in args for args in final_stage("RUN"))
    assert any(name == "COPY" and "setup.py" in args.split() for name, args in build)


def test_dockerfile_runs_the_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert json.loads(final_stage("ENTRYPOINT")[-1]) == ["article-ingest"]
    assert "article-ingest" in scripts
    assert json.loads(final_stage("CMD")[-1]) == ["run"]


def test_dockerfile_env_and_port_match_the_config() -> None:
    config = load_config(env=image_env())
    assert config.http.host == "0.0.0.0"
    assert str(config.http.port) in final_stage("EXPOSE")[-1].split()


def test_dockerignore_keeps_what_the_build_copies() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert ".git" in patterns
    copied = [args.split()[:-1] for stage in dockerfile_stages() for name, args in stage
              if name == "COPY" and "--from" not in args]
    for source in (src.rstrip("/") for sources in copied for src in sources):
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not any(fnmatch.fnmatch(source, p) or source.startswith(p.rstrip("/") + "/")
                       for p in patterns), f"{source} is excluded by .dockerignore"


@contextlib.contextmanager
def serving_http() -> Iterator[int]:
    """The service's real HTTP endpoint on a free loopback port, on its own event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = HttpServer("127.0.0.1", 0, Metrics(), Health())
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
        yield server.port
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_healthcheck_command_probes_healthz() -> None:
    args = final_stage("HEALTHCHECK")[-1]
    command = json.loads(args[args.index("CMD") + 3:].strip())
    assert command[0] == "python"
    command[0] = sys.executable
    with serving_http() as port:
        env = {"INGEST_HTTP__PORT": str(port)}
        healthy = subprocess.run(command, env=env, capture_output=True, timeout=30, check=False)
    unhealthy = subprocess.run(command, env=env, capture_output=True, timeout=30, check=False)
    assert healthy.returncode == 0, healthy.stderr
    assert unhealthy.returncode != 0


# --- docker compose -----------------------------------------------------------------------------

def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(DEPLOY / "docker-compose.yml")
    return data


def service_env(name: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose()["services"][name].get("environment", {}).items()}


def test_compose_follows_the_compose_specification() -> None:
    from compose_spec import PyCompose  # the Rust compose-spec parser: rejects unknown keys

    resolved = {k: v for k, v in compose().items() if not k.startswith("x-")}
    PyCompose.from_yaml(yaml.safe_dump(resolved)).validate()


def test_compose_images_are_pinned() -> None:
    services = compose()["services"]
    assert set(services) == {"kafka", "ingest", "crawler", "prometheus", "grafana"}
    expected = {"kafka": "apache/kafka", "prometheus": "prom/prometheus",
                "grafana": "grafana/grafana"}
    for name, repository in expected.items():
        image, _, tag = services[name]["image"].partition(":")
        assert image == repository and tag and tag != "latest", name
    for name in ("ingest", "crawler"):
        build = services[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
        assert services[name]["image"] == services["ingest"]["image"]


def test_compose_kafka_is_a_single_kraft_node_the_service_can_reach() -> None:
    env = service_env("kafka")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    voter_id, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert voter_id == env["KAFKA_NODE_ID"]
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
                     .split(","))
    assert set(listeners) <= set(protocols)
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert listeners[controller].rsplit(":", 1)[1] == voter.rsplit(":", 1)[1]
    advertised = dict(item.split("://") for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    for name in ("ingest", "crawler"):
        bootstrap = load_config(env=service_env(name)).kafka.bootstrap_servers
        assert bootstrap in advertised.values(), name
        assert bootstrap.split(":")[0] in compose()["services"]


def test_compose_service_runs_two_replicas_the_scraper_finds() -> None:
    ingest = compose()["services"]["ingest"]
    assert ingest["deploy"]["replicas"] == 2
    config = load_config(env={**image_env(), **service_env("ingest")})
    assert config.http.host == "0.0.0.0"
    assert str(config.http.port) in ingest["expose"]
    scrape = {job["job_name"]: job for job in load_yaml(PROM / "prometheus.yml")["scrape_configs"]}
    discovery = scrape["article-ingest"]["dns_sd_configs"][0]
    assert discovery["names"] == ["ingest"] and discovery["port"] == config.http.port
    assert ingest["read_only"] is True and "/tmp" in ingest["tmpfs"]
    grace = re.fullmatch(r"(\d+)s", ingest["stop_grace_period"])
    assert grace is not None and int(grace[1]) > config.service.shutdown_grace_s


def test_compose_crawler_replays_samples_shipped_in_the_image() -> None:
    crawler = compose()["services"]["crawler"]
    load_config(env=service_env("crawler"))
    script = " ".join(crawler["command"])
    replay = re.search(r"article-ingest replay (\S+) --topic (\S+)", script)
    assert replay is not None
    path, topic = replay.groups()
    assert topic == Config().topics.raw
    copies = [args.split() for args in final_stage("COPY") if "--from" not in args]
    sources = [ROOT / src / Path(path).relative_to(dst) for src, dst in copies
               if Path(path).is_relative_to(dst)]
    assert sources and all(source.is_file() for source in sources), path
    assert crawler["healthcheck"] == {"disable": True}


def test_compose_mounts_exist_and_wire_prometheus_and_grafana() -> None:
    services = compose()["services"]
    mounts: dict[str, str] = {}
    for service in services.values():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), source
                mounts[target] = source
    config_dir = Path("/etc/prometheus")
    for rule_file in load_yaml(PROM / "prometheus.yml")["rule_files"]:
        assert (DEPLOY / mounts[str(config_dir / rule_file)]).resolve() == PROM / rule_file
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "article-ingest.yml")
    path = provider["providers"][0]["options"]["path"]
    assert (DEPLOY / mounts[path]).resolve() == DASHBOARD.parent
    datasource = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    url = datasource["datasources"][0]["url"]
    assert url == "http://prometheus:9090" and "prometheus" in services


# --- Kubernetes ---------------------------------------------------------------------------------

def manifests() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[doc["kind"]] = doc
    return found


def test_k8s_manifests_match_the_api_schemas() -> None:
    import kubernetes_validate

    built_in = {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
    resources = manifests()
    assert built_in <= resources.keys()
    for kind in built_in:
        kubernetes_validate.validate(resources[kind], "1.29.0", strict=True)


def custom_resource_models() -> dict[str, Any]:
    """Pydantic models generated from the KEDA and Prometheus Operator CRD schemas (offline)."""
    from cloudcoil.models.keda.v1alpha1 import ScaledObject
    from cloudcoil.models.prometheus_operator.v1 import PodMonitor, PrometheusRule

    return {"ScaledObject": ScaledObject, "PodMonitor": PodMonitor,
            "PrometheusRule": PrometheusRule}


def strictly_valid(model: Any, resource: dict[str, Any]) -> bool:
    """Valid against the CRD's schema, and every field known to it (read back unchanged)."""
    parsed = model.model_validate(resource)
    return bool(parsed.model_dump(by_alias=True, exclude_unset=True, mode="json") == resource)


def test_custom_resources_match_their_crd_schemas() -> None:
    resources = manifests()
    for kind, model in custom_resource_models().items():
        assert strictly_valid(model, resources[kind]), f"{kind}: a field its CRD does not know"


def test_crd_schema_checks_catch_mistakes() -> None:
    import pydantic

    models, resources = custom_resource_models(), manifests()
    misspelled = copy.deepcopy(resources["ScaledObject"])
    misspelled["spec"]["scaleTargetReference"] = misspelled["spec"].pop("scaleTargetRef")
    with pytest.raises(pydantic.ValidationError):
        strictly_valid(models["ScaledObject"], misspelled)
    unknown = copy.deepcopy(resources["PodMonitor"])
    unknown["spec"]["podMetricsEndpoints"][0]["scrapeEvery"] = "15s"
    assert not strictly_valid(models["PodMonitor"], unknown)
    bad_duration = copy.deepcopy(resources["PrometheusRule"])
    alert = next(r for g in bad_duration["spec"]["groups"] for r in g["rules"] if "for" in r)
    alert["for"] = "five minutes"
    with pytest.raises(pydantic.ValidationError):
        strictly_valid(models["PrometheusRule"], bad_duration)


def test_prometheusrule_is_generated_from_the_rules() -> None:
    """Kubernetes loads the same alerts as deploy/prometheus/rules.yml: regenerate with
    `python -m tests.prometheusrule` after editing the rules."""
    from tests.prometheusrule import TARGET, render

    assert TARGET.read_text(encoding="utf-8") == render()
    generated = manifests()["PrometheusRule"]["spec"]["groups"]
    assert generated == load_yaml(PROM / "rules.yml")["groups"]


def test_prometheusrule_rules_pass_promtool(tmp_path: Path) -> None:
    groups = tmp_path / "groups.yml"
    groups.write_text(yaml.safe_dump({"groups": manifests()["PrometheusRule"]["spec"]["groups"]}))
    done = promtool("check", "rules", str(groups))
    assert done.returncode == 0, done.stdout + done.stderr


def test_kustomization_lists_every_manifest() -> None:
    listed = set(load_yaml(K8S / "kustomization.yaml")["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def k8s_config() -> Config:
    return load_config(env=manifests()["ConfigMap"]["data"])


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = manifests()["Deployment"]["spec"]["template"]["spec"]
    return spec


def test_k8s_deployment_probes_the_health_endpoints() -> None:
    container = pod_spec()["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == k8s_config().http.port
    assert k8s_config().http.host == "0.0.0.0"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["envFrom"][0]["configMapRef"]["name"] == manifests()["ConfigMap"]["metadata"][
        "name"]


def test_k8s_deployment_is_locked_down_and_bounded() -> None:
    spec = pod_spec()
    container = spec["containers"][0]
    context = container["securityContext"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert str(spec["securityContext"]["runAsUser"]) == final_stage("USER")[-1].split(":")[0]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert {"/tmp"} == {m["mountPath"] for m in container["volumeMounts"]}
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][kind].keys()
    assert spec["terminationGracePeriodSeconds"] > k8s_config().service.shutdown_grace_s


def test_k8s_service_pdb_and_monitor_select_the_pods() -> None:
    resources = manifests()
    labels = resources["Deployment"]["spec"]["template"]["metadata"]["labels"]
    selectors = [resources["Service"]["spec"]["selector"],
                 resources["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
                 resources["PodMonitor"]["spec"]["selector"]["matchLabels"]]
    for selector in selectors:
        assert selector.items() <= labels.items()
    assert resources["Service"]["spec"]["ports"][0]["targetPort"] == "metrics"
    assert resources["PodMonitor"]["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    assert labels[resources["PodMonitor"]["spec"]["jobLabel"]] == "article-ingest"
    pdb = resources["PodDisruptionBudget"]["spec"]
    assert pdb.get("maxUnavailable") == 1 or pdb.get("minAvailable") == 1


def test_k8s_scaler_follows_the_consumer_group() -> None:
    resources = manifests()
    scaler = resources["ScaledObject"]["spec"]
    assert "HorizontalPodAutoscaler" not in resources, "KEDA owns the HPA"
    assert scaler["scaleTargetRef"]["name"] == resources["Deployment"]["metadata"]["name"]
    assert 2 <= scaler["minReplicaCount"] <= scaler["maxReplicaCount"]
    trigger = scaler["triggers"][0]
    assert trigger["type"] == "kafka"
    config = k8s_config()
    assert trigger["metadata"]["bootstrapServers"] == config.kafka.bootstrap_servers
    assert trigger["metadata"]["consumerGroup"] == config.kafka.group_id
    assert trigger["metadata"]["topic"] == config.topics.raw


def test_k8s_rollout_never_needs_a_spare_partition() -> None:
    """A surge pod gets no partition when replicas equal partitions, so it would never be ready."""
    rolling = manifests()["Deployment"]["spec"]["strategy"]["rollingUpdate"]
    assert rolling == {"maxSurge": 0, "maxUnavailable": 1}


# --- memory limits against the measured sizing --------------------------------------------------

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9}


def k8s_quantity_mb(quantity: str) -> float:
    """A Kubernetes memory quantity (``1536Mi``, ``2Gi``, ``2G``) in MiB."""
    for units in (_BINARY, _DECIMAL):
        for suffix, factor in units.items():
            if quantity.endswith(suffix):
                return float(quantity[:-len(suffix)]) * factor / 2**20
    return float(quantity) / 2**20


def compose_bytes_mb(value: str) -> float:
    """A compose byte value (``512M``, ``2g``: binary units, as Docker reads them) in MiB."""
    factors = {"k": 2**10, "m": 2**20, "g": 2**30}
    suffix = value[-1].lower().rstrip("b")
    return float(value[:-1]) * factors[suffix] / 2**20 if suffix in factors else \
        float(value) / 2**20


def sizing() -> dict[str, Any]:
    """deploy/sizing.json, written by `python -m bench.bench_memory --write`."""
    return dict(json.loads((DEPLOY / "sizing.json").read_text()))


def needed_mb(max_articles: int) -> float:
    """The projected peak of a shard owner at that window cap, with the sizing's headroom."""
    figures = sizing()
    peak = figures["base_mb"] + figures["per_100k_articles_mb"] * max_articles / 100_000
    return float(peak * figures["headroom"])


def test_sizing_data_is_current() -> None:
    """Measured at the default window cap, and its projection follows its own formula."""
    figures = sizing()
    assert figures["max_articles"] == Config().stories.max_articles
    assert figures["headroom"] >= 1.25
    assert figures["projected_peak_mb"] == pytest.approx(
        figures["base_mb"] + figures["per_100k_articles_mb"] * figures["max_articles"] / 100_000,
        abs=1)
    assert len(figures["points"]) >= 3 and figures["command"].startswith("python -m bench.")


def test_k8s_memory_limit_covers_the_measured_peak() -> None:
    """A pod that owns a shard must not be killed before its window reaches its cap."""
    configured = k8s_config().stories.max_articles
    resources = pod_spec()["containers"][0]["resources"]
    assert k8s_quantity_mb(resources["limits"]["memory"]) >= needed_mb(configured)
    request = k8s_quantity_mb(resources["requests"]["memory"])
    assert request >= needed_mb(configured) / sizing()["headroom"], "request the projected peak"


def test_compose_memory_limit_covers_the_measured_peak() -> None:
    configured = load_config(env=service_env("ingest")).stories.max_articles
    limit = compose()["services"]["ingest"]["deploy"]["resources"]["limits"]["memory"]
    assert compose_bytes_mb(str(limit)) >= needed_mb(configured)


def test_quantity_parsers() -> None:
    assert k8s_quantity_mb("1Gi") == 1024 and k8s_quantity_mb("2G") == pytest.approx(1907.3, 0.01)
    assert compose_bytes_mb("512M") == 512 and compose_bytes_mb("2g") == 2048
