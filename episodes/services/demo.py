"""The run command's ``--demo``: a show with a generated episode and explainer video, processed for real."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from django.core.files import File

from episodes.media_config import ffmpeg_binary
from episodes.models import Episode, Show, Status, Video

from .articles import article_link_media, article_upsert
from .content import episode_create, episode_publish, show_create, video_create, video_publish
from .uploads import media_source_create

DEMO_SLUG = "ukraine-insights"
EPISODE_SECONDS = 30
VIDEO_SECONDS = 12

# Speech-like sound: a voiced buzz with a wandering pitch, shaped by a syllable-rate envelope, plus breathy noise.
VOICE = (
    "aevalsrc='0.25*sin(2*PI*(140+25*sin(2*PI*0.3*t))*t)*(0.55+0.45*sin(2*PI*3.2*t))"
    "*gt(sin(2*PI*0.21*t)+0.6\\,0)':s=44100:d={d}"
)
BREATH = "anoisesrc=c=pink:a=0.03:d={d}:r=44100"
MIX = "[0:a][1:a]amix=inputs=2:normalize=0,highpass=f=90,lowpass=f=5000,aformat=channel_layouts=stereo"


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True, timeout=300
    )


def generate_demo_episode_audio(path: Path, seconds: int = EPISODE_SECONDS) -> Path:
    """A spoken-style stereo WAV: voice-band buzz with syllables and pauses, some breath noise."""
    _ffmpeg(
        "-f", "lavfi", "-i", VOICE.format(d=seconds),
        "-f", "lavfi", "-i", BREATH.format(d=seconds),
        "-filter_complex", MIX,
        "-c:a", "pcm_s16le", str(path),
    )  # fmt: skip
    return path


def generate_demo_video(path: Path, seconds: int = VIDEO_SECONDS) -> Path:
    """A 720p30 explainer-like clip (a slow fractal zoom) with a narration-like track."""
    _ffmpeg(
        "-f", "lavfi", "-i", f"mandelbrot=s=1280x720:r=30,trim=duration={seconds}",
        "-f", "lavfi", "-i", VOICE.format(d=seconds),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path


def generate_demo_artwork(path: Path) -> Path:
    """A 1400×1400 PNG cover (Apple's minimum): blue and yellow bands with the show's initials."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1400, 1400), (0, 87, 183))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 700, 1400, 1400), fill=(255, 215, 0))
    font = ImageFont.load_default(size=360)
    draw.text((700, 700), "UI", fill=(255, 255, 255), font=font, anchor="mm", stroke_width=12, stroke_fill=(0, 0, 0))
    image.save(path, format="PNG")
    return path


def demo_seed(*, with_media: bool = True) -> Show:
    """Create the demo show with one episode and one explainer (once; running it again changes nothing)."""
    existing = Show.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return existing
    show = show_create(
        title="Ukraine Insights",
        slug=DEMO_SLUG,
        description=(
            "A weekly look at the war, politics and everyday life in Ukraine, with our correspondents in Kyiv. "
            "Щотижневий огляд подій в Україні."
        ),
        language="en",
        categories=[["News", "Politics"], ["News", "Daily News"]],
        author="Media Hub Demo Newsroom",
        owner_name="Media Hub Demo Newsroom",
        owner_email="podcasts@example.com",
        copyright="© 2026 Media Hub Demo Newsroom",
        website_url="https://news.example.com/podcasts/ukraine-insights",
    )
    episode = episode_create(
        show=show,
        title="Україна: тиждень 1 — energy, frontline, diplomacy",
        slug="тиждень-1",
        summary="Our Kyiv team on the week's three stories.",
        show_notes="<p>This week: <strong>energy</strong>, the frontline and diplomacy.</p>",
        season=1,
        number=1,
        chapters=[
            {"start": 0, "title": "Вступ / Intro"},
            {"start": 10, "title": "Energy"},
            {"start": 20, "title": "Diplomacy"},  # the audio lasts 30 s: every chapter starts inside it
        ],
    )
    video = video_create(
        show=show,
        title="Explained: how the power grid survives the winter",
        slug="explained-power-grid",
        description="<p>A short explainer.</p>",
    )
    article, _ = article_upsert(
        external_id="demo-article-1",
        url="https://news.example.com/ukraine/power-grid-winter",
        title="How Ukraine's power grid survives the winter",
    )
    article_link_media(article=article, items=[video, episode])
    if with_media:
        with tempfile.TemporaryDirectory(prefix="media-hub-demo-") as tmp:
            cover = generate_demo_artwork(Path(tmp) / "ukraine-insights.png")
            with cover.open("rb") as fh:
                show.artwork.save(cover.name, File(fh), save=True)
            audio = generate_demo_episode_audio(Path(tmp) / "тиждень-1.wav")
            clip = generate_demo_video(Path(tmp) / "power-grid.mp4")
            with audio.open("rb") as fh:
                media_source_create(owner=episode, file=File(fh, name=audio.name), filename=audio.name)
            with clip.open("rb") as fh:
                media_source_create(owner=video, file=File(fh, name=clip.name), filename=clip.name)
    return show


def demo_publish_when_ready(*, show: Show, timeout_s: float = 900, poll_s: float = 1.0) -> list[str]:
    """Publish the demo items as soon as the worker has processed them; returns what was published."""
    published: list[str] = []
    deadline = time.monotonic() + timeout_s
    pending: list[Episode | Video] = [*Episode.objects.filter(show=show), *Video.objects.filter(show=show)]
    while pending and time.monotonic() < deadline:
        for item in list(pending):
            item.refresh_from_db()
            if item.status == Status.READY:
                if isinstance(item, Episode):
                    episode_publish(episode=item)
                else:
                    video_publish(video=item)
                published.append(item.title)
                pending.remove(item)
            elif item.status in {Status.PUBLISHED, Status.FAILED, Status.DRAFT}:
                pending.remove(item)
        if pending:
            time.sleep(poll_s)
    return published
