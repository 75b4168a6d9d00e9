"""Tiny generated media fixtures (ffmpeg lavfi), shared by the whole media test session."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import imageio_ffmpeg
import pytest

from episodes.media import MediaConfig

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
# Speech-like: pink noise in the voice band (100 Hz–4 kHz) with a 3 Hz syllable-rate tremolo.
SPEECH = "anoisesrc=c=pink:a=0.08:d={d}:r=44100:seed=1234,highpass=f=100,lowpass=f=4000,tremolo=f=3:d=0.7"


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


@pytest.fixture(scope="session")
def fast_config() -> MediaConfig:
    """Real argv, but ultrafast x264 and a short stall timeout so CI stays quick."""
    return MediaConfig(x264_preset="ultrafast", stall_timeout_s=60, timeout_base_s=120)


class Clips:
    """Lazily generated clips, each made once per session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def _make(self, name: str, *args: str) -> Path:
        path = self.root / name
        with self._lock:
            if not path.exists():
                ffmpeg(*args, str(path))
        return path

    def speech(self, seconds: float = 20, name: str = "speech.wav", amp: float = 0.08) -> Path:
        src = SPEECH.format(d=seconds).replace("a=0.08", f"a={amp}")
        return self._make(name, "-f", "lavfi", "-i", src, "-ac", "2", "-c:a", "pcm_s16le")

    def surround(self) -> Path:
        return self._make(
            "surround.flac",
            "-f",
            "lavfi",
            "-i",
            SPEECH.format(d=8),
            "-af",
            "pan=5.1|c0=c0|c1=0.8*c0|c2=c0|c3=0.3*c0|c4=0.5*c0|c5=0.5*c0",
        )

    def peaky(self) -> Path:
        """Speech with a near-full-scale 2 ms plosive-like burst every 2 s: the limiter must work hard."""
        burst = "aevalsrc=0.95*lt(mod(t\\,2)\\,0.002)*sin(2*PI*1000*t)*sin(PI*mod(t\\,2)/0.002):s=44100:d=8"
        speech = SPEECH.format(d=8).replace("a=0.08", "a=0.25")
        return self._make(
            "peaky.wav",
            "-f",
            "lavfi",
            "-i",
            speech,
            "-f",
            "lavfi",
            "-i",
            burst,
            "-filter_complex",
            "[0:a][1:a]amix=inputs=2:normalize=0",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
        )

    def loud_noise(self) -> Path:
        """Loud full-band pink noise clipped at 0 dBFS in 16-bit: true peaks above full scale, a large cut.

        (Pink, like programme material: white noise loses ~1.5 dB of its loudness to the encoders' lowpass.)
        """
        return self._make(
            "loud-noise.wav", "-f", "lavfi", "-i", "anoisesrc=c=pink:a=1:d=8:r=48000:seed=3,volume=8dB", "-ac", "2"
        )

    def long_peaky(self, seconds: float = 150) -> Path:
        """Quiet speech, 8 dB quieter for 30 s of every 50, with a 14 dB louder 50 ms syllable every 3.7 s.

        Long enough for the analysis to sample the limiter's loss on 2 s windows; quiet and peaky enough
        for the limiter to take ~2 dB off at the ~+20 dB it needs.
        """
        shape = "volume='if(lt(mod(t,50),20),1,0.4)*if(lt(mod(t,3.7),0.05),5,1)':eval=frame"
        speech = SPEECH.format(d=seconds).replace("a=0.08", "a=0.25") + "," + shape
        return self._make("long-peaky.flac", "-f", "lavfi", "-i", speech, "-ac", "2")

    def clicks(self) -> Path:
        """Quiet speech with a 0.2 ms near-full-scale click every 0.5 s (mouth clicks, a bad cable): the gain of
        ~+25 dB it needs leaves the limiter only impulses to flatten, which lossy encoders ring on."""
        speech = SPEECH.format(d=10).replace("a=0.08", "a=0.1")
        click = "aevalsrc=0.9*lt(mod(t\\,0.5)\\,0.0002):s=44100:d=10"
        return self._make(
            "clicks.wav", "-f", "lavfi", "-i", speech, "-f", "lavfi", "-i", click,
            "-filter_complex", "[0:a][1:a]amix=inputs=2:normalize=0", "-ac", "2", "-c:a", "pcm_s16le",
        )  # fmt: skip

    def mostly_black(self, content_s: float = 3) -> Path:
        """10 s of black, then ``content_s`` s of picture (0: all black), with sound."""
        seconds = 10 + content_s
        picture = "color=black:s=320x240:r=15:d=10"
        if content_s:
            picture = f"{picture}[b];testsrc2=s=320x240:r=15:d={content_s}[t];[b][t]concat=n=2:v=1"
        return self._make(
            f"black-{content_s:g}.mp4", "-f", "lavfi", "-i", picture, "-f", "lavfi", "-i", SPEECH.format(d=seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        )  # fmt: skip

    def still_then_busy(self) -> Path:
        """12 s of a still picture, then 6 s of full-screen noise, with sound: under a capped CRF its last
        segment peaks far above the average (Apple's HLS rule wants ≤ 2×)."""
        picture = (
            "smptebars=s=320x240:r=15:d=12[s];color=gray:s=320x240:r=15:d=6,noise=alls=100:allf=t+u[n];"
            "[s][n]concat=n=2:v=1"
        )
        return self._make(
            "still-then-busy.mp4", "-f", "lavfi", "-i", picture, "-f", "lavfi", "-i", SPEECH.format(d=18),
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        )  # fmt: skip

    def narrowband(self) -> Path:
        return self._make(
            "narrow.wav",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:sample_rate=8000:d=6",
            "-af",
            "volume=-20dB,tremolo=f=3:d=0.7",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
        )

    def with_cover(self) -> Path:
        return self._make(
            "cover.mp3",
            "-f",
            "lavfi",
            "-i",
            SPEECH.format(d=4),
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x64:d=1",
            "-map",
            "0",
            "-map",
            "1",
            "-frames:v",
            "1",
            "-c:a",
            "libmp3lame",
            "-c:v",
            "mjpeg",
            "-disposition:v",
            "attached_pic",
        )

    def video(
        self,
        name: str | None = None,
        size: str = "640x480",
        rate: int = 15,
        seconds: float = 13,
        audio: bool = True,
        extra: tuple[str, ...] = (),
    ) -> Path:
        name = name or f"video-{size}-{rate}-{seconds}-{int(audio)}.mp4"
        args = ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}"]
        if audio:
            args += ["-f", "lavfi", "-i", SPEECH.format(d=seconds), "-c:a", "aac", "-ac", "2", "-shortest"]
        return self._make(name, *args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra)

    def rotated(self) -> Path:
        plain = self.video("landscape.mp4", size="640x360", seconds=3)
        return self._make("rotated.mp4", "-display_rotation", "90", "-i", str(plain), "-c", "copy")

    def vfr(self) -> Path:
        return self._make(
            "vfr.mkv",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=30:d=2",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=10:d=2",
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1[v]",
            "-map",
            "[v]",
            "-fps_mode",
            "passthrough",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        )

    def hdr10(self) -> Path:
        return self._make(
            "hdr10.mp4",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=480x360:r=15:d=2",
            "-vf",
            "format=yuv420p10le,setparams=color_trc=smpte2084:color_primaries=bt2020:colorspace=bt2020nc",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        )


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    return Clips(tmp_path_factory.mktemp("clips"))


class HitRecorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        HitRecorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.end_headers()
        self.wfile.write(b"\x47" * 188)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server API
        pass


@pytest.fixture()
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server recording every request path; yields (base URL, hits)."""
    HitRecorder.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), HitRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", HitRecorder.hits
    finally:
        server.shutdown()
        server.server_close()


def ebur128(path: Path) -> tuple[float, float]:
    """Measure (integrated LUFS, true peak dBTP) of a rendered file with ffmpeg's ebur128."""
    from episodes.media.loudness import parse_ebur128

    done = subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-af",
            "ebur128=peak=true:framelog=quiet",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = parse_ebur128(done.stderr.splitlines())
    return measured.integrated_lufs, measured.true_peak_dbtp
