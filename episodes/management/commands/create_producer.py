"""``manage.py create_producer olena --show ukraine-insights``: a producer and an API token (printed once).

``--show-title "Ukraine Insights"`` creates the show when it does not exist yet (a fresh installation);
``--cms`` instead creates the CMS integration's account (article records and their full media order).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from episodes.models import Show
from episodes.services.content import show_create
from episodes.services.errors import DomainError
from episodes.services.producers import cms_integration_create, producer_create


class Command(BaseCommand):
    help = "Create (or reuse) a user, make them a producer of a show (or the CMS integration), print a new API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--show", metavar="SLUG", help="the show they produce")
        group.add_argument("--cms", action="store_true", help="the CMS integration instead of a producer")
        parser.add_argument("--show-title", help="create the show with this title if it does not exist")
        parser.add_argument("--token-name", default="api", help="a label for the token (default: api)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["cms"]:
                user, raw = cms_integration_create(username=options["username"], token_name=options["token_name"])
                self.stderr.write(f"{user.username}: CMS integration (articles and their media order)")
            else:
                show = self._show(options["show"], options["show_title"])
                user, raw = producer_create(username=options["username"], show=show,
                                            token_name=options["token_name"])  # fmt: skip
                self.stderr.write(f"{user.username}: producer of {show.slug}")
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write("API token (shown once; send it as 'Authorization: Bearer <token>'):")
        self.stdout.write(raw)

    def _show(self, slug: str, title: str | None) -> Show:
        show = Show.objects.filter(slug=slug).first()
        if show is not None:
            return show
        if not title:
            raise CommandError(f"No show {slug!r}; pass --show-title to create it.")
        show = show_create(title=title, slug=slug, description=title)
        self.stderr.write(f"show {slug}: created")
        return show
