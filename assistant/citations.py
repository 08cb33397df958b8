"""The one place that knows the [n] marker syntax; every generator, face and metric uses it."""

from __future__ import annotations

import re

MARKER = re.compile(r"\s?\[(\d{1,3})\]")


def markers(text: str) -> list[int]:
    """Marker numbers in order of appearance, e.g. 'a [1] b [2][1]' -> [1, 2, 1]."""
    return [int(m) for m in MARKER.findall(text)]


def strip_markers(text: str) -> str:
    """Text without [n] markers (for history, scoring and prompts)."""
    return MARKER.sub("", text).strip()


def format_marker(n: int) -> str:
    return f"[{n}]"
