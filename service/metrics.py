"""Prometheus text exposition (format 0.0.4), by hand: a few counters and histograms."""

from __future__ import annotations

import threading
from typing import Callable

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# The method label's values. HTTP lets a client send any token as the method, and every new
# value would be 16 new series kept for the server's life: the rest are counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    esc = lambda v: v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')  # noqa: E731
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in pairs) + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple, int] = {}
        self._latency: dict[tuple, list] = {}  # labels -> [bucket counts..., sum, count]
        self._checks: dict[str, int] = {}
        self._builds: dict[str, int] = {}
        self.gauges: dict[str, Callable[[], float]] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        key = (("route", route), ("method", method), ("status", str(status)))
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1
            hist = self._latency.setdefault(key, [0] * len(LATENCY_BUCKETS) + [0.0, 0])
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    hist[i] += 1
            hist[-2] += seconds
            hist[-1] += 1

    def check_done(self, verdict: str) -> None:
        with self._lock:
            self._checks[verdict] = self._checks.get(verdict, 0) + 1

    def build_done(self, status: str) -> None:
        with self._lock:
            self._builds[status] = self._builds.get(status, 0) + 1

    def render(self) -> str:
        out: list[str] = []
        with self._lock:
            out += ["# HELP launchbuild_http_requests_total HTTP requests by route, method and status.",
                    "# TYPE launchbuild_http_requests_total counter"]
            out += [f"launchbuild_http_requests_total{_labels(k)} {v}" for k, v in sorted(self._requests.items())]
            out += ["# HELP launchbuild_http_request_duration_seconds Request latency by route, method and status.",
                    "# TYPE launchbuild_http_request_duration_seconds histogram"]
            for key, hist in sorted(self._latency.items()):
                for bound, count in zip(LATENCY_BUCKETS, hist):
                    out.append(f"launchbuild_http_request_duration_seconds_bucket{_labels(key + (('le', repr(bound)),))} {count}")
                out.append(f"launchbuild_http_request_duration_seconds_bucket{_labels(key + (('le', '+Inf'),))} {hist[-1]}")
                out.append(f"launchbuild_http_request_duration_seconds_sum{_labels(key)} {hist[-2]:.6f}")
                out.append(f"launchbuild_http_request_duration_seconds_count{_labels(key)} {hist[-1]}")
            out += ["# HELP launchbuild_checks_total Checks answered, by verdict.", "# TYPE launchbuild_checks_total counter"]
            out += [f'launchbuild_checks_total{{verdict="{v}"}} {n}' for v, n in sorted(self._checks.items())]
            out += ["# HELP launchbuild_builds_total Builds that ended, by final status.",
                    "# TYPE launchbuild_builds_total counter"]
            out += [f'launchbuild_builds_total{{status="{s}"}} {n}' for s, n in sorted(self._builds.items())]
        for name, read in sorted(self.gauges.items()):
            out += [f"# TYPE {name} gauge", f"{name} {read()}"]
        return "\n".join(out) + "\n"
