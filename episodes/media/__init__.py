"""Media processing library: probe, plan, encode (ffmpeg), tag (mutagen), package (HLS), describe.

Usage::

    from episodes.media import MediaConfig, MediaRejected, TagMeta, process

    config = MediaConfig.from_settings(settings)
    try:
        result = process(upload_path, workdir, TagMeta(title="..."), config, on_progress=record)
    except MediaRejected as exc:
        show_producer(exc.reason)
"""

from .config import MediaConfig
from .errors import FFmpegError, FFmpegTimeout, MediaError, MediaRejected, ProbeError
from .loudness import Loudness
from .pipeline import OutputFile, ProcessResult, process, process_audio, process_video
from .plan import AudioEncode, ImagePlan, Plan, VideoRung, plan
from .probe import ChapterInfo, ProbeResult, StreamInfo, probe
from .tags import ChapterMark, TagMeta

__all__ = [
    "AudioEncode",
    "ChapterInfo",
    "ChapterMark",
    "FFmpegError",
    "FFmpegTimeout",
    "ImagePlan",
    "Loudness",
    "MediaConfig",
    "MediaError",
    "MediaRejected",
    "OutputFile",
    "Plan",
    "ProbeError",
    "ProbeResult",
    "ProcessResult",
    "StreamInfo",
    "TagMeta",
    "VideoRung",
    "plan",
    "probe",
    "process",
    "process_audio",
    "process_video",
]
