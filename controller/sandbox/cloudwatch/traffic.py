"""Invocation traffic the sandbox pretends its endpoints serve: profiles, and the numbers they give.

A stage's analysis reads `AWS/SageMaker` metrics; with no AWS account behind the sandbox, each
serving variant gets a deterministic traffic profile instead: the profile of the model package
version its Model deploys (`versions`, by package ARN or `group/version`), else one set for the
endpoint, else the default. A bad version is a profile with a high error rate or latency, and it
shows wherever that version serves, as production or as a shadow.

Latency follows a log-normal fitted to the profile's p50 and p99, so every statistic CloudWatch
offers (percentiles, Average, Minimum, Maximum) comes out mutually consistent. Noise of a few
percent is drawn from a generator seeded by (seed, endpoint, variant, metric, period start):
the same query always answers the same numbers.

`time_scale` compresses time: a real second holds `time_scale` seconds of traffic, so an analysis
with a 2-second interval in a test sees as many invocations as two minutes would bring.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

NOISE = 0.03
"""Relative noise on every synthesised value."""
_Z99 = NormalDist().inv_cdf(0.99)
MAX_TIME_SCALE = 3600.0


@dataclass(frozen=True)
class Profile:
    """How a variant's traffic looks."""

    invocations_per_minute: float = 600.0
    error4xx_rate: float = 0.002
    error5xx_rate: float = 0.001
    model_error_rate: float = 0.0
    model_latency_ms: tuple[float, float] = (40.0, 120.0)
    """(p50, p99)."""
    overhead_latency_ms: tuple[float, float] = (3.0, 10.0)

    @classmethod
    def parse(cls, raw: Any, where: str) -> Profile:
        """A profile from its JSON/YAML form (camelCase keys); ValueError naming `where`."""
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: a profile is a mapping, got {type(raw).__name__}")
        known = {
            "invocationsPerMinute",
            "error4xxRate",
            "error5xxRate",
            "modelErrorRate",
            "modelLatencyMs",
            "overheadLatencyMs",
        }
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
        default = cls()
        rate = _number(raw, "invocationsPerMinute", default.invocations_per_minute, where, 0, 1e7)
        rates = [
            _number(raw, key, value, where, 0, 1)
            for key, value in (
                ("error4xxRate", default.error4xx_rate),
                ("error5xxRate", default.error5xx_rate),
                ("modelErrorRate", default.model_error_rate),
            )
        ]
        model = _latency(
            raw.get("modelLatencyMs"), default.model_latency_ms, f"{where}.modelLatencyMs"
        )
        overhead = _latency(
            raw.get("overheadLatencyMs"), default.overhead_latency_ms, f"{where}.overheadLatencyMs"
        )
        return cls(rate, rates[0], rates[1], rates[2], model, overhead)

    def as_json(self) -> dict[str, Any]:
        return {
            "invocationsPerMinute": self.invocations_per_minute,
            "error4xxRate": self.error4xx_rate,
            "error5xxRate": self.error5xx_rate,
            "modelErrorRate": self.model_error_rate,
            "modelLatencyMs": {"p50": self.model_latency_ms[0], "p99": self.model_latency_ms[1]},
            "overheadLatencyMs": {
                "p50": self.overhead_latency_ms[0],
                "p99": self.overhead_latency_ms[1],
            },
        }


def _number(
    raw: dict[str, Any], key: str, default: float, where: str, low: float, high: float
) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}.{key}: expected a number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{where}.{key}: must be from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _latency(raw: Any, default: tuple[float, float], where: str) -> tuple[float, float]:
    if raw is None:
        return default
    if not isinstance(raw, dict) or set(raw) - {"p50", "p99"}:
        raise ValueError(f"{where}: expected {{p50: MS, p99: MS}}")
    p50 = _number(raw, "p50", default[0], where, 0.001, 3.6e6)
    p99 = _number(raw, "p99", default[1], where, 0.001, 3.6e6)
    if p99 < p50:
        raise ValueError(f"{where}: p99 {p99:g} is below p50 {p50:g}")
    return p50, p99


