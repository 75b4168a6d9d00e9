"""People credited on a show or an episode (``podcast:person``), checked against the Podcast Taxonomy.

credits_set(owner=episode, credits=[{"name": "Олена", "role": "host"}, {"name": "Ігор", "role": "guest"}])
# → stored (and emitted) as ("Cast", "Host"), ("Cast", "Guest"); "crew" or "cohost" is a 422 naming the entry
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from episodes.models import Episode, EpisodePerson, Person, Show, ShowPerson
from episodes.taxonomy import CreditError, canonical_credit

from .errors import InvalidInput

MAX_CREDITS = 200


def _checked(index: int, credit: dict[str, Any]) -> tuple[str, str, str, str, str]:
    name = str(credit.get("name") or "").strip()
    if not name or len(name) > 128:
        raise InvalidInput(f"credits.{index}.name: Give the person's name (at most 128 characters).",
                           fields={f"credits.{index}.name": ["Required, at most 128 characters."]})  # fmt: skip
    try:
        group, role = canonical_credit(credit.get("group"), credit.get("role"))
    except CreditError as exc:
        field = f"credits.{index}.{exc.field}"
        raise InvalidInput(f"{field}: {exc.message}", fields={field: [exc.message]}) from exc
    href, img = (str(credit.get(key) or "").strip() for key in ("href", "img"))
    for key, value in (("href", href), ("img", img)):
        if value and not value.startswith(("https://", "http://")):
            field = f"credits.{index}.{key}"
            raise InvalidInput(f"{field}: Give an http(s) URL.", fields={field: ["Give an http(s) URL."]})
    return name, group, role, href, img


def _person(name: str, href: str, img: str) -> Person:
    person = Person.objects.filter(name=name, href=href).order_by("pk").first()
    if person is None:
        person = Person(name=name, href=href, img=img)
    elif img and person.img != img:
        person.img = img
    else:
        return person
    try:
        person.full_clean()
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc) from exc
    person.save()
    return person


def credits_set(*, owner: Show | Episode, credits: Sequence[dict[str, Any]]) -> list[ShowPerson] | list[EpisodePerson]:
    """Replace the people credited on ``owner``, in the order given; group and role in the taxonomy's spelling."""
    if len(credits) > MAX_CREDITS:
        raise InvalidInput(f"credits: At most {MAX_CREDITS} people.", fields={"credits": ["Too many."]})
    checked = [_checked(i, dict(c)) for i, c in enumerate(credits)]
    seen: set[tuple[str, str, str]] = set()
    for index, (name, _group, role, href, _img) in enumerate(checked):
        if (name, href, role) in seen:
            field = f"credits.{index}.role"
            message = f"{name} is already credited as “{role}”."
            raise InvalidInput(f"{field}: {message}", fields={field: [message]})
        seen.add((name, href, role))
    with transaction.atomic():
        if isinstance(owner, Show):
            ShowPerson.objects.filter(show=owner).delete()
            return [
                ShowPerson.objects.create(
                    show=owner, person=_person(name, href, img), group=group, role=role, position=position
                )  # fmt: skip
                for position, (name, group, role, href, img) in enumerate(checked)
            ]
        EpisodePerson.objects.filter(episode=owner).delete()
        return [
            EpisodePerson.objects.create(
                episode=owner, person=_person(name, href, img), group=group, role=role, position=position
            )  # fmt: skip
            for position, (name, group, role, href, img) in enumerate(checked)
        ]
