"""Complaints per 1,000 units delivered, with a Wilson score interval.

A count of complaints says little until it is divided by what was delivered: five
complaints on 40 units is a worse defect than twenty on 50,000. Each complaining person is
one trial's success among the units delivered (a unit is complained about or not), so
the Wilson score interval for a proportion gives how sure the rate is, even for small
counts where the normal approximation fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PER = 1000
Z95 = 1.959964


@dataclass(frozen=True)
class Rate:
    """`complaints` out of `units`, per 1,000 units, with its 95% interval."""

    complaints: int
    units: int
    per_1000: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {
            "complaints": self.complaints,
            "units": self.units,
            "per_1000": _round(self.per_1000),
            "interval": [_round(self.low), _round(self.high)],
        }


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (successes capped at trials)."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    k = min(max(successes, 0), trials)
    p = k / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(complaints: int, units: int) -> Rate:
    """Complaints per 1,000 units; unknown (None) without units delivered."""
    if units <= 0:
        return Rate(complaints, 0, None, None, None)
    low, high = wilson(complaints, units)
    return Rate(complaints, units, complaints / units * PER, low * PER, high * PER)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
