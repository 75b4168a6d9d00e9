"""The Podcast Taxonomy (groups and roles of ``podcast:person``), shipped as data in episodes/data.

Usage::

    from episodes.taxonomy import canonical_credit, CreditError

    canonical_credit("cast", "host")                    # ("Cast", "Host"): the taxonomy's own spelling
    canonical_credit("visuals", "cover art designer")   # ("Visuals", "Cover Art Designer")
    canonical_credit("crew", "host")                    # CreditError: "crew" is not a group of the taxonomy

The namespace says both attributes are case-insensitive; we store and emit the taxonomy's spelling. A role
belongs to a group ("Editor" is in Writing and in Video Post-Production), so a pair is checked, not each alone.
Refresh the data from the podcast-namespace repository's ``taxonomy.json`` (CC0)::

    python -m episodes.taxonomy path/to/taxonomy.json <commit>
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "podcast_taxonomy.json"
SOURCE = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/taxonomy.json"


class CreditError(ValueError):
    """A group or role outside the taxonomy; ``field`` is "group" or "role"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@cache
def groups() -> dict[str, tuple[str, ...]]:
    """Group → its roles, in the taxonomy's spelling and order."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))["groups"]
    return {group: tuple(roles) for group, roles in raw.items()}


@cache
def _lookup() -> dict[str, tuple[str, dict[str, str]]]:
    return {g.casefold(): (g, {r.casefold(): r for r in roles}) for g, roles in groups().items()}


def groups_of(role: str) -> list[str]:
    """The groups a role (any case) belongs to."""
    key = role.strip().casefold()
    return [group for group, roles in _lookup().values() if key in roles]


def canonical_credit(group: str | None, role: str | None) -> tuple[str, str]:
    """(group, role) in the taxonomy's spelling; blank means the namespace's default (Cast, Host)."""
    group_name = (group or "").strip() or "Cast"
    role_name = (role or "").strip() or "Host"
    found = _lookup().get(group_name.casefold())
    if found is None:
        raise CreditError(
            "group",
            f"“{group_name}” is not a group of the Podcast Taxonomy; use one of: {', '.join(groups())}.",
        )
    canonical_group, roles = found
    canonical_role = roles.get(role_name.casefold())
    if canonical_role is None:
        elsewhere = groups_of(role_name)
        if elsewhere:
            raise CreditError(
                "role",
                f"“{role_name}” is a role of the group {' or '.join(f'“{g}”' for g in elsewhere)}, "
                f"not “{canonical_group}”.",
            )
        raise CreditError(
            "role",
            f"“{role_name}” is not a role of the Podcast Taxonomy; the group “{canonical_group}” has: "
            f"{', '.join(groups()[canonical_group])}.",
        )
    return canonical_group, canonical_role


def refresh(source: Path, commit: str) -> None:
    """Rewrite episodes/data/podcast_taxonomy.json from the namespace's taxonomy.json."""
    pairs: dict[str, list[str]] = {}
    for entry in json.loads(source.read_text(encoding="utf-8")):
        pairs.setdefault(entry["group"], []).append(entry["role"])
    current = json.loads(DATA.read_text(encoding="utf-8"))
    current.update(source=SOURCE, commit=commit, groups=pairs)
    DATA.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    refresh(Path(sys.argv[1]), sys.argv[2])
