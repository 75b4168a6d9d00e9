"""Editorial content: shows, episodes, explainer videos, people and the news articles they belong to."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from episodes.categories import validate_categories
from episodes.html import sanitize_html
from episodes.taxonomy import CreditError, canonical_credit
from episodes.validators import (
    validate_artwork,
    validate_chapters,
    validate_funding,
    validate_language_tag,
    validate_media_slug,
    validate_soundbites,
    validate_time_zone,
)

# Podcasting 2.0 `podcast:guid`: UUIDv5 of the feed URL (scheme and trailing slashes removed) in this namespace.
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


def podcast_guid_for(feed_url: str) -> uuid.UUID:
    """The `podcast:guid` the Podcast Index computes for a feed URL."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return uuid.uuid5(PODCAST_GUID_NAMESPACE, bare)


def new_episode_guid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


class SanitizedHTMLField(models.TextField):
    """A TextField whose HTML is cleaned of scripts, handlers and unsafe links whenever it is saved."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = sanitize_html(getattr(model_instance, self.attname) or "")
        setattr(model_instance, self.attname, value)
        return value


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"


class Person(models.Model):
    """A host, guest or other contributor (Podcasting 2.0 `podcast:person`)."""

    name = models.CharField(max_length=128)
    href = models.URLField(blank=True)
    img = models.URLField(blank=True)
    # Feeds show people: an edit must change the fingerprint of every feed crediting them (feeds.selectors).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Show(models.Model):
    class ShowType(models.TextChoices):
        EPISODIC = "episodic", "Episodic"
        SERIAL = "serial", "Serial"

    class Medium(models.TextChoices):
        PODCAST = "podcast", "Podcast"
        VIDEO = "video", "Video"
        NEWSLETTER = "newsletter", "Newsletter"

    title = models.CharField(max_length=255)
    slug = models.CharField(max_length=100, unique=True, validators=[validate_media_slug])
    description = models.TextField(max_length=4000, help_text="Plain text; Apple shows up to 4000 bytes.")
    language = models.CharField(max_length=16, default="en", help_text="BCP 47, e.g. en, uk, en-GB.")
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone],
        help_text="IANA name, e.g. Europe/Kyiv: schedules on the episode page are read in it.",
    )  # fmt: skip
    artwork = models.ImageField(upload_to="artwork/shows/", blank=True, validators=[validate_artwork])
    categories = models.JSONField(
        default=list, blank=True, validators=[validate_categories], help_text='e.g. [["News", "Politics"]]'
    )
    explicit = models.BooleanField(default=False)
    author = models.CharField(max_length=255, blank=True)
    owner_name = models.CharField(max_length=255, blank=True)
    owner_email = models.EmailField(blank=True)
    copyright = models.CharField(max_length=255, blank=True)
    website_url = models.URLField(blank=True)
    show_type = models.CharField(max_length=16, choices=ShowType.choices, default=ShowType.EPISODIC)
    medium = models.CharField(max_length=16, choices=Medium.choices, default=Medium.PODCAST)
    podcast_guid = models.UUIDField(unique=True, editable=False)
    locked = models.BooleanField(default=True, help_text="podcast:locked — other platforms may not import it.")
    funding = models.JSONField(default=list, blank=True, validators=[validate_funding])
    new_feed_url = models.URLField(blank=True, help_text="Set when the show has moved to another feed.")
    feed_moved = models.BooleanField(
        default=False,
        help_text="Answer the feed URL with a 301 to the new feed URL (first let apps read itunes:new-feed-url).",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shows")
    people = models.ManyToManyField(Person, through="ShowPerson", blank=True, related_name="shows")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [models.CheckConstraint(condition=~Q(slug=""), name="show_slug_not_empty")]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        # In clean(), not the field's validators: the check needs no migration and runs in the API and the admin.
        try:
            validate_language_tag(self.language)
        except ValidationError as exc:
            raise ValidationError({"language": exc.messages}) from exc


def clean_credit(credit: ShowPerson | EpisodePerson) -> None:
    """Check group and role against the Podcast Taxonomy and store the taxonomy's spelling ("Cast", "Host")."""
    try:
        credit.group, credit.role = canonical_credit(credit.group, credit.role)
    except CreditError as exc:
        raise ValidationError({exc.field: exc.message}) from exc


class ShowPerson(models.Model):
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="credits")
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    role = models.CharField(max_length=64, default="host")
    group = models.CharField(max_length=64, default="cast")
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["show", "person", "role"], name="show_person_role_unique")]

    def __str__(self) -> str:
        return f"{self.person} ({self.role})"

    def clean(self) -> None:
        clean_credit(self)


