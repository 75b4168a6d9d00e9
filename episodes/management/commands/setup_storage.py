"""``manage.py setup_storage``: create the bucket and its lifecycle rule if needed; ``--check`` only checks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from episodes.services.bucket import BucketProblem, storage_bucket_ensure


class Command(BaseCommand):
    help = "Check the media bucket (exists, writable, aborts unfinished multipart uploads) and fix what is missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is missing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = storage_bucket_ensure(create=not options["check"])
        except BucketProblem as exc:
            raise CommandError(str(exc)) from exc
        for line in report:
            self.stdout.write(line)
