"""The Grafana dashboard queries only metrics Atelier exports."""

import json
import re
from pathlib import Path

from jobs.observability import PROVIDER_ERRORS, PROVIDER_SECONDS, STORAGE_ERRORS

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-atelier.json"
WEB = {
    "atelier_jobs",
    "atelier_spend_usd",
    "atelier_provider_calls_in_flight",
    "atelier_images_stored",
    "atelier_queue_depth",
    "atelier_broker_up",
}


def test_every_metric_the_dashboard_queries_is_exported():
    from ops.collectors import AtelierCollector  # noqa: F401 - the names below are its own

    worker = {
        f"{PROVIDER_SECONDS._name}_bucket",
        f"{PROVIDER_ERRORS._name}_total",
        f"{STORAGE_ERRORS._name}_total",
    }
    source = (Path(__file__).resolve().parents[2] / "ops" / "collectors.py").read_text()
    assert all(f'"{name}"' in source for name in WEB)
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\batelier_[a-z_]+", target["expr"])
    }
    assert queried == WEB | worker
