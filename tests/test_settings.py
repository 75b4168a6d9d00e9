"""Settings come from the environment; misconfiguration stops start-up with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(
        ("S3_", "DATABASE_URL", "CELERY_", "DEBUG", "PUBLIC_BASE_URL", "FFMPEG_", "MEDIA_", "SECRET_KEY", "TRUSTED_")
    )
}


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**CLEAN_ENV, "MEDIA_HUB_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_embedded_defaults_pass_the_checks_and_create_a_secret_key(tmp_path: Path) -> None:
    result = manage(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and len(key_file.read_text()) > 40
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    first = key_file.read_text()
    manage(tmp_path, "check")
    assert key_file.read_text() == first


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s"}, "S3 is half-configured"),
        ({"S3_BUCKET": "media", "S3_ACCESS_KEY_ID": "k"}, "S3_SECRET_ACCESS_KEY is missing"),
        ({"S3_BUCKET": "media", "S3_ENDPOINT_URL": "localhost:8333"}, "S3_ENDPOINT_URL must be an http(s) URL"),
        ({"FFMPEG_BINARY": "/nonexistent/ffmpeg"}, "is not an executable file"),
        ({"MEDIA_MAX_WIDTH": "0"}, "MEDIA_MAX_WIDTH must be greater than 0"),
    ],
)
def test_system_checks_catch_misconfiguration(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"PUBLIC_BASE_URL": "news.example.com"}, "PUBLIC_BASE_URL must be an absolute http(s) URL"),
        ({"MEDIA_MAX_UPLOAD_BYTES": "lots"}, "MEDIA_MAX_UPLOAD_BYTES must be an integer"),
    ],
)
def test_bad_values_fail_at_import_with_the_variable_named(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_s3_settings_select_the_s3_backend(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.STORAGES['default']['BACKEND'])"
    result = manage(
        tmp_path,
        "shell",
        "-c",
        code,
        S3_BUCKET="media",
        S3_ENDPOINT_URL="http://127.0.0.1:8333",
        S3_ACCESS_KEY_ID="k",
        S3_SECRET_ACCESS_KEY="s",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "storages.backends.s3.S3Storage"


def test_database_url_selects_postgresql(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = manage(tmp_path, "shell", "-c", code, DATABASE_URL="postgres://postgres@127.0.0.1:5432/media_hub",
                    SECRET_KEY="k" * 40)  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "django.db.backends.postgresql"


PG = "postgres://postgres@127.0.0.1:5432/media_hub"


def test_a_shared_deployment_requires_a_secret_key(tmp_path: Path) -> None:
    # Without it, each web machine would invent its own key (sessions, CSRF and signed URLs break across them).
    result = manage(tmp_path, "check", DATABASE_URL=PG)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) is required when DATABASE_URL is set" in result.stderr
    assert not (tmp_path / "secret_key").exists()
    assert "at least 32 characters" in manage(tmp_path, "check", DATABASE_URL=PG, SECRET_KEY="short").stderr


def test_secret_key_file_is_read(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("f" * 50 + "\n")
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    result = manage(tmp_path, "shell", "-c", code, DATABASE_URL=PG, SECRET_KEY_FILE=str(key))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "f" * 50


def test_postgresql_uses_a_bounded_pool_and_no_persistent_connections(tmp_path: Path) -> None:
    code = "from django.conf import settings; d = settings.DATABASES['default']; print(d['CONN_MAX_AGE'], d['OPTIONS'])"
    result = manage(tmp_path, "shell", "-c", code, DATABASE_URL=PG, SECRET_KEY="k" * 40, DATABASE_POOL_MAX_SIZE="3")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("0 ") and "'max_size': 3" in line and "'min_size': 0" in line


@pytest.mark.parametrize(
    ("env", "secure", "hsts"),
    [
        ({}, "False", ""),  # no trusted proxy: the header is anyone's to forge
        ({"TRUSTED_PROXIES": "127.0.0.1"}, "True", "max-age=31536000"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8"}, "False", ""),  # the peer (127.0.0.1) is not one of them
    ],
)
def test_https_is_taken_from_trusted_proxies_only_and_gets_hsts(
    tmp_path: Path, env: dict[str, str], secure: str, hsts: str
) -> None:
    code = (
        "from django.test import Client; r = Client(REMOTE_ADDR='127.0.0.1').get('/health/live', "
        "headers={'X-Forwarded-Proto': 'https'}); print(r.wsgi_request.is_secure(), "
        "r.headers.get('Strict-Transport-Security', ''))"
    )
    result = manage(tmp_path, "shell", "-c", code, PUBLIC_BASE_URL="https://media.example.com", **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"{secure} {hsts}".strip()