@dataclass
class TrafficSettings:
    """The sandbox's traffic: time scale, seed, and profiles (shared, under the app lock)."""

    time_scale: float = 1.0
    seed: int = 0
    versions: dict[str, Profile] = field(default_factory=dict)
    """By model package ARN (lower case) or `group/version`."""
    endpoints: dict[tuple[str, str, str], Profile] = field(default_factory=dict)
    """By (account, region, lower-cased endpoint name)."""
    default: Profile = field(default_factory=Profile)

    def profile(self, account: str, region: str, endpoint: str, package_arn: str | None) -> Profile:
        if package_arn:
            arn = package_arn.lower()
            short = "/".join(arn.rsplit("/", 2)[-2:])  # group/version
            found = self.versions.get(arn) or self.versions.get(short)
            if found is not None:
                return found
        return self.endpoints.get((account, region, endpoint.lower()), self.default)

    def as_json(self) -> dict[str, Any]:
        return {
            "timeScale": self.time_scale,
            "seed": self.seed,
            "versions": {k: p.as_json() for k, p in sorted(self.versions.items())},
            "endpoints": {
                f"{a}/{r}/{n}": p.as_json() for (a, r, n), p in sorted(self.endpoints.items())
            },
        }

    def update(self, changes: Any, account: str, region: str) -> None:
        """Apply a control-route body; ValueError (and no change) when any part is invalid."""
        if not isinstance(changes, dict):
            raise ValueError("body must be a JSON object")
        unknown = sorted(
            set(changes) - {"timeScale", "seed", "versions", "endpoints", "account", "region"}
        )
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        account = str(changes.get("account", account))
        region = str(changes.get("region", region))
        scale = _number(changes, "timeScale", self.time_scale, "metrics", 0.001, MAX_TIME_SCALE)
        seed = changes.get("seed", self.seed)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"metrics.seed: expected an integer, got {seed!r}")
        versions = {
            str(key).lower(): Profile.parse(raw, f"versions[{key!r}]")
            for key, raw in _mapping(changes, "versions").items()
        }
        endpoints = {
            (account, region, str(key).lower()): Profile.parse(raw, f"endpoints[{key!r}]")
            for key, raw in _mapping(changes, "endpoints").items()
        }
        self.time_scale, self.seed = scale, seed
        for key in versions:
            if not key.startswith("arn:"):  # group/version replaces the same version by ARN
                for arn in [k for k in self.versions if k.endswith(f":model-package/{key}")]:
                    del self.versions[arn]
        self.versions.update(versions)
        self.endpoints.update(endpoints)


def _mapping(changes: dict[str, Any], key: str) -> dict[str, Any]:
    value = changes.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected a mapping")
    return value


def noise(seed: int, *parts: object) -> float:
    """A factor in [1 - NOISE, 1 + NOISE], the same for the same parts."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return 1.0 + NOISE * (2.0 * random.Random(digest).random() - 1.0)


def latency_statistic(p50: float, p99: float, statistic: str, samples: int) -> float:
    """A statistic of `samples` draws of the log-normal with this p50 and p99 (same unit)."""
    mu = math.log(p50)
    sigma = max(0.0, (math.log(p99) - mu) / _Z99)
    if statistic.startswith("p"):
        quantile = float(statistic[1:]) / 100.0
        quantile = min(max(quantile, 1e-6), 1 - 1e-6)
        return math.exp(mu + sigma * NormalDist().inv_cdf(quantile))
    if statistic == "Average":
        return math.exp(mu + sigma * sigma / 2.0)
    extreme = NormalDist().inv_cdf(1.0 - 1.0 / (2.0 * max(1, samples)))
    if statistic == "Maximum":
        return math.exp(mu + sigma * extreme)
    if statistic == "Minimum":
        return math.exp(mu - sigma * extreme)
    if statistic == "Sum":
        return math.exp(mu + sigma * sigma / 2.0) * samples
    if statistic == "SampleCount":
        return float(samples)
    raise ValueError(f"unsupported statistic {statistic}")
