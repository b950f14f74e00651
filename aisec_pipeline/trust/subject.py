"""What a permission is about: one model version, its artifact digest and its risk classification.

Every signed permission names these; it counts only while they are still the model's, so
re-registering a model (new version, new bytes) or editing its harm/reversibility voids the
approvals given before, and nothing approved for one tier carries over to another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..clock import from_the_future
from ..inventory.schema import Level, Strict


class Classification(Strict):
    harm: Level
    reversibility: Level
    tier: str

    def describe(self) -> str:
        return f"tier {self.tier} (harm {self.harm.value}, reversibility {self.reversibility.value})"


@dataclass(frozen=True)
class Subject:
    model: str
    version: str
    digest: str
    classification: Classification

    def mismatch(self, version: str | None, digest: str | None,
                 classification: Classification | None) -> str | None:
        """Why a permission naming these does not cover this subject (None: it does)."""
        if version != self.version:
            return f"it was given for version {version or 'unnamed'}, not {self.version}"
        if digest is not None and digest != self.digest:
            return f"it was given for artifact digest {digest[:12]}, not {self.digest[:12]}"
        if classification != self.classification:
            given = classification.describe() if classification else "no risk classification"
            return (f"it was given for {given}; the model now declares "
                    f"{self.classification.describe()}")
        return None


def future_problem(recorded_at: datetime, now: datetime) -> str | None:
    """Why a record dated `recorded_at` cannot count yet (the one clock rule: clock.py)."""
    problem = from_the_future(recorded_at, now)
    return f"it is {problem}" if problem else None
