"""User-Agent → bot, app and platform, for download counting and the charts, from the industry's maintained list.

>>> classify("Overcast/3.0 (+http://overcast.fm/; iOS podcast app)").name
'Overcast'
>>> is_bot("python-httpx/0.27.0")
True

Order (first match wins, so the result is deterministic):
1. our own bot additions (``additions.json`` beside this file: scripted HTTP clients, feed checkers and crawler
   words the list does not name as bots), kept apart from the list so a refresh never drops them;
2. the OPAWG list (feeds.user_agents.opawg: v2 from ``USER_AGENTS_DIR`` when ``manage.py refresh_user_agents`` put
   it there, else the v1 list shipped on PyPI);
3. our own app additions; then "Other browser" for an unknown ``Mozilla/…`` and "Other" for the rest.
An empty User-Agent is a bot. Results are cached per User-Agent string; a refreshed list is picked up within
RELOAD_SECONDS by every process.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from feeds.user_agents.opawg import Entry, Rules, load_rules, own_entries

ADDITIONS = Path(__file__).with_name("additions.json")
RELOAD_SECONDS = 60
STAMP = "refreshed.json"  # written last by refresh_user_agents: its change means a new list


@dataclass(frozen=True)
class Agent:
    kind: str  # "bot", "app", "library" (a player framework, e.g. AppleCoreMedia, ExoPlayer), "browser", "unknown"
    name: str  # what the charts show
    platform: str  # "" when unknown

    @property
    def bot(self) -> bool:
        return self.kind == "bot"


@dataclass(frozen=True)
class _Loaded:
    rules: Rules
    own_bots: tuple[Entry, ...]
    own_apps: tuple[Entry, ...]
    stamp: float


_lock = threading.Lock()
_state: dict[str, object] = {"loaded": None, "checked": 0.0}


def _folder() -> Path | None:
    configured = getattr(settings, "USER_AGENTS_DIR", "")
    return Path(configured) if configured else None


def _stamp(folder: Path | None) -> float:
    try:
        return (folder / STAMP).stat().st_mtime if folder is not None else 0.0
    except OSError:
        return 0.0


def _load() -> _Loaded:
    folder = _folder()
    own = own_entries(json.loads(ADDITIONS.read_text(encoding="utf-8")))
    return _Loaded(load_rules(folder), tuple(own["bots"]), tuple(own["apps"]), _stamp(folder))


def loaded() -> _Loaded:
    """The rules in force; re-read when the refresh stamp changed (checked at most every RELOAD_SECONDS)."""
    now = time.monotonic()
    current = _state["loaded"]
    if isinstance(current, _Loaded) and now - float(_state["checked"]) < RELOAD_SECONDS:  # type: ignore[arg-type]
        return current
    with _lock:
        current = _state["loaded"]
        if not isinstance(current, _Loaded) or _stamp(_folder()) != current.stamp:
            current = _load()
            _state["loaded"] = current
            _classify.cache_clear()
        _state["checked"] = now
        return current


def reset() -> None:
    """Forget the loaded rules (tests and the refresh command)."""
    with _lock:
        _state["loaded"] = None
        _classify.cache_clear()


@lru_cache(maxsize=8192)
def _classify(user_agent: str) -> Agent:
    rules = loaded()
    if not user_agent.strip():
        return Agent("bot", "Empty User-Agent", "")
    for entry in rules.own_bots:
        if entry.pattern.search(user_agent):
            return Agent("bot", entry.name, "")
    found = rules.rules.match(user_agent)
    if found is not None:
        return Agent(found.kind, found.name, found.platform if found.kind != "bot" else "")
    for entry in rules.own_apps:
        if entry.pattern.search(user_agent):
            return Agent("app", entry.name, rules.rules.platform(user_agent))
    platform = rules.rules.platform(user_agent)
    if user_agent.startswith("Mozilla/"):
        return Agent("browser", "Other browser", platform)
    return Agent("unknown", "Other", platform)


def classify(user_agent: str) -> Agent:
    """What sent a request: bot or not, the app's name and the platform (newlines are never part of a match)."""
    loaded()  # a changed list clears the cache before the lookup
    return _classify(user_agent.replace("\r", " ").replace("\n", " ")[:1024])


def is_bot(user_agent: str) -> bool:
    """Tell whether a request comes from a crawler or a script (an empty User-Agent counts as one)."""
    return classify(user_agent).bot


def app_name(user_agent: str) -> str:
    """Name the app behind a User-Agent; "Other browser" for unknown Mozilla-likes, else "Other"."""
    return classify(user_agent).name
