"""Prompt templates: files in prompts/ with strict $variables, checked when they load."""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError


@dataclass(frozen=True)
class Prompt:
    """One template file and the exact variables it takes."""

    name: str
    path: Path
    template: string.Template
    variables: frozenset[str]

    def render(self, **values) -> str:
        """The text with every variable filled; a missing or extra value is an error."""
        given = set(values)
        if given != self.variables:
            raise ConfigError(_mismatch(self.name, self.path, self.variables, given, "were given"))
        # Values are inserted verbatim, never re-parsed: a "$x" inside an article stays text.
        return self.template.substitute({k: str(v) for k, v in values.items()})


def load_prompt(name: str, variables: set[str] | frozenset[str], prompts_dir: Path) -> Prompt:
    """Load prompts_dir/<name>.txt; its $variables must be exactly `variables`."""
    return _load(name, frozenset(variables), Path(prompts_dir))


@functools.lru_cache(maxsize=64)
def _load(name: str, variables: frozenset[str], prompts_dir: Path) -> Prompt:
    path = prompts_dir / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Prompt template {path} cannot be read ({exc.strerror}). Restore it "
                          "from the repository or point ASSISTANT_PROMPTS_DIR at a folder "
                          f"holding {name}.txt.") from None
    template = string.Template(text)
    if not template.is_valid():
        raise ConfigError(f"Prompt template {path} has a malformed placeholder; use $name or "
                          "${name} for variables and $$ for a literal dollar sign.")
    found = set(template.get_identifiers())
    if found != variables:
        raise ConfigError(_mismatch(name, path, variables, found, "are in the file"))
    return Prompt(name, path, template, variables)


def _mismatch(name: str, path: Path, required: frozenset[str], given: set[str], verb: str) -> str:
    missing, unknown = sorted(required - given), sorted(given - required)
    parts = []
    if missing:
        parts.append(f"missing {', '.join('$' + m for m in missing)}")
    if unknown:
        parts.append(f"unknown {', '.join('$' + u for u in unknown)}")
    return (f"Prompt {name!r} ({path}): {'; '.join(parts)}. Required: "
            f"{', '.join('$' + r for r in sorted(required)) or 'none'}; {verb}: "
            f"{', '.join('$' + g for g in sorted(given)) or 'none'}. Edit the template to use "
            "exactly the required variables.")
