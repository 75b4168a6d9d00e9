"""API fixtures: producers of two shows, staff, their tokens, and live/draft media with renditions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from episodes.models import MediaSource, Rendition, Status, Transcript
from episodes.services.content import episode_create, show_create, video_create
from episodes.services.tokens import api_token_create
from tests.conftest import cover_art


class Api:
    """A test client speaking JSON to /api/v1 with an optional bearer token."""

    def __init__(self, client: Client, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return out

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self._headers(headers))

    def send(self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        call = getattr(self.client, method.lower())
        if json is None:
            return call(f"/api/v1{path}", headers=self._headers(headers))
        return call(f"/api/v1{path}", json, content_type="application/json", headers=self._headers(headers))

    def raw(self, method: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
        call = getattr(self.client, method.lower())
        return call(f"/api/v1{path}", body, content_type="application/octet-stream", headers=self._headers(headers))


def make_user(django_user_model: Any, name: str, *, staff: bool = False) -> Any:
    return django_user_model.objects.create_user(username=name, password=None, is_staff=staff)


@pytest.fixture
def show_b(db: None) -> Any:
    return show_create(
        title="Kyiv Explained", slug="kyiv-explained", description="Explainers.", categories=[["News"]],
        artwork=cover_art("kyiv.png"),
    )  # fmt: skip


@pytest.fixture
def users(db: None, django_user_model: Any, show: Any, show_b: Any) -> dict[str, Any]:
    a = make_user(django_user_model, "producer_a")
    b = make_user(django_user_model, "producer_b")
    staff = make_user(django_user_model, "editor", staff=True)
    show.members.add(a)
    show_b.members.add(b)
    return {"a": a, "b": b, "staff": staff}


@pytest.fixture
def tokens(users: dict[str, Any]) -> dict[str, str]:
    return {key: api_token_create(user=user, name="test")[1] for key, user in users.items()}


@pytest.fixture
def api(client: Client) -> Callable[[str | None], Api]:
    """``api("a")`` speaks as producer A (the ``tokens`` fixture must be used), ``api(None)`` anonymously."""

    def make(token: str | None = None) -> Api:
        return Api(client, token)

    return make


def add_renditions(item: Any, *, video: bool) -> Any:
    """Give an episode or video a realistic processed set of renditions and a transcript."""
    field = "video" if video else "episode"
    source = MediaSource.objects.create(
        **{field: item}, storage_key=f"sources/{field}s/{item.pk}/a/in.mp4", original_filename="in.mp4", byte_size=9
    )
    prefix = f"renditions/{field}s/{item.pk}/run1"
    rows: list[tuple[str, str, str, str, int | None]] = [
        ("poster", "", "image/jpeg", "poster.jpg", None),
        ("thumbnail", "", "image/jpeg", "thumb.jpg", None),
    ]
    if video:
        rows += [
            ("video_mp4", "720p", "video/mp4", "v720.mp4", 720),
            ("video_mp4", "360p", "video/mp4", "v360.mp4", 360),
            ("hls", "", "application/vnd.apple.mpegurl", "hls/master.m3u8", None),
        ]
    else:
        rows += [("audio_mp3", "", "audio/mpeg", "a.mp3", None), ("audio_aac", "", "audio/mp4", "a.m4a", None)]
    for kind, variant, mime, name, height in rows:
        Rendition.objects.create(
            **{field: item},
            source=source,
            kind=kind,
            variant=variant,
            mime_type=mime,
            bitrate=128_000 if "audio" in kind else 2_000_000,
            width=height * 16 // 9 if height else None,
            height=height,
            duration=61.5 if kind in {"video_mp4", "audio_mp3", "audio_aac"} else None,
            byte_size=1000,
            storage_key=f"{prefix}/{name}",
        )
    Transcript.objects.create(
        **{field: item}, language="uk", format="vtt", storage_key=f"transcripts/{field}s/{item.pk}/uk.vtt",
        text="Привіт, це розшифровка про енергетику",
    )  # fmt: skip
    type(item).objects.filter(pk=item.pk).update(status=Status.READY)
    item.refresh_from_db()
    return item


def go_live(item: Any, *, ago: timedelta = timedelta(hours=1)) -> Any:
    type(item).objects.filter(pk=item.pk).update(status=Status.PUBLISHED, publish_at=timezone.now() - ago)
    item.refresh_from_db()
    return item


@pytest.fixture
def media(show: Any, show_b: Any) -> dict[str, Any]:
    """Show A: a live episode, a live video, a draft episode, a scheduled video. Show B: a live and a draft video."""
    live_ep = go_live(add_renditions(episode_create(show=show, title="Energy week", slug="energy-week",
                                                    summary="Power cuts and repairs."), video=False))  # fmt: skip
    live_vid = go_live(add_renditions(video_create(show=show, title="How grids work", slug="grids"), video=True),
                       ago=timedelta(hours=2))  # fmt: skip
    draft_ep = episode_create(show=show, title="Secret draft", slug="secret-draft")
    scheduled = add_renditions(video_create(show=show, title="Tomorrow", slug="tomorrow"), video=True)
    type(scheduled).objects.filter(pk=scheduled.pk).update(
        status=Status.PUBLISHED, publish_at=timezone.now() + timedelta(days=1)
    )
    b_live = go_live(add_renditions(video_create(show=show_b, title="Kyiv metro", slug="metro"), video=True),
                     ago=timedelta(hours=3))  # fmt: skip
    b_draft = add_renditions(video_create(show=show_b, title="B draft", slug="b-draft"), video=True)
    return {"live_ep": live_ep, "live_vid": live_vid, "draft_ep": draft_ep, "scheduled": scheduled,
            "b_live": b_live, "b_draft": b_draft}  # fmt: skip
