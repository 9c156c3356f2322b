"""Figures that live in the database and the broker, read at scrape time.

Read from the source of truth, they are whole however many web and worker processes run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


def metrics_queues() -> list[str]:
    """The default queue and every queue a route names."""
    queues = [settings.CELERY_TASK_DEFAULT_QUEUE]
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    if isinstance(routes, dict):
        for route in routes.values():
            if isinstance(route, dict) and route.get("queue"):
                queues.append(route["queue"])
    return list(dict.fromkeys(queues))


def queue_depths(queues: list[str]) -> dict[str, int]:
    from kombu.exceptions import ChannelError

    from config.celery import app

    depths = {}
    with app.connection_for_read(url=settings.CELERY_BROKER_URL, connect_timeout=3) as conn:
        conn.ensure_connection(max_retries=0)
        channel: Any = conn.default_channel
        for queue in queues:
            try:
                depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except ChannelError:
                depths[queue] = 0  # never declared or empty: nothing waits
                channel = conn.channel()
    return depths


class AtelierCollector(Collector):
    def collect(self):
        from gallery.models import Image
        from jobs.models import GenerationJob

        jobs = GaugeMetricFamily(
            "atelier_jobs", "Generation jobs by state and model.", labels=["state", "model"]
        )
        for row in GenerationJob.objects.values("status", "model").annotate(n=Count("id")):
            jobs.add_metric([row["status"], row["model"]], row["n"])
        yield jobs

        spend = GaugeMetricFamily(
            "atelier_spend_usd",
            "Spend recorded on jobs, in US dollars, by connection and model.",
            labels=["connection", "model"],
        )
        spent = (
            GenerationJob.objects.filter(cost_usd__isnull=False)
            .values("connection", "model")
            .annotate(total=Sum("cost_usd"))
        )
        for row in spent:
            spend.add_metric([row["connection"], row["model"]], float(row["total"]))
        yield spend

        in_flight = GaugeMetricFamily(
            "atelier_provider_calls_in_flight",
            "Provider requests sent and not yet answered, by connection and model.",
            labels=["connection", "model"],
        )
        sent = (
            GenerationJob.objects.filter(
                status=GenerationJob.Status.RUNNING,
                provider_request_sent_at__isnull=False,
                answer__isnull=True,
            )
            .values("connection", "model")
            .annotate(n=Count("id"))
        )
        for row in sent:
            in_flight.add_metric([row["connection"], row["model"]], row["n"])
        yield in_flight

        yield GaugeMetricFamily(
            "atelier_images_stored", "Images in the gallery.", value=Image.objects.count()
        )

        depth = GaugeMetricFamily(
            "atelier_queue_depth", "Messages waiting in each broker queue.", labels=["queue"]
        )
        broker_up = 1
        try:
            for queue, count in queue_depths(metrics_queues()).items():
                depth.add_metric([queue], count)
        except Exception as exc:  # a scrape must still answer when the broker is down
            logger.warning("queue depth unavailable: %s: %s", type(exc).__name__, exc)
            broker_up = 0
        yield depth
        yield GaugeMetricFamily(
            "atelier_broker_up", "1 when the broker answered this scrape.", value=broker_up
        )
