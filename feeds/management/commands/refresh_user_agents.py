"""Fetch OPAWG's user-agents-v2 list into USER_AGENTS_DIR, check it, and swap it in.

    python manage.py refresh_user_agents                          # from OPAWG's repository on GitHub
    python manage.py refresh_user_agents --source /path/to/user-agents-v2/src
    python manage.py refresh_user_agents --source https://mirror.example.org/user-agents-v2/src/

A list is used only when every file is JSON of the list's shape, every pattern compiles, and every example in it
resolves to its own entry by the list's deterministic algorithm (OPAWG's own test). Otherwise the command fails
and the list in use stays. Every web process picks the new list up within a minute.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from feeds import user_agents
from feeds.user_agents.opawg import V2_FILES, InvalidList, parse_v2

DEFAULT_SOURCE = "https://raw.githubusercontent.com/opawg/user-agents-v2/master/src/"
MAX_BYTES = 8 * 1024 * 1024
TIMEOUT_SECONDS = 30


def _read(source: str, name: str) -> bytes:
    """One file of the list, from a folder or an http(s) base URL, at most MAX_BYTES."""
    if urlsplit(source).scheme in {"http", "https"}:
        url = urljoin(source if source.endswith("/") else source + "/", name)
        request = urllib.request.Request(url, headers={"User-Agent": "media-hub refresh_user_agents"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - scheme checked
            body: bytes = response.read(MAX_BYTES + 1)
    else:
        body = (Path(source) / name).read_bytes()[: MAX_BYTES + 1]
    if len(body) > MAX_BYTES:
        raise CommandError(f"{name} is larger than {MAX_BYTES} bytes")
    return body


class Command(BaseCommand):
    help = "Fetch the OPAWG user-agents-v2 list into USER_AGENTS_DIR after checking it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", default=DEFAULT_SOURCE, help="the list's src/ folder: a path or http(s) URL")

    def handle(self, *args: Any, source: str, **options: Any) -> None:
        files: dict[str, Any] = {}
        raw: dict[str, bytes] = {}
        try:
            for name in V2_FILES:
                raw[name] = _read(source, f"{name}.json")
                files[name] = json.loads(raw[name])
        except (OSError, ValueError) as exc:
            raise CommandError(f"Could not read the list from {source}: {exc}") from exc
        try:
            rules = parse_v2(files, source=source)
        except InvalidList as exc:
            raise CommandError(f"The list from {source} was not installed: {exc}") from exc
        try:
            licence = _read(source, "../LICENSE")  # the list's licence sits beside its src/ folder
        except (OSError, CommandError):
            licence = f"The licence file was not found beside {source}; OPAWG publishes the list under MIT.\n".encode()

        target = Path(settings.USER_AGENTS_DIR)
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target) as staging:
            for name, body in [*((f"{n}.json", raw[n]) for n in V2_FILES), ("LICENSE", licence)]:
                (Path(staging) / name).write_bytes(body)
            for name in [*(f"{n}.json" for n in V2_FILES), "LICENSE"]:
                os.replace(Path(staging) / name, target / name)
        stamp = {"source": source, "refreshed_at": timezone.now().isoformat(), "entries": len(rules.entries)}
        (target / user_agents.STAMP).write_text(json.dumps(stamp), encoding="utf-8")  # last: processes reload on it
        user_agents.reset()
        self.stdout.write(f"Installed {len(rules.entries)} entries and {len(rules.devices)} devices into {target}")
