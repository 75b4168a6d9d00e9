"""The studio's forms: artwork normalised on upload, chapters and soundbites as rows checked against the media's
length, Apple categories and funding as real controls, credits picked from the Podcast Taxonomy."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from episodes import taxonomy
from episodes.categories import CATEGORY_CHOICES, parse_category
from episodes.links import show_feed_url
from episodes.models import Show
from episodes.models.content import podcast_guid_for
from episodes.services.artwork import artwork_normalised
from episodes.services.errors import DomainError
from episodes.services.readiness import chapter_problem, media_duration

from .widgets import CHAPTER_COLUMNS, FUNDING_COLUMNS, SOUNDBITE_COLUMNS, RowsField


class ArtworkFormMixin:
    """A chosen artwork file is normalised (RGB, 1400–3000 px, its real type) before the model sees it."""

    cleaned_data: dict[str, Any]

    def clean_artwork(self) -> Any:
        try:
            return artwork_normalised(self.cleaned_data.get("artwork"))
        except DomainError as exc:
            raise forms.ValidationError(exc.fields.get("artwork", [exc.message])) from exc


class MediaUploadForm(ArtworkFormMixin, forms.ModelForm):
    """Adds a file field: choosing a file stores it as the new source and queues processing."""

    upload = forms.FileField(
        required=False,
        label="Upload media",
        help_text="Audio (WAV, MP3, M4A, FLAC…) for an episode; video (MP4, MOV, MKV, WebM) for an explainer. "
        "It is processed in the background; progress shows below.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].allow_unicode = True  # type: ignore[attr-defined]  # prepopulate keeps Cyrillic


class EpisodeForm(MediaUploadForm):
    """Chapters and soundbites as rows of inputs (the waveform fills them), checked against the media's length."""

    chapters = RowsField(columns=CHAPTER_COLUMNS, extra=1, label="Chapters")
    soundbites = RowsField(columns=SOUNDBITE_COLUMNS, extra=1, label="Soundbites")

    def clean_chapters(self) -> list[dict[str, Any]]:
        chapters: list[dict[str, Any]] = sorted(self.cleaned_data["chapters"], key=lambda c: c.get("start", 0))
        if self.instance.pk:
            problem = chapter_problem(chapters, media_duration(self.instance))
            if problem:
                raise forms.ValidationError(problem)
        return chapters


class ShowForm(ArtworkFormMixin, forms.ModelForm):
    category_picks = forms.MultipleChoiceField(
        choices=CATEGORY_CHOICES, required=False, label="Apple categories", help_text="Up to three."
    )
    funding = RowsField(columns=FUNDING_COLUMNS, extra=1, label="Funding links")

    class Meta:
        model = Show
        fields = [
            "title", "slug", "description", "language", "time_zone", "artwork", "category_picks", "explicit", "author",
            "owner_name", "owner_email", "copyright", "website_url", "show_type", "medium", "locked", "funding",
            "new_feed_url", "feed_moved", "members",
        ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].allow_unicode = True  # type: ignore[attr-defined]  # prepopulate keeps Cyrillic
        self.fields["category_picks"].initial = [
            "/".join(p for p in pair if p) for pair in (self.instance.categories or [])
        ]

    def clean_category_picks(self) -> list[list[str | None]]:
        picks = self.cleaned_data["category_picks"]
        if len(picks) > 3:
            raise forms.ValidationError("Apple Podcasts uses at most three categories.")
        return [list(parse_category(p)) for p in picks]

    def save(self, commit: bool = True) -> Show:
        self.instance.categories = self.cleaned_data["category_picks"]
        if not self.instance.pk:
            self.instance.podcast_guid = podcast_guid_for(show_feed_url(self.instance.slug))
        return super().save(commit=commit)


class CreditForm(forms.ModelForm):
    """Group and role are picked from the Podcast Taxonomy: roles are listed under their group (the model still
    checks the pair on save, so a role of another group is refused with a reason)."""

    group = forms.ChoiceField(initial="Cast")
    role = forms.ChoiceField(initial="Host")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        by_group = taxonomy.groups()
        group_field = cast(forms.ChoiceField, self.fields["group"])
        role_field = cast(forms.ChoiceField, self.fields["role"])
        group_field.choices = [(g, g) for g in by_group]
        role_field.choices = [(g, [(r, r) for r in roles]) for g, roles in by_group.items()]
        instance = self.instance
        if instance.pk:
            # Rows written before the taxonomy check, or by an import, may be spelled "guest": show them in the
            # taxonomy's spelling, so an unchanged row posts back what it holds, never the first option instead.
            try:
                self.initial["group"], self.initial["role"] = taxonomy.canonical_credit(instance.group, instance.role)
            except taxonomy.CreditError:
                group_field.choices = [(instance.group, instance.group), *group_field.choices]
                role_field.choices = [(instance.role, instance.role), *role_field.choices]
