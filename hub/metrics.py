"""Prometheus metrics of one hub process, served as text at ``/metrics``.

Each app gets its own registry, so several apps in one test process do not collide.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.requests = Counter(
            "hub_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.messages = Counter(
            "hub_messages_received_total",
            "Customer messages stored",
            ["channel_type"],
            registry=self.registry,
        )
        self.operator_sockets = Gauge(
            "hub_operator_sockets", "Open operator WebSockets", registry=self.registry
        )
        self.commit_batches = Gauge(
            "hub_commit_batches", "Group commits since start", registry=self.registry
        )
        self.commit_units = Gauge(
            "hub_commit_units", "Writes committed since start", registry=self.registry
        )
        self.lead_intake_decided = Gauge(
            "hub_lead_intake_decided",
            "New conversations the lead intake of this process has decided since start",
            registry=self.registry,
        )
        self.routing_assigned = Gauge(
            "hub_routing_assigned",
            "Conversations automatic assignment in this process has assigned since start",
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # labels() costs a lock and a lookup; keep the children
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
