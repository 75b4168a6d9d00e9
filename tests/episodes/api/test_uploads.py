"""The resumable upload protocol (local backend end to end; the S3 branch against a stand-in for now)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from episodes.models import MediaSource, ProcessingJob, Status, UploadPart, UploadSession
from episodes.services import resumable, s3_multipart

pytestmark = pytest.mark.django_db

PART = 4096


@pytest.fixture(autouse=True)
def small_parts(settings: Any) -> None:
    settings.UPLOAD_PART_MIN_BYTES = PART
    settings.UPLOAD_PART_MAX_BYTES = 4 * PART
    settings.MEDIA_MAX_UPLOAD_BYTES = 64 * PART


@pytest.fixture
def payload() -> bytes:
    return os.urandom(2 * PART + 1000)  # three parts: 4096, 4096, 1000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def start(a: Any, episode: Any, data: bytes, **extra: Any) -> dict[str, Any]:
    body = {"type": "episode", "id": episode.pk, "filename": "../Інтерв'ю.wav", "byte_size": len(data),
            "part_size": PART, **extra}  # fmt: skip
    response = a.send("POST", "/uploads", body)
    assert response.status_code == 201, response.content
    return response.json()


def put(a: Any, upload_id: str, n: int, data: bytes, **headers: str) -> Any:
    if not headers:
        headers = {"X-Content-SHA256": sha(data)}
    return a.raw("PUT", f"/uploads/{upload_id}/parts/{n}", data, headers)


def part_of(data: bytes, n: int) -> bytes:
    return data[(n - 1) * PART : n * PART]


def test_upload_in_any_order_then_complete(api: Any, tokens: dict[str, str], episode: Any, payload: bytes,
                                           media_storage: Path) -> None:  # fmt: skip
    a = api(tokens["a"])
    session = start(a, episode, payload, sha256=sha(payload))
    assert (session["backend"], session["part_count"], session["missing_parts"]) == ("local", 3, [1, 2, 3])
    assert session["part_url_template"].endswith(f"/api/v1/uploads/{session['id']}/parts/{{n}}")
    assert put(a, session["id"], 3, part_of(payload, 3)).status_code == 200
    md5 = base64.b64encode(hashlib.md5(part_of(payload, 1)).digest()).decode()  # noqa: S324
    assert put(a, session["id"], 1, part_of(payload, 1), **{"Content-MD5": md5}).status_code == 200
    state = a.get(f"/uploads/{session['id']}").json()
    assert (state["missing_parts"], state["received_bytes"]) == ([2], PART + 1000)
    assert put(a, session["id"], 2, part_of(payload, 2)).status_code == 200
    done = a.send("POST", f"/uploads/{session['id']}/complete", {})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["state"] == "completed" and body["source_id"]
    source = MediaSource.objects.get(pk=body["source_id"])
    assert (source.byte_size, source.sha256, source.original_filename) == (len(payload), sha(payload), "Інтерв'ю.wav")
    assert (media_storage / source.storage_key).read_bytes() == payload
    assert ProcessingJob.objects.filter(source=source, state="queued").exists()
    episode.refresh_from_db()
    assert episode.status == Status.PROCESSING
    assert not resumable.parts_dir(UploadSession.objects.get(pk=body["id"])).exists()
    # Completing again (a retry after a lost response) changes nothing.
    again = a.send("POST", f"/uploads/{session['id']}/complete", {}).json()
    assert again["source_id"] == body["source_id"] and MediaSource.objects.count() == 1


def test_resume_after_an_interrupted_part(api: Any, tokens: dict[str, str], episode: Any, payload: bytes) -> None:
    a = api(tokens["a"])
    session = start(a, episode, payload)
    put(a, session["id"], 1, part_of(payload, 1))
    # The connection drops half-way through part 2: the server sees fewer bytes than Content-Length.
    cut = io.BytesIO(part_of(payload, 2)[:1500])
    dropped = a.client.put(f"/api/v1/uploads/{session['id']}/parts/2", b"", content_type="application/octet-stream",
                           headers={"Authorization": f"Bearer {tokens['a']}",
                                    "X-Content-SHA256": sha(part_of(payload, 2))},
                           **{"wsgi.input": cut, "CONTENT_LENGTH": str(PART)})  # fmt: skip
    assert dropped.status_code == 400 and dropped.json()["error"]["code"] == "incomplete_part"
    state = a.get(f"/uploads/{session['id']}").json()
    assert state["missing_parts"] == [2, 3]
    assert [p.name for p in resumable.parts_dir(UploadSession.objects.get(pk=session["id"])).iterdir()] == [
        "part-00001"]  # fmt: skip
    for n in state["missing_parts"]:
        assert put(a, session["id"], n, part_of(payload, n)).status_code == 200
    done = a.send("POST", f"/uploads/{session['id']}/complete", {"sha256": sha(payload)})
    assert done.status_code == 200 and done.json()["state"] == "completed"


def test_wrong_checksums(api: Any, tokens: dict[str, str], episode: Any, payload: bytes) -> None:
    a = api(tokens["a"])
    session = start(a, episode, payload)
    wrong = put(a, session["id"], 1, part_of(payload, 1), **{"X-Content-SHA256": sha(b"other")})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "checksum_mismatch"
    bad_md5 = base64.b64encode(b"0" * 16).decode()
    assert put(a, session["id"], 1, part_of(payload, 1), **{"Content-MD5": bad_md5}).status_code == 400
    none = put(a, session["id"], 1, part_of(payload, 1), **{"X-Other": "1"})
    assert none.status_code == 422 and "Content-MD5" in none.json()["error"]["fields"]
    assert not UploadPart.objects.exists()
    for n in (1, 2, 3):
        put(a, session["id"], n, part_of(payload, n))
    mismatch = a.send("POST", f"/uploads/{session['id']}/complete", {"sha256": sha(b"not the file")})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == "checksum_mismatch"
    assert not MediaSource.objects.exists()
    assert a.get(f"/uploads/{session['id']}").json()["state"] == "open"  # parts kept; the producer decides


def test_re_sending_a_part_replaces_it(api: Any, tokens: dict[str, str], episode: Any, payload: bytes) -> None:
    a = api(tokens["a"])
    session = start(a, episode, payload)
    put(a, session["id"], 3, b"x" * 1000)
    put(a, session["id"], 3, part_of(payload, 3))
    assert UploadPart.objects.get(number=3).sha256 == sha(part_of(payload, 3))


def test_size_limits(api: Any, tokens: dict[str, str], episode: Any, payload: bytes, settings: Any) -> None:
    a = api(tokens["a"])
    too_big = a.send("POST", "/uploads", {"type": "episode", "id": episode.pk, "filename": "a.wav",
                                          "byte_size": settings.MEDIA_MAX_UPLOAD_BYTES + 1})  # fmt: skip
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_large"
    small = a.send("POST", "/uploads", {"type": "episode", "id": episode.pk, "filename": "a.wav",
                                        "byte_size": 10 * PART, "part_size": 100})  # fmt: skip
    assert small.status_code == 422 and "part_size" in small.json()["error"]["fields"]
    session = start(a, episode, payload)
    assert put(a, session["id"], 1, b"x" * 100).status_code == 422  # not the last part: must be part_size
    assert put(a, session["id"], 3, b"x" * 2000).status_code == 413  # bigger than the last part can be
    assert put(a, session["id"], 4, b"x" * 10).status_code == 422  # no part 4
    assert put(a, session["id"], 1, b"x" * (5 * PART)).status_code == 413  # over UPLOAD_PART_MAX_BYTES
    gap = a.send("POST", f"/uploads/{session['id']}/complete", {})
    assert gap.status_code == 409 and gap.json()["error"]["fields"]["parts"][0] == "Part 1 is missing."


@pytest.mark.parametrize(("size", "words"), [(0, "The file is empty (0 bytes)"), (-5, "the file's length in bytes")])
def test_an_empty_file_is_refused_in_a_producers_words(
    api: Any, tokens: dict[str, str], episode: Any, size: int, words: str
) -> None:
    response = api(tokens["a"]).send("POST", "/uploads", {"type": "episode", "id": episode.pk,
                                                          "filename": "a.wav", "byte_size": size})  # fmt: skip
    assert response.status_code == 422
    error = response.json()["error"]
    assert words in error["message"] and words in error["fields"]["byte_size"][0]
    assert "Input should be" not in str(error)


def test_missing_content_length_is_411(tokens: dict[str, str], episode: Any, users: dict[str, Any]) -> None:
    session = resumable.upload_start(user=users["a"], owner=episode, filename="a.wav", byte_size=10)
    with pytest.raises(resumable.LengthRequired):
        resumable.upload_receive_part(session=session, number=1, stream=io.BytesIO(b"x" * 10), length=None,
                                      sha256_hex=sha(b"x" * 10))  # fmt: skip


def test_abandoned_upload_expires(api: Any, tokens: dict[str, str], episode: Any, payload: bytes) -> None:
    from episodes.tasks import expire_uploads

    a = api(tokens["a"])
    old = start(a, episode, payload)
    put(a, old["id"], 1, part_of(payload, 1))
    fresh = start(a, episode, payload)
    UploadSession.objects.filter(pk=old["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    late = put(a, old["id"], 2, part_of(payload, 2))
    assert late.status_code == 410 and late.json()["error"]["code"] == "upload_gone"
    assert expire_uploads() == 1
    expired = UploadSession.objects.get(pk=old["id"])
    assert expired.state == "expired" and not expired.parts.exists()
    assert not resumable.parts_dir(expired).exists()
    assert UploadSession.objects.get(pk=fresh["id"]).state == "open"
    assert a.send("POST", f"/uploads/{old['id']}/complete", {}).status_code == 410


def test_expiry_task_is_scheduled(settings: Any) -> None:
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "episodes.expire_uploads"]
    assert len(entries) == 1


def test_activity_keeps_an_upload_alive(api: Any, tokens: dict[str, str], episode: Any, payload: bytes) -> None:
    a = api(tokens["a"])
    session = start(a, episode, payload)
    UploadSession.objects.filter(pk=session["id"]).update(expires_at=timezone.now() + timedelta(seconds=5))
    put(a, session["id"], 1, part_of(payload, 1))
    assert UploadSession.objects.get(pk=session["id"]).expires_at > timezone.now() + timedelta(hours=1)


def test_abort(api: Any, tokens: dict[str, str], episode: Any, payload: bytes) -> None:
    a = api(tokens["a"])
    session = start(a, episode, payload)
    put(a, session["id"], 1, part_of(payload, 1))
    assert a.send("DELETE", f"/uploads/{session['id']}").status_code == 204
    row = UploadSession.objects.get(pk=session["id"])
    assert row.state == "aborted" and not resumable.parts_dir(row).exists()
    assert put(a, session["id"], 2, part_of(payload, 2)).status_code == 410


def test_uploads_belong_to_their_producer(api: Any, tokens: dict[str, str], episode: Any, payload: bytes) -> None:
    session = start(api(tokens["a"]), episode, payload)
    assert api(tokens["b"]).get(f"/uploads/{session['id']}").status_code == 404
    assert put(api(tokens["b"]), session["id"], 1, part_of(payload, 1)).status_code == 404
    assert api(None).get(f"/uploads/{session['id']}").status_code == 401
    assert api(tokens["staff"]).get(f"/uploads/{session['id']}").status_code == 200
    other = api(tokens["b"]).send("POST", "/uploads", {"type": "episode", "id": episode.pk, "filename": "a.wav",
                                                       "byte_size": 10})  # fmt: skip
    assert other.status_code == 404  # B cannot see A's draft episode


class FakeS3:
    """Stands in for S3 until the SeaweedFS fixture lands: records calls, holds parts by number."""

    def __init__(self) -> None:
        self.parts: dict[int, s3_multipart.S3Part] = {}
        self.completed: list[list[int]] = []
        self.aborted = 0

    def install(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(s3_multipart, "multipart_start", lambda key, content_type: "upload-1")
        monkeypatch.setattr(
            s3_multipart, "part_url", lambda key, upload_id, number: f"https://s3.test/{key}?n={number}"
        )
        monkeypatch.setattr(s3_multipart, "multipart_parts", lambda key, upload_id: sorted(
            self.parts.values(), key=lambda p: p.number))  # fmt: skip
        monkeypatch.setattr(s3_multipart, "multipart_complete", lambda key, upload_id, parts: self.completed.append(
            [p.number for p in parts]))  # fmt: skip

        def abort(key: str, upload_id: str) -> None:
            self.aborted += 1

        monkeypatch.setattr(s3_multipart, "multipart_abort", abort)


def test_s3_branch_hands_out_part_urls_and_completes(api: Any, tokens: dict[str, str], episode: Any, payload: bytes,
                                                     settings: Any, monkeypatch: Any) -> None:  # fmt: skip
    settings.S3_BUCKET = "media"
    fake = FakeS3()
    fake.install(monkeypatch)
    a = api(tokens["a"])
    session = start(a, episode, payload)
    assert session["backend"] == "s3" and session["part_url_template"] is None
    assert sorted(session["part_urls"]) == ["1", "2", "3"]
    refused = put(a, session["id"], 1, part_of(payload, 1))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "wrong_backend"
    fake.parts = {1: s3_multipart.S3Part(1, PART, '"e1"'), 3: s3_multipart.S3Part(3, 1000, '"e3"')}
    state = a.get(f"/uploads/{session['id']}").json()
    assert state["missing_parts"] == [2] and list(state["part_urls"]) == ["2"]
    assert a.send("POST", f"/uploads/{session['id']}/complete", {}).status_code == 409
    fake.parts[2] = s3_multipart.S3Part(2, PART, '"e2"')
    done = a.send("POST", f"/uploads/{session['id']}/complete", {}).json()
    assert done["state"] == "completed" and fake.completed == [[1, 2, 3]]
    assert MediaSource.objects.get(pk=done["source_id"]).byte_size == len(payload)
