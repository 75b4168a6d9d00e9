"""Producer endpoints (bearer token): shows, episodes, videos, publishing, chapters, transcripts, processing.

Staff can do everything; a producer works on the shows they are a member of. Items the caller cannot see are
404, exactly like ids that never existed; 403 only for things the caller can already see (a live item, a show).
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Status

from episodes.auth import request_user
from episodes.models import Episode, Show, Video
from episodes.schemas import (
    ChaptersIn,
    EpisodeIn,
    EpisodePatch,
    JobOut,
    MediaItemOut,
    ProcessingOut,
    PublishIn,
    ShowIn,
    ShowOut,
    ShowPatch,
    TokenOut,
    TranscriptIn,
    VideoIn,
    VideoPatch,
)
from episodes.selectors import api_media_prefetch, job_chunk_progress, latest_job
from episodes.services import content, deletion, publishing, transcripts, uploads
from episodes.services.errors import InvalidInput, NotFound
from episodes.services.permissions import is_staff, item_for_write, require_show_editor, require_staff

from .base import TOKEN, WRITE_ERRORS, router
from .render import media_item_out, show_out

Id = Annotated[int, Field(ge=1, le=2**62)]
Lang = Annotated[str, Field(max_length=16)]
Fmt = Annotated[str, Field(max_length=8)]


def _fresh(item: Episode | Video) -> MediaItemOut:
    return media_item_out(api_media_prefetch(type(item).objects.filter(pk=item.pk)).get())


def _show(slug: str) -> Show:
    show = Show.objects.filter(slug=slug).first()
    if show is None:
        raise NotFound("No show with this slug.")
    return show


def _fields(payload: Any) -> dict[str, Any]:
    return {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}


@router.get("/me", response={200: TokenOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"])
def me(request: HttpRequest) -> TokenOut:
    """Who the token belongs to and which shows they may work on."""
    user = request_user(request)
    shows = Show.objects.all() if is_staff(user) else Show.objects.filter(members=user)
    return TokenOut(user=user.get_username(), is_staff=is_staff(user), shows=list(shows.values_list("slug", flat=True)))


@router.post("/shows", response={201: ShowOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"])
def create_show(request: HttpRequest, payload: ShowIn) -> Status[ShowOut]:
    require_staff(request_user(request))
    return Status(201, show_out(content.show_create(**_fields(payload))))


@router.patch("/shows/{slug}", response={200: ShowOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"])
def update_show(request: HttpRequest, slug: str, payload: ShowPatch) -> ShowOut:
    show = _show(slug)
    require_show_editor(request_user(request), show)
    return show_out(content.show_update(show=show, **_fields(payload)))


@router.delete("/shows/{slug}", response={204: None, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"])
def delete_show(request: HttpRequest, slug: str) -> Status[None]:
    show = _show(slug)
    require_staff(request_user(request))
    deletion.show_delete(show=show)
    return Status(204, None)


@router.post("/shows/{slug}/episodes", response={201: MediaItemOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"])
def create_episode(request: HttpRequest, slug: str, payload: EpisodeIn) -> Status[MediaItemOut]:
    show = _show(slug)
    require_show_editor(request_user(request), show)
    return Status(201, _fresh(content.episode_create(show=show, **_fields(payload))))


@router.post("/shows/{slug}/videos", response={201: MediaItemOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"])
def create_video(request: HttpRequest, slug: str, payload: VideoIn) -> Status[MediaItemOut]:
    show = _show(slug)
    require_show_editor(request_user(request), show)
    return Status(201, _fresh(content.video_create(show=show, **_fields(payload))))


@router.patch("/episodes/{id}", response={200: MediaItemOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"])
def update_episode(request: HttpRequest, id: Id, payload: EpisodePatch) -> MediaItemOut:
    episode = item_for_write(Episode, id, request_user(request))
    return _fresh(content.episode_update(episode=episode, **_fields(payload)))


@router.patch("/videos/{id}", response={200: MediaItemOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"])
def update_video(request: HttpRequest, id: Id, payload: VideoPatch) -> MediaItemOut:
    video = item_for_write(Video, id, request_user(request))
    return _fresh(content.video_update(video=video, **_fields(payload)))


@router.put("/episodes/{id}/chapters", response={200: MediaItemOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"])
def set_chapters(request: HttpRequest, id: Id, payload: ChaptersIn) -> MediaItemOut:
    """Replace the episode's chapters (Podcasting 2.0 style: start seconds, title, optional url/img)."""
    episode = item_for_write(Episode, id, request_user(request))
    chapters = [c.dict(exclude_none=True) for c in payload.chapters]
    return _fresh(content.episode_update(episode=episode, chapters=chapters))


