"""The Open Podcast Analytics Working Group's user-agent lists, as data: load, check, and match deterministically.

    rules = load_rules(directory)          # OPAWG user-agents-v2 files, else the v1 list shipped on PyPI
    rules.match("Overcast/3.0 (+http://overcast.fm/; iOS podcast app)")   # Match(kind="app", name="Overcast", …)

Two sources, newest first:
- **user-agents-v2** (https://github.com/opawg/user-agents-v2, MIT): ``bots.json``, ``apps.json``,
  ``libraries.json``, ``browsers.json`` and ``devices.json`` in a folder (``USER_AGENTS_DIR``), put there by
  ``manage.py refresh_user_agents``. Matching is the list's own deterministic algorithm: the files in that order,
  the first entry whose pattern is found in the User-Agent; then ``devices.json`` for the platform.
- **user-agents v1** (https://github.com/opawg/user-agents, MIT), packaged on PyPI as ``podcast-app-user-agents``
  (a dependency, so a fresh install has a list without any download): one ordered list whose entries carry
  ``bot``, ``app``, ``os`` and ``device``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

V2_TYPES = ("bots", "apps", "libraries", "browsers")
V2_FILES = (*V2_TYPES, "devices")
KIND_OF_FILE = {"bots": "bot", "apps": "app", "libraries": "library", "browsers": "browser"}
# v1's "os" slugs as people read them in a chart.
V1_PLATFORMS = {
    "ios": "iOS", "ipados": "iPadOS", "android": "Android", "windows": "Windows", "macos": "macOS",
    "macos (other)": "macOS", "linux": "Linux", "chromeos": "ChromeOS", "watchos": "watchOS", "tvos": "tvOS",
    "homepodos": "HomePod", "alexa": "Amazon Alexa", "google_assistant": "Google Assistant", "sonos": "Sonos",
    "roku": "Roku", "kaios": "KaiOS",
}  # fmt: skip


class InvalidList(ValueError):
    """A user-agent list that must not be used (bad JSON shape, a pattern that does not compile, a failing example)."""


@dataclass(frozen=True)
class Entry:
    kind: str  # "bot" | "app" | "library" | "browser" | "device"
    name: str
    pattern: re.Pattern[str]
    platform: str = ""
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    kind: str
    name: str
    platform: str


@dataclass(frozen=True)
class Rules:
    """Ordered entries (first match wins) and the device entries that name a platform."""

    source: str
    entries: tuple[Entry, ...]
    devices: tuple[Entry, ...] = ()

    def match(self, user_agent: str) -> Match | None:
        for entry in self.entries:
            if entry.pattern.search(user_agent):
                return Match(entry.kind, entry.name, entry.platform or self.platform(user_agent))
        return None

    def platform(self, user_agent: str) -> str:
        for device in self.devices:
            if device.pattern.search(user_agent):
                return device.name
        return ""


def _compile(pattern: Any, where: str) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise InvalidList(f"{where}: the pattern must be a non-empty string")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidList(f"{where}: the pattern {pattern!r} does not compile: {exc}") from exc


def _v2_entries(kind: str, data: Any, where: str) -> list[Entry]:
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise InvalidList(f"{where}: expected an object with an 'entries' list")
    entries = []
    for index, raw in enumerate(data["entries"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise InvalidList(f"{where}: entry {index} has no name")
        examples = raw.get("examples", [])
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            raise InvalidList(f"{where}: {raw['name']}: examples must be a list of strings")
        entries.append(Entry(kind, raw["name"], _compile(raw.get("pattern"), f"{where}: {raw['name']}"),
                             examples=tuple(examples)))  # fmt: skip
    return entries


def parse_v2(files: dict[str, Any], *, source: str) -> Rules:
    """Rules from the decoded v2 files (``bots``, ``apps``, ``libraries``, ``browsers``, ``devices``)."""
    missing = [name for name in V2_FILES if name not in files]
    if missing:
        raise InvalidList(f"{source}: missing {', '.join(name + '.json' for name in missing)}")
    ordered = [e for name in V2_TYPES for e in _v2_entries(KIND_OF_FILE[name], files[name], f"{name}.json")]
    devices = _v2_entries("device", files["devices"], "devices.json")
    rules = Rules(source, tuple(ordered), tuple(devices))
    check_examples(rules)
    return rules


def parse_v1(data: Any, *, source: str) -> Rules:
    """Rules from the v1 list (one array; ``bot``, ``app``, ``os`` per entry; several patterns an entry)."""
    if not isinstance(data, list):
        raise InvalidList(f"{source}: expected a list of entries")
    entries = []
    for index, raw in enumerate(data):
        patterns = raw.get("user_agents") if isinstance(raw, dict) else None
        if not isinstance(patterns, list) or not patterns:
            raise InvalidList(f"{source}: entry {index} has no user_agents")
        kind = "bot" if raw.get("bot") else "app" if raw.get("app") else "library"
        # A library entry has no app name: show its pattern's words ("^Lavf/" -> "Lavf").
        name = str(raw.get("app") or re.sub(r"[^A-Za-z0-9 _.-]+", " ", str(patterns[0])).strip(" .") or "Other")
        platform = V1_PLATFORMS.get(str(raw.get("os") or ""), "")
        # One alternation per entry, like v2: the same first-match result as trying the patterns one by one.
        joined = "|".join(f"(?:{p})" for p in patterns)
        entries.append(Entry(kind, name, _compile(joined, f"{source}: entry {index}"), platform))
    return Rules(source, tuple(entries))


def check_examples(rules: Rules) -> None:
    """OPAWG's own test: every example resolves, by the deterministic algorithm, to the entry that lists it."""
    for entry in rules.entries:
        for example in entry.examples:
            found = rules.match(example)
            if found is None or (found.kind, found.name) != (entry.kind, entry.name):
                got = f"{found.kind} {found.name!r}" if found else "nothing"
                raise InvalidList(f"{entry.kind} {entry.name!r}: its example {example!r} matches {got}")


def read_v2_folder(folder: Path) -> dict[str, Any]:
    """The decoded v2 files of a folder (InvalidList when one is missing or is not JSON)."""
    files = {}
    for name in V2_FILES:
        path = folder / f"{name}.json"
        try:
            files[name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InvalidList(f"{path} is missing") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidList(f"{path} is not JSON: {exc}") from exc
    return files


def packaged_v1() -> Rules:
    """The v1 list inside the ``podcast-app-user-agents`` wheel."""
    ref = resources.files("podcast_app_user_agents").joinpath("data/src/user-agents.json")
    return parse_v1(json.loads(ref.read_text(encoding="utf-8")), source="podcast-app-user-agents (OPAWG v1)")


def load_rules(folder: Path | None) -> Rules:
    """v2 from ``folder`` when it holds a complete list, else the packaged v1 list."""
    if folder is not None and (folder / "bots.json").exists():
        return parse_v2(read_v2_folder(folder), source=f"OPAWG user-agents-v2 in {folder}")
    return packaged_v1()


def own_entries(data: Any, kinds: Sequence[str] = ("bots", "apps")) -> dict[str, list[Entry]]:
    """Our additions (feeds/user_agents/additions.json): the v2 entry shape, one list per kind."""
    return {name: _v2_entries(KIND_OF_FILE[name], data.get(name, {"entries": []}), f"additions {name}")
            for name in kinds}  # fmt: skip
