from .content import (
    Article,
    ArticleEpisode,
    ArticleVideo,
    Episode,
    EpisodePerson,
    Person,
    Show,
    ShowPerson,
    Status,
    Video,
    podcast_guid_for,
)
from .media import MediaSource, ProcessingJob, Rendition, TagRewrite, Transcript

__all__ = [
    "Article",
    "ArticleEpisode",
    "ArticleVideo",
    "Episode",
    "EpisodePerson",
    "MediaSource",
    "Person",
    "ProcessingJob",
    "Rendition",
    "Show",
    "ShowPerson",
    "TagRewrite",
    "Status",
    "Transcript",
    "Video",
    "podcast_guid_for",
]

from .api import ApiToken, UploadPart, UploadSession  # noqa: E402

__all__ += ["ApiToken", "UploadPart", "UploadSession"]

from .embeds import EmbedView  # noqa: E402

__all__ += ["EmbedView"]

from .ops import ProcessBeat  # noqa: E402

__all__ += ["ProcessBeat"]

from .clips import SoundbiteClip  # noqa: E402

__all__ += ["SoundbiteClip"]

from .chunks import ChunkPart  # noqa: E402

__all__ += ["ChunkPart"]
