"""Dotted paths into JSON, as FreshRSS writes them: `data.items`, `meta.title`, `links[1]`,
`tags[*].name`. Indexes count from 0 (as in JavaScript); `[-1]` is the last element; `[*]`
takes every element, and then the path gives a list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# One step is a key, an index, or None for [*].
Step = str | int | None

_PART = re.compile(r"([^.\[\]]*)((?:\[(?:-?[0-9]{1,9}|\*)\])*)")
_BRACKET = re.compile(r"\[(-?[0-9]{1,9}|\*)\]")
MAX_STEPS = 64


@dataclass(frozen=True, slots=True)
class Path:
    text: str
    steps: tuple[Step, ...]

    @property
    def many(self) -> bool:
        """True when a `[*]` makes the path give a list of values."""
        return None in self.steps


@lru_cache(maxsize=512)  # readers look each key's path up once per item
def parse_path(text: str) -> Path:
    """A dotted path, or ValueError saying what is wrong with it."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("a dotted path such as `data.items`, not an empty string")
    steps: list[Step] = []
    for part in stripped.split("."):
        match = _PART.fullmatch(part)
        if match is None or not part:
            raise ValueError(
                f"a dotted path such as `data.items[0].title` or `tags[*].name`, not {text!r}"
            )
        name, brackets = match.groups()
        if name:
            steps.append(name.strip())
        for index in _BRACKET.findall(brackets):
            steps.append(None if index == "*" else int(index))
    if len(steps) > MAX_STEPS:
        raise ValueError(f"a path of at most {MAX_STEPS} steps, not {len(steps)}")
    return Path(stripped, tuple(steps))


def evaluate(path: Path, data: Any) -> Any:
    """The value at ``path`` (None when it leads nowhere), or the list of values when the path
    has a `[*]`. Never raises: a path that does not fit the document gives nothing."""
    values = [data]
    for step in path.steps:
        values = [child for value in values for child in _children(value, step)]
        if not values:
            break
    if path.many:
        return values
    return values[0] if values else None


def _children(value: Any, step: Step) -> list[Any]:
    if step is None:
        if isinstance(value, list):
            return value
        return list(value.values()) if isinstance(value, dict) else []
    if isinstance(step, int):
        return [value[step]] if isinstance(value, list) and -len(value) <= step < len(value) else []
    if isinstance(value, dict):
        return [value[step]] if step in value else []
    if (
        isinstance(value, list) and step.isascii() and step.isdigit()
    ):  # `items.0.title`, as some tools write it
        return [value[int(step)]] if len(step) < 10 and int(step) < len(value) else []
    return []
