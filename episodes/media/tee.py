"""Build the target of ffmpeg's ``tee`` muxer: several files written from the same encoded packets.

Usage::

    from episodes.media.tee import tee_target

    target = tee_target([
        ({"f": "mp4", "movflags": "+faststart", "select": "v:0,a:0"}, Path("/w/video_720p.mp4")),
        ({"f": "ipod", "select": "a:0"}, Path("/w/audio.m4a")),
    ])
    # → "[f=mp4:movflags=+faststart:select=v\\\\:0\\\\,a\\\\:0]/w/video_720p.mp4|[f=ipod:select=a\\\\:0]/w/audio.m4a"

The tee muxer reads its target in two passes, each undoing one level of backslash escaping: the whole
string is cut into slaves at ``|`` (libavformat ``av_get_token``), then each slave's ``[key=value:...]`` list is
parsed into options (``av_opt_get_key_value``) and the rest is the file name. An option value is therefore
escaped twice and a file name once; every character either parser treats specially is escaped, so any path
(spaces, colons, quotes, brackets, pipes) reaches the slave muxer unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

# Characters with a meaning to av_get_token (quote, escape, the slave delimiter; leading and trailing blanks
# are trimmed) and, for option lists, to av_opt_get_key_value (key/value and option separators, the closing
# bracket). Escaping a character that needs none is harmless: a backslash always yields the next character.
_SLAVE_SPECIAL = frozenset("\\'|[] \t\n")
_OPTION_SPECIAL = _SLAVE_SPECIAL | frozenset(":=,")


def _escape(text: str, special: frozenset[str]) -> str:
    return "".join("\\" + ch if ch in special else ch for ch in text)


def tee_slave(options: Mapping[str, str | int], path: Path | str) -> str:
    """One slave: its muxer options (``f``, ``select``, and the muxer's own) and its output file."""
    pairs = ":".join(f"{_escape(k, _OPTION_SPECIAL)}={_escape(str(v), _OPTION_SPECIAL)}" for k, v in options.items())
    return _escape(f"[{pairs}]", _SLAVE_SPECIAL) + _escape(str(path), _SLAVE_SPECIAL)


def tee_target(slaves: Iterable[tuple[Mapping[str, str | int], Path | str]]) -> str:
    """The tee muxer's output "file name": every slave, ``|``-separated."""
    return "|".join(tee_slave(options, path) for options, path in slaves)
