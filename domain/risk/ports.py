"""The port an external risk service implements (a fraud-scoring API, a chargeback
network), beside the built-in rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.risk.rules import RiskFacts, RiskReason


class RiskProvider(Protocol):
    """Scores what is known of an order before it is written.

    Called by ``domain.application.place`` before the order's transaction opens (no
    database locks are held while it answers); its reasons are added to those of the
    built-in rules and held against the same threshold. An adapter bounds its own time and
    raises ``RiskUnavailable`` when it cannot answer: the order is then scored by the
    built-in rules alone, with a reason saying the provider did not answer.
    """

    name: str

    async def assess(self, facts: RiskFacts) -> Sequence[RiskReason]: ...


class RiskUnavailable(Exception):
    """The provider did not answer in time, or answered something unreadable."""
