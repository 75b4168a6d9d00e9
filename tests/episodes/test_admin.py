"""The producer admin: pages render, bad input is explained, actions go through the services."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from PIL import Image

from episodes.models import Episode, Show, Status
from tests.conftest import attach_fake_audio

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    user = User.objects.create_superuser("editor", "editor@example.com", "pw-not-used-elsewhere")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["show", "episode", "video", "article", "person", "mediasource", "processingjob"])
def test_changelists_render(staff_client: Client, episode: Episode, model: str) -> None:
    response = staff_client.get(reverse(f"admin:episodes_{model}_changelist"))
    assert response.status_code == 200


def test_episode_change_page_shows_status_and_renditions(staff_client: Client, ready_episode: Episode) -> None:
    response = staff_client.get(reverse("admin:episodes_episode_change", args=[ready_episode.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "MP3 (feed enclosure)" in body
    assert "Україна: тиждень 5" in body


def test_search_finds_ukrainian_titles(staff_client: Client, episode: Episode) -> None:
    response = staff_client.get(reverse("admin:episodes_episode_changelist"), {"q": "тиждень"})
    assert "Україна: тиждень 5" in response.content.decode()


def _show_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Новий подкаст",
        "slug": "новий-подкаст",
        "description": "Опис",
        "language": "uk",
        "time_zone": "Europe/Kyiv",
        "category_picks": ["News/Politics"],
        "show_type": "episodic",
        "medium": "podcast",
        "locked": "on",
        "funding": "[]",
        "credits-TOTAL_FORMS": "0",
        "credits-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_add_show_through_the_admin(staff_client: Client) -> None:
    response = staff_client.post(reverse("admin:episodes_show_add"), _show_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    show = Show.objects.get(slug="новий-подкаст")
    assert show.categories == [["News", "Politics"]]
    assert show.podcast_guid is not None


def test_admin_explains_a_bad_slug(staff_client: Client) -> None:
    response = staff_client.post(reverse("admin:episodes_show_add"), _show_form(slug="Bad Slug!"))
    assert response.status_code == 200
    assert "only lowercase letters, digits and single hyphens" in response.content.decode()


def test_admin_rejects_artwork_that_is_too_small(staff_client: Client) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (600, 600)).save(buf, format="PNG")
    buf.name = "small.png"
    buf.seek(0)
    response = staff_client.post(reverse("admin:episodes_show_add"), {**_show_form(), "artwork": buf})
    assert response.status_code == 200
    assert "at least 1400×1400 pixels" in response.content.decode()


def test_publish_action_explains_missing_media(staff_client: Client, episode: Episode) -> None:
    response = staff_client.post(
        reverse("admin:episodes_episode_changelist"),
        {"action": "publish_now", "_selected_action": [episode.pk]},
        follow=True,
    )
    assert "no processed media yet" in response.content.decode()
    episode.refresh_from_db()
    assert episode.status == Status.DRAFT


def test_publish_action_publishes_a_ready_episode(staff_client: Client, episode: Episode) -> None:
    attach_fake_audio(episode)
    staff_client.post(
        reverse("admin:episodes_episode_changelist"), {"action": "publish_now", "_selected_action": [episode.pk]}
    )
    episode.refresh_from_db()
    assert episode.status == Status.PUBLISHED and episode.publish_at is not None


def test_admin_requires_login(client: Client) -> None:
    response = client.get(reverse("admin:episodes_episode_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_uploading_in_the_admin_queues_processing(staff_client: Client, episode: Episode, speech_wav: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from episodes.models import ProcessingJob

    data = {
        "show": episode.show.pk,
        "title": episode.title,
        "slug": episode.slug,
        "episode_type": "full",
        "guid": episode.guid,
        "chapters": "[]",
        "soundbites": "[]",
        "credits-TOTAL_FORMS": "0",
        "credits-INITIAL_FORMS": "0",
        "renditions-TOTAL_FORMS": "0",
        "renditions-INITIAL_FORMS": "0",
        "transcripts-TOTAL_FORMS": "0",
        "transcripts-INITIAL_FORMS": "0",
        "upload": SimpleUploadedFile("Випуск 5.wav", speech_wav.read_bytes(), content_type="audio/wav"),
    }
    response = staff_client.post(reverse("admin:episodes_episode_change", args=[episode.pk]), data, follow=True)
    assert response.status_code == 200
    assert "is being processed" in response.content.decode(), response.content.decode()[:3000]
    job = ProcessingJob.objects.get(source__episode=episode)
    assert job.source.original_filename == "Випуск 5.wav"
    episode.refresh_from_db()
    assert episode.status in {Status.PROCESSING, Status.READY}


def test_credits_pick_group_and_role_from_the_podcast_taxonomy(staff_client: Client, episode: Episode) -> None:
    from django import forms

    from episodes.models import EpisodePerson, Person
    from episodes.studio.forms import CreditForm

    html = staff_client.get(reverse("admin:episodes_episode_change", args=[episode.pk])).content.decode()
    # Selects, not free text: every group, and each role under its group.
    assert re.search(r'<select name="[\w-]+-__prefix__-group"', html) and re.search(
        r'<select name="[\w-]+-__prefix__-role"', html
    )
    assert '<optgroup label="Writing">' in html and '<option value="Reporter">' in html
    form_class = forms.modelform_factory(EpisodePerson, form=CreditForm, fields=["person", "group", "role"])
    person = Person.objects.create(name="Олена Коваль")
    wrong = form_class(data={"person": person.pk, "group": "Writing", "role": "Host"},
                       instance=EpisodePerson(episode=episode))  # fmt: skip
    assert not wrong.is_valid() and "is a role of the group “Cast”" in str(wrong.errors["role"])
    unknown = form_class(data={"person": person.pk, "group": "Crew", "role": "Host"},
                         instance=EpisodePerson(episode=episode))  # fmt: skip
    assert not unknown.is_valid() and "group" in unknown.errors
    right = form_class(data={"person": person.pk, "group": "Writing", "role": "Author"},
                       instance=EpisodePerson(episode=episode))  # fmt: skip
    assert right.is_valid(), right.errors
    saved = right.save()
    assert (saved.group, saved.role) == ("Writing", "Author")
    assert form_class().fields["group"].initial == "Cast" and form_class().fields["role"].initial == "Host"

    # A row spelled the old way ("guest", as imports and older rows hold it) shows as its taxonomy spelling, so an
    # unchanged row posts back what it holds; an unknown pair stays shown (and is refused on save, with its reason).
    old = EpisodePerson.objects.create(episode=episode, person=person, group="cast", role="guest")
    form = form_class(instance=old)
    assert (form.initial["group"], form.initial["role"]) == ("Cast", "Guest")
    odd = EpisodePerson.objects.create(episode=episode, person=person, group="crew", role="boom operator")
    form = form_class(instance=odd)
    assert ("boom operator", "boom operator") in form.fields["role"].choices  # type: ignore[attr-defined]
