"""Prometheus metrics of one relay process (own registry: several apps per test run)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class RelayMetrics:
    """Counters and latency histograms for inbound and outbound messages."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "cockpit_inbound_messages", "Inbound webhooks by result.", ["result"],
            registry=self.registry,
        )  # fmt: skip
        self.inbound_latency = Histogram(
            "cockpit_inbound_ack_seconds", "Time to acknowledge an inbound webhook.",
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.outbound = Counter(
            "cockpit_outbound_messages", "Outbound send attempts by result.", ["result"],
            registry=self.registry,
        )  # fmt: skip
        self.outbound_latency = Histogram(
            "cockpit_outbound_send_seconds", "Time of one call to the provider's send API.",
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.status_callbacks = Counter(
            "cockpit_status_callbacks", "Status callbacks by status.", ["status"],
            registry=self.registry,
        )  # fmt: skip

        self.github = Counter(
            "cockpit_github_webhooks", "GitHub webhook deliveries by result.", ["result"],
            registry=self.registry,
        )  # fmt: skip

    def render(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