class Episode(models.Model):
    class EpisodeType(models.TextChoices):
        FULL = "full", "Full"
        TRAILER = "trailer", "Trailer"
        BONUS = "bonus", "Bonus"

    show = models.ForeignKey(Show, on_delete=models.PROTECT, related_name="episodes")
    title = models.CharField(max_length=255)
    slug = models.CharField(max_length=120, validators=[validate_media_slug])
    summary = models.TextField(blank=True, max_length=4000, help_text="Plain text, shown in podcast apps.")
    show_notes = SanitizedHTMLField(blank=True, help_text="HTML; scripts and unsafe links are removed.")
    season = models.PositiveIntegerField(null=True, blank=True)
    number = models.PositiveIntegerField(null=True, blank=True)
    episode_type = models.CharField(max_length=16, choices=EpisodeType.choices, default=EpisodeType.FULL)
    explicit = models.BooleanField(default=False)
    artwork = models.ImageField(upload_to="artwork/episodes/", blank=True, validators=[validate_artwork])
    guid = models.CharField(max_length=255, unique=True, default=new_episode_guid)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    publish_at = models.DateTimeField(null=True, blank=True, db_index=True, help_text="Future = scheduled.")
    first_published_at = models.DateTimeField(null=True, blank=True, editable=False)
    publish_when_ready = models.BooleanField(
        default=False, help_text="Publish the moment processing succeeds (and the checklist passes)."
    )
    publish_problem = models.CharField(
        max_length=1000, blank=True, help_text="Why the last automatic publish did not happen."
    )
    chapters = models.JSONField(default=list, blank=True, validators=[validate_chapters])
    soundbites = models.JSONField(default=list, blank=True, validators=[validate_soundbites])
    # Member content (members.feeds): only in members' private feeds (bonus, ad-free versions), or there early.
    members_only = models.BooleanField(
        default=False, help_text="Only members get it (private feeds); the public feed, API and pages never show it."
    )
    members_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Early access: members' feeds carry it from this time; the public at publish time.",
    )
    people = models.ManyToManyField(Person, through="EpisodePerson", blank=True, related_name="episodes")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-publish_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["show", "slug"], name="episode_slug_unique_in_show"),
            models.CheckConstraint(condition=~Q(guid=""), name="episode_guid_not_empty"),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(publish_at__isnull=False),
                name="episode_published_has_time",
            ),
            models.CheckConstraint(condition=Q(season__gte=1) | Q(season__isnull=True), name="episode_season_gte_1"),
            models.CheckConstraint(condition=Q(number__gte=1) | Q(number__isnull=True), name="episode_number_gte_1"),
        ]
        indexes = [models.Index(fields=["show", "status", "publish_at"])]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.pk:
            stored = Episode.objects.filter(pk=self.pk).values("guid", "first_published_at").first()
            if stored and stored["first_published_at"] and stored["guid"] != self.guid:
                raise ValidationError({"guid": "The GUID of a published episode never changes."})


class EpisodePerson(models.Model):
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="credits")
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    role = models.CharField(max_length=64, default="guest")
    group = models.CharField(max_length=64, default="cast")
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["episode", "person", "role"], name="episode_person_role_unique")]

    def __str__(self) -> str:
        return f"{self.person} ({self.role})"

    def clean(self) -> None:
        clean_credit(self)


class Video(models.Model):
    """A short explainer video; its sound can become an episode (``episode``)."""

    show = models.ForeignKey(Show, on_delete=models.PROTECT, related_name="videos")
    title = models.CharField(max_length=255)
    slug = models.CharField(max_length=120, validators=[validate_media_slug])
    description = SanitizedHTMLField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    publish_at = models.DateTimeField(null=True, blank=True, db_index=True)
    first_published_at = models.DateTimeField(null=True, blank=True, editable=False)
    publish_when_ready = models.BooleanField(
        default=False, help_text="Publish the moment processing succeeds (and the checklist passes)."
    )
    publish_problem = models.CharField(
        max_length=1000, blank=True, help_text="Why the last automatic publish did not happen."
    )
    episode = models.OneToOneField(
        Episode, null=True, blank=True, on_delete=models.SET_NULL, related_name="source_video"
    )
    members_only = models.BooleanField(default=False, help_text="Only members get it; never public.")
    guid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-publish_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["show", "slug"], name="video_slug_unique_in_show"),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(publish_at__isnull=False),
                name="video_published_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Article(models.Model):
    """A news article in the publisher's CMS, known by the CMS's id."""

    external_id = models.CharField(max_length=128, unique=True)
    url = models.URLField(max_length=1000, unique=True)
    title = models.CharField(max_length=500, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    episodes = models.ManyToManyField(Episode, through="ArticleEpisode", related_name="articles", blank=True)
    videos = models.ManyToManyField(Video, through="ArticleVideo", related_name="articles", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(external_id=""), name="article_external_id_not_empty")]

    def __str__(self) -> str:
        return self.title or self.external_id


class ArticleEpisode(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="episode_links")
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="article_links")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["article", "episode"], name="article_episode_unique")]

    def __str__(self) -> str:
        return f"{self.article} → {self.episode}"


class ArticleVideo(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="video_links")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="article_links")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["article", "video"], name="article_video_unique")]

    def __str__(self) -> str:
        return f"{self.article} → {self.video}"
