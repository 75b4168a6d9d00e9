"""Probe one media file with PyAV and print a JSON report; run only as a resource-limited child.

Usage (what ``episodes.media.probe.probe`` runs)::

    python -m episodes.media.probe_worker --formats mov,mp3 --max-memory 2147483648 --max-cpu 60 FILE

Prints ``{"ok": true, ...}`` or ``{"ok": false, "error": "...", "detected": "png_pipe"}`` on stdout.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from fractions import Fraction
from typing import Any

# How far to read packets to judge frame-rate regularity (VFR) without reading the whole file.
_VFR_SAMPLE_PACKETS = 240

_TRANSFERS = {16: "smpte2084", 18: "arib-std-b67", 1: "bt709", 13: "iec61966-2-1", 14: "bt2020-10"}


def _limit_resources(max_memory: int, max_cpu: int) -> None:
    """Cap address space and CPU time so a hostile file cannot exhaust the host."""
    resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
    resource.setrlimit(resource.RLIMIT_CPU, (max_cpu, max_cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _rate(value: Fraction | None) -> float | None:
    return float(value) if value else None


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    return float(value * time_base) if value and time_base else None


def _frame_rate_info(container: Any, stream: Any) -> tuple[float | None, bool]:
    """Return (frames per second, variable frame rate?) from the first packets' timestamps."""
    nominal = _rate(stream.average_rate) or _rate(stream.guessed_rate) or _rate(stream.base_rate)
    pts: list[int] = []
    container.seek(0)
    for packet in container.demux(stream):
        if packet.pts is not None:
            pts.append(packet.pts)
        if len(pts) >= _VFR_SAMPLE_PACKETS:
            break
    pts.sort()
    deltas = [b - a for a, b in zip(pts, pts[1:], strict=False) if b > a]
    if len(deltas) < 3 or stream.time_base is None:
        return nominal, False
    shortest, longest = min(deltas), max(deltas)
    vfr = longest > shortest * 1.5 and longest - shortest > 1
    if vfr and nominal is None:
        nominal = 1 / float(sum(deltas) / len(deltas) * stream.time_base)
    return nominal, vfr


def _video_details(container: Any, stream: Any) -> dict[str, Any]:
    """Decode one frame: rotation (display matrix) and colour properties are only reliable there."""
    import av

    cc: Any = stream.codec_context
    info: dict[str, Any] = {
        "coded_width": cc.width,
        "coded_height": cc.height,
        "pix_fmt": cc.pix_fmt,
        "rotation": 0,
    }
    frame = None
    try:
        container.seek(0)
        frame = next(container.decode(stream), None)
    except (av.FFmpegError, StopIteration):
        frame = None
    pix_fmt = frame.format.name if frame is not None else cc.pix_fmt
    trc = int(frame.color_trc) if frame is not None else int(cc.color_trc or 2)
    if trc == 2:
        trc = int(cc.color_trc or 2)
    rotation = int(round(frame.rotation)) % 360 if frame is not None else 0
    info["rotation"] = rotation
    info["pix_fmt"] = pix_fmt
    info["decoded"] = frame is not None
    try:
        info["bit_depth"] = av.VideoFormat(pix_fmt).components[0].bits if pix_fmt else None
    except (ValueError, av.FFmpegError):
        info["bit_depth"] = None
    info["color_transfer"] = _TRANSFERS.get(trc)
    swap = rotation in (90, 270)
    info["width"], info["height"] = (cc.height, cc.width) if swap else (cc.width, cc.height)
    fps, vfr = _frame_rate_info(container, stream)
    info["frame_rate"], info["vfr"] = fps, vfr
    return info


def probe_file(path: str, formats: str) -> dict[str, Any]:
    """Open ``path`` restricted to ``formats`` and the file protocol, and describe it."""
    import av
    import av.logging

    av.logging.set_level(av.logging.ERROR)
    options = {"format_whitelist": formats, "protocol_whitelist": "file"}
    try:
        with av.logging.Capture(local=False) as logs:
            container = av.open(path, mode="r", options=options)
    except av.FFmpegError as exc:
        detected = next((name for _lvl, name, msg in logs if "not on whitelist" in msg), None)
        return {"ok": False, "error": type(exc).__name__, "detected": detected, "message": str(exc)}
    with container:
        streams: list[dict[str, Any]] = []
        for stream in container.streams:
            cc: Any = stream.codec_context
            entry: dict[str, Any] = {
                "index": stream.index,
                "kind": stream.type,
                "codec": stream.codec.canonical_name if cc is not None else None,
                "profile": getattr(cc, "profile", None),
                "bit_rate": cc.bit_rate if cc is not None and cc.bit_rate else None,
                "duration": _seconds(stream.duration, stream.time_base),
                "attached_pic": bool(int(stream.disposition) & 0x400),
                "language": stream.metadata.get("language"),
                "tags": dict(stream.metadata),
            }
            if stream.type == "audio":
                entry.update(
                    sample_rate=cc.sample_rate,
                    channels=cc.channels,
                    channel_layout=cc.layout.name if cc.layout else None,
                )
            elif stream.type == "video" and not entry["attached_pic"]:
                entry.update(_video_details(container, stream))
            elif stream.type == "video":
                entry.update(width=cc.width, height=cc.height, pix_fmt=cc.pix_fmt)
            streams.append(entry)
        chapters = [
            {
                "start": _seconds(ch["start"], ch["time_base"]) or 0.0,
                "end": _seconds(ch["end"], ch["time_base"]) or 0.0,
                "title": ch["metadata"].get("title", ""),
            }
            for ch in container.chapters()
        ]
        return {
            "ok": True,
            "format": container.format.name,
            "duration": container.duration / 1_000_000 if container.duration else None,
            "bit_rate": container.bit_rate or None,
            "tags": dict(container.metadata),
            "streams": streams,
            "chapters": chapters,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path")
    parser.add_argument("--formats", required=True)
    parser.add_argument("--max-memory", type=int, default=2 * 1024**3)
    parser.add_argument("--max-cpu", type=int, default=60)
    args = parser.parse_args(argv)
    _limit_resources(args.max_memory, args.max_cpu)
    try:
        import av  # noqa: F401 - loading the decoders must itself fit under the limits
    except (ImportError, MemoryError, OSError) as exc:
        json.dump({"ok": False, "error": "StartupFailed", "message": str(exc)}, sys.stdout)
        return 0
    try:
        report = probe_file(args.path, args.formats)
    except Exception as exc:  # noqa: BLE001 - any crash becomes a report the parent can explain
        report = {"ok": False, "error": type(exc).__name__, "message": str(exc)}
    json.dump(report, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
