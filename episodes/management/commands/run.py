"""``manage.py run``: migrate, then serve the web app (gunicorn + WhiteNoise) and a Celery worker together.

This is the embedded default's one command; on the production stack run the three process types separately
(see README). Ctrl-C (or SIGTERM) stops both children cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

STOP_TIMEOUT_SECONDS = 20


class Command(BaseCommand):
    help = "Run Media Hub: web server and background worker together (migrates first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--worker-concurrency", type=int, default=1)
        parser.add_argument("--demo", action="store_true", help="Create a demo show with generated media.")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        env = os.environ.copy()
        env["DJANGO_SETTINGS_MODULE"] = "media_hub.settings"
        if not os.environ.get("PUBLIC_BASE_URL"):
            env["PUBLIC_BASE_URL"] = f"http://{'127.0.0.1' if host in {'0.0.0.0', '::'} else host}:{port}"  # noqa: S104
        # Children read the same var/ (and so the same secret key) as this process.
        env["MEDIA_HUB_VAR_DIR"] = str(settings.VAR_DIR)

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            (settings.CELERY_BROKER_DIR / "processed").mkdir(parents=True, exist_ok=True)
        call_command("check", fail_level="ERROR")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write("Database migrated, static files collected.")

        demo_show = None
        if options["demo"]:
            from episodes.services.demo import demo_seed

            self.stdout.write("Generating the demo episode and explainer video…")
            demo_show = demo_seed()
            self.stdout.write(f"Demo show “{demo_show.title}”: its media is being processed by the worker.")

        children = self._start(env, host, port, options)
        if demo_show is not None:
            self._publish_demo_in_background(demo_show)
        base = env["PUBLIC_BASE_URL"]
        self.stdout.write(
            "\nMedia Hub is running.\n"
            f"  Admin:     {base}/admin/   (create a user: uv run python manage.py createsuperuser)\n"
            f"  API docs:  {base}/api/docs\n"
            f"  Feeds:     {base}/feeds/<show-slug>.xml\n"
            f"  Health:    {base}/health/ready\n"
            "Press Ctrl-C to stop.\n"
        )
        self.stdout.flush()
        exit_code = self._supervise(children)
        if exit_code:
            raise CommandError(f"A Media Hub process stopped unexpectedly (exit code {exit_code}).")

    def _start(
        self, env: dict[str, str], host: str, port: int, options: dict[str, Any]
    ) -> list[subprocess.Popen[bytes]]:
        web = [
            sys.executable, "-m", "gunicorn", "media_hub.wsgi:application",
            "--bind", f"{host}:{port}",
            "--workers", str(options["web_workers"]),
            "--threads", "4",
            "--limit-request-line", "0",  # long URLs reach Django, which answers a JSON 414 (UrlLengthMiddleware)
            "--timeout", "120",
            "--graceful-timeout", "10",
            "--access-logfile", "-",
        ]  # fmt: skip
        worker = [
            sys.executable, "-m", "celery", "-A", "media_hub", "worker",
            "--queues", "control,default,media",
            "--concurrency", str(options["worker_concurrency"]),
            "--loglevel", "INFO",
            # The embedded default runs the periodic sweeper and scheduled publishing inside the worker.
            "--beat", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
            "--hostname", f"embedded@{os.uname().nodename}",
        ]  # fmt: skip
        # Own sessions: a terminal's Ctrl-C reaches only this supervisor, which stops the children in order.
        return [
            subprocess.Popen(web, env=env, start_new_session=True),
            subprocess.Popen(worker, env=env, start_new_session=True),
        ]

    def _publish_demo_in_background(self, show: Any) -> None:
        """Publish the demo items once processed, so the feed and API show them without a click."""
        from django.db import connection

        from episodes.services.demo import demo_publish_when_ready

        def work() -> None:
            try:
                for title in demo_publish_when_ready(show=show):
                    self.stdout.write(f"Demo: published “{title}”.")
            finally:
                connection.close()

        threading.Thread(target=work, name="demo-publisher", daemon=True).start()

    def _supervise(self, children: list[subprocess.Popen[bytes]]) -> int:
        stopping = False

        def request_stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        exit_code = 0
        try:
            while not stopping:
                for child in children:
                    code = child.poll()
                    if code is not None:
                        exit_code = code or 1
                        stopping = True
                time.sleep(0.2)
        finally:
            self.stdout.write("Stopping Media Hub…")
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stdout.write("Stopped.")
        return exit_code
