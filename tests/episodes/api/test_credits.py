"""Person credits checked against the Podcast Taxonomy, stored and emitted in its spelling, read by real parsers."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import feedparser
import podcastparser
import pytest
from django.core.exceptions import ValidationError

from episodes.models import Episode, EpisodePerson, Person
from episodes.services.content import episode_publish
from episodes.taxonomy import DATA, canonical_credit, groups
from tests.feeds.conftest import partytime  # noqa: F401 - the session fixture, shared with the feed tests

pytestmark = pytest.mark.django_db

CREDITS = [
    {"name": "Олена Петренко", "role": "host"},
    {"name": "Ігор Коваль", "role": "cover art designer", "group": "VISUALS", "href": "https://example.com/igor"},
    {"name": "Марта", "role": "Audio Editor", "group": "audio post-production"},
]


def test_the_taxonomy_is_shipped_with_its_source_and_licence() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    assert data["source"].endswith("podcast-namespace/blob/main/taxonomy.json") and "CC0" in data["licence"]
    assert "Cast" in groups() and "Crew" not in groups() and len(groups()) == 11
    assert canonical_credit(None, None) == ("Cast", "Host")  # the namespace's defaults
    assert canonical_credit("video post-production", "EDITOR") == ("Video Post-Production", "Editor")


def test_the_model_refuses_a_group_outside_the_taxonomy(ready_episode: Episode) -> None:
    credit = EpisodePerson(episode=ready_episode, person=Person.objects.create(name="X"), role="host", group="crew")
    with pytest.raises(ValidationError) as info:
        credit.full_clean()
    assert "“crew” is not a group of the Podcast Taxonomy" in info.value.message_dict["group"][0]


@pytest.mark.parametrize(
    ("credit", "field", "words"),
    [
        ({"name": "A", "role": "host", "group": "crew"}, "credits.0.group", "“crew” is not a group"),
        ({"name": "A", "role": "cohost"}, "credits.0.role", "“cohost” is not a role"),
        ({"name": "A", "role": "Audio Editor", "group": "cast"}, "credits.0.role", "“Audio Post-Production”"),
    ],
)
def test_the_api_refuses_credits_outside_the_taxonomy_with_a_422(
    api: Callable[..., Any], tokens: dict[str, str], ready_episode: Episode, credit: dict, field: str, words: str
) -> None:
    response = api(tokens["a"]).send("PUT", f"/episodes/{ready_episode.pk}/credits", {"credits": [credit]})
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert words in error["message"] and words in error["fields"][field][0]
    assert not ready_episode.credits.exists()


def test_credits_are_emitted_in_the_taxonomy_spelling_and_read_back_by_three_parsers(
    api: Callable[..., Any],
    tokens: dict[str, str],
    ready_episode: Episode,
    client: Any,
    partytime: Callable[[bytes], dict[str, Any]],  # noqa: F811 - the fixture imported above
) -> None:
    a = api(tokens["a"])
    response = a.send("PUT", f"/episodes/{ready_episode.pk}/credits", {"credits": CREDITS})
    assert response.status_code == 200, response.content
    expected = [("Cast", "Host"), ("Visuals", "Cover Art Designer"), ("Audio Post-Production", "Audio Editor")]
    assert [(c["group"], c["role"]) for c in response.json()["credits"]] == expected
    producer = {"name": "Редакція", "role": "executive producer", "group": "creative direction"}
    show = a.send("PUT", f"/shows/{ready_episode.show.slug}/credits", {"credits": [producer]})
    assert show.status_code == 200 and show.json()["credits"][0]["group"] == "Creative Direction"
    episode_publish(episode=ready_episode)
    xml = client.get(f"/feeds/{ready_episode.show.slug}.xml").content
    assert b'group="Visuals" role="Cover Art Designer"' in xml or b'role="Cover Art Designer" group="Visuals"' in xml
    assert b"crew" not in xml
    parsed = partytime(xml)
    people = parsed["items"][0]["podcastPeople"]
    assert [(p["group"], p["role"]) for p in people] == expected  # partytime no longer falls back to Cast/Host
    assert parsed["podcastPeople"][0]["group"] == "Creative Direction"
    fp = feedparser.parse(xml)
    assert not fp.bozo and len(fp.entries) == 1
    pp = podcastparser.parse(f"http://testserver/feeds/{ready_episode.show.slug}.xml", io.BytesIO(xml))
    assert len(pp["episodes"]) == 1
