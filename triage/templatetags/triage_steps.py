"""Template filters for analyses of steps the dashboard has no dedicated view of
(a step added as one file under workers/nlp/steps): read through the contract."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from workers import contract

register = template.Library()


@register.filter
def other_steps(analyses: Iterable[Any]) -> list[Any]:
    """The analyses whose step is not one of the built-in steps."""
    return [a for a in analyses if a.step not in contract.STEP_LABELS]


@register.filter
def describe_result(result: object) -> str:
    return contract.describe_result(result)
