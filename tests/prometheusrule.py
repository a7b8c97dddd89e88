"""deploy/k8s/prometheusrule.yaml, generated from deploy/prometheus/rules.yml so the two cannot
drift: `python -m tests.prometheusrule` rewrites it (tests/test_deploy.py checks it is current)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
TARGET = ROOT / "deploy" / "k8s" / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/rules.yml by `python -m tests.prometheusrule`: edit the rules
# there and regenerate. The Prometheus Operator loads these alerts and recording rules; its
# Prometheus must select this object (ruleSelector / ruleNamespaceSelector), as it selects the
# PodMonitor.
"""


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as literal blocks, as they are written in rules.yml."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def render() -> str:
    groups: list[dict[str, Any]] = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "article-ingest",
                     "labels": {"app.kubernetes.io/name": "article-ingest"}},
        "spec": {"groups": groups},
    }
    body = yaml.dump(resource, Dumper=_Dumper, sort_keys=False, width=100,
                     default_flow_style=False, allow_unicode=True)
    return HEADER + body


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
