"""The README's Production runbook, run as written.

The commands are read out of README.md (its ``sh`` blocks and its process table), so the test and the runbook
cannot drift apart: a fresh copy of the code, ``uv sync --locked --no-dev``, migrate, setup_storage (the bucket
does not exist yet), collectstatic, create_producer; then the four process types against PostgreSQL, Redis and
SeaweedFS, and a producer's upload through gunicorn to a processed episode in the feed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from PIL import Image

from tests.conftest import SeaweedFS, free_port, need
from tests.stack.procs import ROOT, redis_broker_url, wait_for

PROCESS_ROWS = ("web", "media worker", "control worker", "beat")
UNITS = {
    "web": "media-hub-web.service",
    "media worker": "media-hub-worker-media.service",
    "control worker": "media-hub-worker-control.service",
    "beat": "media-hub-beat.service",
}


def production_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Production")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def runbook_commands(section: str) -> list[str]:
    """Every line of the section's ```sh blocks (not ```sh systemd: those need a real systemd), in order."""
    commands = []
    for block in re.findall(r"^[ \t]*```sh\n(.*?)^[ \t]*```", section, flags=re.M | re.S):
        commands += [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    return commands


def process_commands(section: str) -> dict[str, str]:
    rows = dict(re.findall(r"^\| ([a-z ]+) \| `([^`]+)` \|", section, flags=re.M))
    return {name: rows[name] for name in PROCESS_ROWS}


def test_the_units_run_the_readme_commands_and_restart() -> None:
    section = production_section()
    processes = process_commands(section)
    assert processes["media worker"].endswith("--queues media --concurrency 2")
    assert processes["control worker"].endswith("--queues control,default --concurrency 2")
    for name, unit in UNITS.items():
        text = (ROOT / "deploy" / "systemd" / unit).read_text()
        [exec_start] = re.findall(r"^ExecStart=(.*)$", text, flags=re.M)
        assert exec_start == f"/opt/media-hub/{processes[name]}", unit
        assert re.search(r"^Restart=always$", text, flags=re.M), unit
        assert re.search(r"^StartLimitIntervalSec=0$", text, flags=re.M), unit
        assert "EnvironmentFile=/etc/media-hub/media-hub.env" in text
        assert unit.removesuffix(".service") in section, f"the runbook does not start {unit}"
    assert (ROOT / "deploy" / "media-hub.env.example").exists()
    steps = runbook_commands(section)
    assert steps[0] == "uv sync --locked --no-dev"
    assert any("collectstatic" in s for s in steps) and any("setup_storage" in s for s in steps)


# --- the whole runbook on the real services --------------------------------------------------------------------


def _admin_db(settings: Any) -> Any:
    import psycopg

    db = settings.DATABASES["default"]
    return psycopg.connect(host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 5432), user=db["USER"] or "postgres",
                           dbname="postgres", autocommit=True)  # fmt: skip


@pytest.fixture
def runbook_db(settings: Any) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for the runbook (its migrate step starts from nothing)."""
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        need("PostgreSQL", "the runbook is the production stack (DATABASE_URL=postgres://…)")
    name = f"{db['NAME'].removeprefix('test_')}_runbook_{os.getpid()}"
    with _admin_db(settings) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    with _admin_db(settings) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_copy(target: Path) -> Path:
    """The repository's files (tracked and new, not ignored), as a deploy would check them out."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def http(method: str, url: str, body: Any = None, token: str = "", raw: bytes | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.s3
