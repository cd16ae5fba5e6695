"""Prometheus metrics in the text exposition format (version 0.0.4), without a global registry.

Three kinds of instrument, each owning its samples: :class:`Counter` (only
goes up), :class:`Gauge` (set to a value) and :class:`Histogram` (cumulative
buckets, ``_sum`` and ``_count``). A :class:`Registry` renders the instruments
it holds plus any *collected* families, computed at scrape time from the
store's statistics, into one text document.

Rendering is pure: the same instruments and the same snapshot give the same
text, so tests compare text rather than parse it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

__all__ = [
    "CONTENT_TYPE",
    "Counter",
    "Family",
    "Gauge",
    "Histogram",
    "Registry",
    "Sample",
    "render_families",
]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

Kind = Literal["counter", "gauge", "histogram"]
Labels = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """One line of a family: a name suffix (``""``, ``"_bucket"``...), labels and a value."""

    suffix: str
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family: every sample of one metric name, with its help text and type."""

    name: str
    kind: Kind
    help: str
    samples: tuple[Sample, ...]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render_families(families: Iterable[Family]) -> str:
    """Return families as Prometheus text, each with its ``# HELP`` and ``# TYPE`` lines."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for sample in family.samples:
            labels = ""
            if sample.labels:
                inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sample.labels)
                labels = "{" + inner + "}"
            lines.append(f"{family.name}{sample.suffix}{labels} {_number(sample.value)}")
    return "\n".join(lines) + "\n" if lines else ""


class _Instrument:
    kind: Kind

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names: Labels = tuple(label_names)

    def _key(self, labels: Sequence[str]) -> Labels:
        if len(labels) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {tuple(labels)}")
        return tuple(labels)

    def _pairs(
        self, key: Labels, extra: tuple[tuple[str, str], ...] = ()
    ) -> tuple[tuple[str, str], ...]:
        return tuple(zip(self.label_names, key, strict=True)) + extra

    def family(self) -> Family:
        """The instrument's samples as a family."""
        raise NotImplementedError


class Counter(_Instrument):
    """A monotonically increasing count per label combination."""

    kind: Kind = "counter"

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, label_names)
        self._values: dict[Labels, float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        """Add ``amount`` (>= 0) to the count of these label values."""
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        """The current count of these label values (0 if never incremented)."""
        return self._values.get(self._key(labels), 0.0)

    def family(self) -> Family:
        samples = tuple(Sample("", self._pairs(k), v) for k, v in sorted(self._values.items()))
        return Family(self.name, self.kind, self.help, samples)


class Gauge(_Instrument):
    """A value that goes up and down, per label combination."""

    kind: Kind = "gauge"

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, label_names)
        self._values: dict[Labels, float] = {}

    def set(self, value: float, *labels: str) -> None:
        """Set the value of these label values."""
        self._values[self._key(labels)] = value

    def add(self, amount: float, *labels: str) -> None:
        """Add ``amount`` (may be negative) to the value of these label values."""
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        """The current value of these label values (0 if never set)."""
        return self._values.get(self._key(labels), 0.0)

    def family(self) -> Family:
        samples = tuple(Sample("", self._pairs(k), v) for k, v in sorted(self._values.items()))
        return Family(self.name, self.kind, self.help, samples)


class Histogram(_Instrument):
    """Observations counted into cumulative ``le`` buckets, per label combination."""

    kind: Kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        buckets: Sequence[float],
        label_names: Sequence[str] = (),
    ) -> None:
        super().__init__(name, help_text, label_names)
        bounds = sorted(set(buckets))
        if not bounds or any(math.isinf(b) or math.isnan(b) for b in bounds):
            raise ValueError("a histogram needs finite bucket bounds")
        self.buckets: tuple[float, ...] = tuple(bounds)
        self._counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = {}

    def observe(self, value: float, *labels: str) -> None:
        """Count one observation."""
        key = self._key(labels)
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0] * (len(self.buckets) + 1)
            self._sums[key] = 0.0
        index = len(self.buckets)
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                index = i
                break
        counts[index] += 1
        self._sums[key] += value

    def count(self, *labels: str) -> int:
        """How many observations these label values have."""
        return sum(self._counts.get(self._key(labels), ()))

    def family(self) -> Family:
        samples: list[Sample] = []
        for key in sorted(self._counts):
            counts = self._counts[key]
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = (("le", _number(bound)),)
                samples.append(Sample("_bucket", self._pairs(key, le), running))
            samples.append(Sample("_sum", self._pairs(key), self._sums[key]))
            samples.append(Sample("_count", self._pairs(key), running))
        return Family(self.name, self.kind, self.help, tuple(samples))


Collector = Callable[[], Iterable[Family]]
_InstrumentT = TypeVar("_InstrumentT", bound=_Instrument)


class Registry:
    """The instruments and collectors one ``/metrics`` page shows, in registration order."""

    def __init__(self) -> None:
        self._instruments: list[_Instrument] = []
        self._collectors: list[Collector] = []

    def counter(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> Counter:
        """Create and register a counter."""
        return self._add(Counter(name, help_text, label_names))

    def gauge(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> Gauge:
        """Create and register a gauge."""
        return self._add(Gauge(name, help_text, label_names))

    def histogram(
        self,
        name: str,
        help_text: str,
        buckets: Sequence[float],
        label_names: Sequence[str] = (),
    ) -> Histogram:
        """Create and register a histogram."""
        return self._add(Histogram(name, help_text, buckets, label_names))

    def collect(self, collector: Collector) -> None:
        """Register a function whose families are computed at every scrape."""
        self._collectors.append(collector)

    def _add(self, instrument: _InstrumentT) -> _InstrumentT:
        if any(i.name == instrument.name for i in self._instruments):
            raise ValueError(f"metric {instrument.name!r} is already registered")
        self._instruments.append(instrument)
        return instrument

    def render(self) -> str:
        """The whole page: instruments first, then collected families."""
        families = [i.family() for i in self._instruments]
        for collector in self._collectors:
            families.extend(collector())
        return render_families(families)
