"""The operator's commands from the README's runbook: setup_storage and create_producer."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from episodes.models import Show
from tests.conftest import SeaweedFS, use_s3

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.s3
def test_setup_storage_creates_the_bucket_and_its_lifecycle_rule_and_keeps_other_rules(
    settings: Any, seaweedfs: SeaweedFS
) -> None:
    bucket = f"setup-{uuid.uuid4().hex[:10]}"
    use_s3(settings, seaweedfs, bucket)  # the bucket does not exist (AWS never creates one on first write)
    with pytest.raises(CommandError, match=f"bucket {bucket}: missing"):
        run("setup_storage", "--check")

    report = run("setup_storage")
    assert f"bucket {bucket}: created" in report and f"bucket {bucket}: writable" in report
    assert "aborted after 2 days (rule set)" in report  # UPLOAD_EXPIRY_SECONDS (1 day) + a day
    client = seaweedfs.client()
    client.head_bucket(Bucket=bucket)
    [rule] = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    # The studio's pages may PUT upload parts straight to the bucket and read their ETags (CORS).
    assert f"cors: browsers at {settings.PUBLIC_BASE_URL} may upload parts (rule set)" in report
    [cors] = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert cors["AllowedOrigins"] == [settings.PUBLIC_BASE_URL] and cors["ExposeHeaders"] == ["ETag"]
    assert cors["AllowedMethods"] == ["GET", "HEAD", "PUT"]

    # The operator's own rules survive; ours is not added twice; --check now passes.
    other = {"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}}
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [other]})
    assert "(rule set)" in run("setup_storage")
    rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert sorted(r["ID"] for r in rules) == ["expire-tmp", "media-hub-abort-incomplete-multipart-uploads"]
    report = run("setup_storage", "--check")
    assert f"bucket {bucket}: exists" in report and "(rule present)" in report
    assert "may upload parts (rule present)" in report
    # A new admin host name: --check says the bucket refuses its uploads, and setup_storage adds it.
    settings.S3_UPLOAD_ORIGINS = ["https://studio.example.org/admin/"]
    with pytest.raises(CommandError, match="https://studio.example.org cannot upload parts"):
        run("setup_storage", "--check")
    assert "(rule set)" in run("setup_storage")
    [cors] = client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert sorted(cors["AllowedOrigins"]) == sorted([settings.PUBLIC_BASE_URL, "https://studio.example.org"])
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # the write probe cleaned up


def test_setup_storage_on_local_disk_makes_the_media_folder(settings: Any, tmp_path: Any) -> None:
    settings.S3_BUCKET = ""
    settings.MEDIA_ROOT = tmp_path / "media"
    assert "local disk" in run("setup_storage")
    assert (tmp_path / "media").is_dir()


def test_create_producer_prints_a_token_for_the_show(client: Client) -> None:
    with pytest.raises(CommandError, match="pass --show-title"):
        run("create_producer", "olena", "--show", "ukraine-insights")
    token = run("create_producer", "olena", "--show", "ukraine-insights", "--show-title", "Ukraine Insights").strip()
    assert Show.objects.get(slug="ukraine-insights").title == "Ukraine Insights"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["user"] == "olena" and me.json()["shows"] == ["ukraine-insights"] and not me.json()["is_staff"]
    # Again: the same user, a second valid token (the first still works).
    second = run("create_producer", "olena", "--show", "ukraine-insights", "--token-name", "laptop").strip()
    assert second != token
    for raw in (token, second):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_create_producer_cms_gets_the_article_permission(django_user_model: Any) -> None:
    token = run("create_producer", "cms", "--cms", "--token-name", "cms-sync").strip()
    assert token.startswith("mh_")
    user = django_user_model.objects.get(username="cms")
    assert user.has_perm("episodes.change_article") and not user.is_staff