def _register_owner_endpoints(model: type[Episode] | type[Video], noun: str) -> None:
    """Publishing, deletion, transcripts and processing are the same for episodes and videos."""
    base = f"/{noun}s/{{id}}"
    delete = deletion.episode_delete if model is Episode else deletion.video_delete

    def owner(request: HttpRequest, pk: int) -> Any:
        return item_for_write(model, pk, request_user(request))

    @router.delete(base, response={204: None, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"],
                   operation_id=f"delete_{noun}", summary=f"Delete an unpublished {noun} and its files")  # fmt: skip
    def delete_item(request: HttpRequest, id: Id) -> Status[None]:
        delete(**{noun: owner(request, id)})
        return Status(204, None)

    @router.post(f"{base}/publish", response={200: MediaItemOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"],
                 operation_id=f"publish_{noun}", summary=f"Publish the {noun} now, or schedule it")  # fmt: skip
    def publish_item(request: HttpRequest, id: Id, payload: PublishIn) -> MediaItemOut:
        if payload.when_ready:
            if payload.publish_at is not None:
                raise InvalidInput("Give either publish_at or when_ready, not both.", fields={"when_ready": ["Both."]})
            return _fresh(publishing.item_publish_when_ready(item=owner(request, id)))
        return _fresh(publishing.item_publish(item=owner(request, id), publish_at=payload.publish_at))

    @router.post(f"{base}/unpublish", response={200: MediaItemOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"],
                 operation_id=f"unpublish_{noun}", summary=f"Take the {noun} down")  # fmt: skip
    def unpublish_item(request: HttpRequest, id: Id) -> MediaItemOut:
        return _fresh(publishing.item_unpublish(item=owner(request, id)))

    @router.post(f"{base}/reprocess", response={202: ProcessingOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"],
                 operation_id=f"reprocess_{noun}", summary="Make the renditions again")  # fmt: skip
    def reprocess_item(request: HttpRequest, id: Id) -> Status[ProcessingOut]:
        item = owner(request, id)
        uploads.media_reprocess(owner=item)
        return Status(202, _processing(type(item).objects.get(pk=item.pk)))

    @router.get(f"{base}/processing", response={200: ProcessingOut, **WRITE_ERRORS}, auth=TOKEN, tags=["producer"],
                operation_id=f"processing_{noun}", summary="Processing status: stage, progress, error")  # fmt: skip
    def processing_item(request: HttpRequest, id: Id) -> ProcessingOut:
        return _processing(owner(request, id))

    @router.post(f"{base}/transcripts", response={201: MediaItemOut, **WRITE_ERRORS}, auth=TOKEN,
                 tags=["producer"], operation_id=f"attach_{noun}_transcript",
                 summary="Attach a WebVTT or SRT transcript (replaces the same language and format)")  # fmt: skip
    def attach_transcript(request: HttpRequest, id: Id, payload: TranscriptIn) -> Status[MediaItemOut]:
        item = owner(request, id)
        transcripts.transcript_attach(owner=item, language=payload.language, fmt=payload.format,
                                      content=payload.content)  # fmt: skip
        return Status(201, _fresh(item))

    @router.delete(f"{base}/transcripts/{{language}}/{{fmt}}", response={204: None, **WRITE_ERRORS}, auth=TOKEN,
                   tags=["producer"], operation_id=f"delete_{noun}_transcript")  # fmt: skip
    def delete_transcript(request: HttpRequest, id: Id, language: Lang, fmt: Fmt) -> Status[None]:
        transcripts.transcript_delete(owner=owner(request, id), language=language, fmt=fmt)
        return Status(204, None)


def _processing(item: Episode | Video) -> ProcessingOut:
    job = latest_job(episode=item) if isinstance(item, Episode) else latest_job(video=item)
    when, problem = item.publish_when_ready, item.publish_problem
    if job is None:
        return ProcessingOut(status=item.status, job=None, publish_when_ready=when, publish_problem=problem)
    chunks = job_chunk_progress(job) or {}
    return ProcessingOut(
        status=item.status,
        publish_when_ready=when,
        publish_problem=problem,
        job=JobOut(
            id=job.pk,
            state=job.state,
            stage=job.stage,
            stage_label=job.get_stage_display(),
            progress=job.progress,
            attempts=job.attempts,
            error=job.error,
            queued_at=job.queued_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            chunks_done=chunks.get("done"),
            chunks_total=chunks.get("total"),
        ),
    )


_register_owner_endpoints(Episode, "episode")
_register_owner_endpoints(Video, "video")
