"""Fault and timing knobs: one global set plus partial per-provider overrides.

Knobs are set at start (defaults < environment < command line) and changed at runtime through
`POST /_sandbox/config`. `reset()` brings back the start values. Handlers read the effective
values of their provider through `KnobStore.effective(provider)`, which is cached, so the hot
path costs one dictionary lookup.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sandbox import PROVIDERS


@dataclass(frozen=True, slots=True)
class Knobs:
    latency_ms: float = 0.0
    """Added to every answer of the provider (faults included)."""
    error_rate: float = 0.0
    """Fraction of requests answered 500 or 503 in the vendor's error shape."""
    rate_limit_per_second: float = 0.0
    """Token bucket per provider (burst = one second of tokens); 0 means unlimited."""
    http429_rate: float = 0.0
    """Fraction of requests answered with a deliberate 429 (vendor shape, `Retry-After: 1`)."""
    malformed_rate: float = 0.0
    """Fraction of requests answered 200 with a truncated, invalid JSON body."""
    icypeas_delay_ms: float = 3000.0
    """Time from `POST /api/email-search` to the final status."""
    icypeas_reads_per_minute: int = 30
    """Icypeas result reads allowed per key in any 60 s window (0 = unlimited)."""
    icypeas_min_read_interval_ms: float = 0.0
    """Optional minimum spacing between two reads of the same search id (Icypeas asks for 3 s)."""
    parallel_delay_ms: float = 2000.0
    """Time from `POST /v1/tasks/runs` to `completed`."""
    reoon_power_latency_ms: float = 2000.0
    """Extra latency of a Reoon `mode=power` verification."""
    reoon_max_concurrency: int = 5
    """Concurrent Reoon verifications per key before 429 (0 = unlimited)."""


KNOB_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Knobs))
_KNOB_TYPES: dict[str, type] = {f.name: (int if f.type in ("int", int) else float) for f in fields(Knobs)}
_FRACTIONS = {"error_rate", "http429_rate", "malformed_rate"}


class KnobError(ValueError):
    """A knob name or value that the sandbox refuses."""


def coerce(name: str, value: Any) -> float | int:
    """Validates one knob value (numbers or numeric strings) and returns it with the knob's type."""
    if name not in _KNOB_TYPES:
        raise KnobError(f"unknown knob {name!r}; known: {', '.join(KNOB_NAMES)}")
    if isinstance(value, bool) or value is None:
        raise KnobError(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise KnobError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(number) or math.isinf(number) or number < 0:
        raise KnobError(f"{name} must be a finite number >= 0")
    if name in _FRACTIONS and number > 1:
        raise KnobError(f"{name} is a fraction between 0 and 1")
    if _KNOB_TYPES[name] is int:
        if number != int(number):
            raise KnobError(f"{name} must be a whole number")
        return int(number)
    return number


class KnobStore:
    """Global knobs, per-provider overrides, and the start values that `reset()` restores."""

    def __init__(self, start: Knobs | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._start_global = start or Knobs()
        self._start_overrides: dict[str, dict[str, float | int]] = {}
        for provider, values in (overrides or {}).items():
            _check_provider(provider)
            self._start_overrides[provider] = {k: coerce(k, v) for k, v in values.items()}
        self._global = self._start_global
        self._overrides: dict[str, dict[str, float | int]] = {}
        self._cache: dict[str, Knobs] = {}
        self.reset()

    def reset(self) -> None:
        self._global = self._start_global
        self._overrides = {p: dict(v) for p, v in self._start_overrides.items()}
        self._cache.clear()

    def effective(self, provider: str) -> Knobs:
        knobs = self._cache.get(provider)
        if knobs is None:
            knobs = replace(self._global, **self._overrides.get(provider, {}))
            self._cache[provider] = knobs
        return knobs

    def update(self, provider: str | None, values: Mapping[str, Any]) -> None:
        """Partial update. For a provider, a value of None removes that override."""
        if provider is None:
            clean = {k: coerce(k, v) for k, v in values.items()}
            self._global = replace(self._global, **clean)
        else:
            _check_provider(provider)
            current = dict(self._overrides.get(provider, {}))
            for name, value in values.items():
                if value is None:
                    if name not in _KNOB_TYPES:
                        raise KnobError(f"unknown knob {name!r}")
                    current.pop(name, None)
                else:
                    current[name] = coerce(name, value)
            self._overrides[provider] = current
        self._cache.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "global": dataclasses.asdict(self._global),
            "overrides": {p: dict(v) for p, v in self._overrides.items() if v},
            "effective": {p: dataclasses.asdict(self.effective(p)) for p in PROVIDERS},
        }


def _check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise KnobError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")


def from_environment(environ: Mapping[str, str]) -> tuple[dict[str, float | int], dict[str, dict[str, float | int]]]:
    """Reads `SANDBOX_<KNOB>` (global) and `SANDBOX_<PROVIDER>_<KNOB>` (override) variables.

    An exact knob name wins, so `SANDBOX_ICYPEAS_DELAY_MS` is the global knob `icypeas_delay_ms`
    while `SANDBOX_ICYPEAS_LATENCY_MS` is the `latency_ms` override of icypeas.
    `SANDBOX_RATE_LIMIT` is accepted as a short name for `rate_limit_per_second`.
    """
    global_values: dict[str, float | int] = {}
    overrides: dict[str, dict[str, float | int]] = {}
    for key, raw in environ.items():
        if not key.startswith("SANDBOX_") or raw == "":
            continue
        name = key[len("SANDBOX_") :].lower()
        if name == "rate_limit":
            name = "rate_limit_per_second"
        if name in _KNOB_TYPES:
            global_values[name] = coerce(name, raw)
            continue
        for provider in PROVIDERS:
            prefix = provider + "_"
            if name.startswith(prefix) and name[len(prefix) :] in _KNOB_TYPES:
                knob = name[len(prefix) :]
                overrides.setdefault(provider, {})[knob] = coerce(knob, raw)
                break
    return global_values, overrides


def parse_assignment(text: str) -> tuple[str | None, str, float | int]:
    """`provider.knob=value` or `knob=value` (from `--set`)."""
    target, sep, raw = text.partition("=")
    if not sep:
        raise KnobError(f"expected [provider.]knob=value, got {text!r}")
    provider, dot, knob = target.strip().partition(".")
    if not dot:
        provider, knob = "", provider
    knob = knob.strip()
    if provider:
        _check_provider(provider)
    return (provider or None), knob, coerce(knob, raw.strip())