def test_the_production_runbook_works_as_written(
    settings: Any, runbook_db: str, seaweedfs: SeaweedFS, speech_wav: Path, tmp_path: Path
) -> None:
    broker = redis_broker_url()
    import redis

    redis.Redis.from_url(broker).delete("media", "default", "control", "unacked", "unacked_index")
    section = production_section()
    app = fresh_copy(tmp_path / "app")
    var = tmp_path / "var"
    port = free_port()
    bucket = f"runbook-{uuid.uuid4().hex[:10]}"  # not created: setup_storage must do it
    skip = ("DATABASE_URL", "CELERY_", "S3_", "MEDIA_", "SECRET_KEY", "VIRTUAL_ENV", "DJANGO_", "PUBLIC_BASE_URL",
            "PYTHONPATH", "PORT", "TRUSTED_PROXIES", "LOG_LEVEL", "PROMETHEUS_")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(seaweedfs.env(bucket))
    env.update({
        "DATABASE_URL": runbook_db, "CELERY_BROKER_URL": broker, "SECRET_KEY": secrets.token_urlsafe(50),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "MEDIA_HUB_VAR_DIR": str(var),
        "MEDIA_WORK_DIR": str(var / "work"), "PORT": str(port),
    })  # fmt: skip

    # 1-5: the one-shot steps, exactly as the README writes them.
    outputs: dict[str, str] = {}
    for command in runbook_commands(section):
        done = subprocess.run(["bash", "-c", command], cwd=app, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command!r} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        outputs[command] = done.stdout
    producer = next(c for c in outputs if "create_producer" in c and "--show " in c)
    token = outputs[producer].strip().splitlines()[-1]
    slug = re.search(r"--show (\S+)", producer).group(1)  # type: ignore[union-attr]
    assert [r["ID"] for r in seaweedfs.client().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]] == [
        "media-hub-abort-incomplete-multipart-uploads"
    ]

    # 6: the four processes, with the commands of the README's table.
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: tmp_path / f"{name.replace(' ', '-')}.log" for name in PROCESS_ROWS}
    base = f"http://127.0.0.1:{port}"
    try:
        for name, command in process_commands(section).items():
            with logs[name].open("wb") as log:
                procs[name] = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=app, env=env, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

        def log_of(name: str) -> str:
            return logs[name].read_text(errors="replace")

        def up() -> bool:
            for name, proc in procs.items():
                assert proc.poll() is None, f"{name} exited:\n{log_of(name)[-3000:]}"
            try:
                return http("GET", f"{base}/health/live")[0] == 200
            except OSError:
                return False  # not listening yet

        wait_for(up, 90, lambda: f"gunicorn on {base}:\n{log_of('web')[-3000:]}")
        # collectstatic made the admin's CSS servable by the web processes.
        assert http("GET", f"{base}/static/admin/css/base.css")[0] == 200
        # An over-long URL gets the API's JSON 414 from Django, not gunicorn's HTML page.
        status, body = http("GET", f"{base}/api/v1/articles/media?url=" + "%D1%8F" * 2000)
        assert status == 414 and json.loads(body)["error"]["code"] == "uri_too_long"

        # A producer with the printed token: create an episode, upload its audio (straight to S3), publish.
        status, body = http("POST", f"{base}/api/v1/shows/{slug}/episodes", {"title": "Runbook", "slug": "runbook"},
                            token)  # fmt: skip
        assert status == 201, body
        episode = json.loads(body)["id"]
        data = speech_wav.read_bytes()
        status, body = http("POST", f"{base}/api/v1/uploads", {
            "type": "episode", "id": episode, "filename": "runbook.wav", "byte_size": len(data),
            "part_size": 5 * 1024 * 1024, "sha256": hashlib.sha256(data).hexdigest(), "content_type": "audio/wav",
        }, token)  # fmt: skip
        assert status == 201, body
        upload = json.loads(body)
        assert upload["backend"] == "s3"
        assert http("PUT", upload["part_urls"]["1"], raw=data)[0] == 200
        status, body = http("POST", f"{base}/api/v1/uploads/{upload['id']}/complete", {}, token)
        assert status == 200, body

        def processed() -> bool:
            state = json.loads(http("GET", f"{base}/api/v1/episodes/{episode}/processing", token=token)[1])
            assert state["status"] != "failed", state
            return bool(state["status"] == "ready")

        wait_for(processed, 240, lambda: f"processing:\n{log_of('media worker')[-3000:]}")
        # A show created by create_producer lacks what podcast directories require: publishing says what.
        status, body = http("POST", f"{base}/api/v1/episodes/{episode}/publish", {}, token)
        assert status == 422, body
        fields = json.loads(body)["error"]["fields"]
        assert "show.categories" in fields and "show.artwork" in fields, fields
        # The producer fills it in (metadata, then cover art as the request body), and publishes.
        show = {"author": "Newsroom", "owner_email": "podcasts@example.com", "categories": [["News"]],
                "language": "en"}  # fmt: skip
        status, body = http("PATCH", f"{base}/api/v1/shows/{slug}", show, token)
        assert status == 200, body
        cover = io.BytesIO()
        Image.new("RGB", (1400, 1400), (20, 60, 140)).save(cover, "JPEG")
        status, body = http("PUT", f"{base}/api/v1/shows/{slug}/artwork", token=token, raw=cover.getvalue())
        assert status == 200, body
        status, body = http("POST", f"{base}/api/v1/episodes/{episode}/publish", {}, token)
        assert status == 200, body
        status, body = http("GET", f"{base}/feeds/{slug}.xml")
        assert status == 200, body
        [entry] = feedparser.parse(body).entries
        [enclosure] = [link for link in entry.links if link.get("rel") == "enclosure"]
        assert enclosure.href.startswith(f"{base}/d/e/{episode}/")
        redirect = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as found:
            redirect.open(enclosure.href, timeout=30)
        assert found.value.code == 302
        location = found.value.headers["Location"]
        assert location.startswith(f"{seaweedfs.endpoint_url}/{bucket}/")
        with urllib.request.urlopen(location, timeout=30) as media:  # noqa: S310 - our loopback S3
            assert media.status == 200 and len(media.read()) == int(enclosure.length)

        # The job's log lines reach the worker's output at INFO without any --loglevel flag.
        job_lines = [json.loads(line) for line in log_of("media worker").splitlines() if line.startswith("{")]
        assert any(line.get("message") == "job succeeded" for line in job_lines), log_of("media worker")[-3000:]
        # Beat keeps its schedule file where the README says.
        assert (var / "celerybeat-schedule").exists() or list(var.glob("celerybeat-schedule*"))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in procs.values():
            try:
                proc.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
