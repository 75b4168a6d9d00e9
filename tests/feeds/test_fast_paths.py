"""The feed's fast paths (items serialised one by one and memoised, reused sanitiser, URLs without PurePosixPath)
give what the slow, obvious code gives: feedgen's own rss_str(), feeds.formatting and episodes.links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from lxml import etree

from episodes.links import rendition_path
from episodes.models import Rendition
from feeds.builder import build_feed, feed_generator, fill_channel, fill_entry, show_notes_html
from feeds.data import AlternateEnclosure, FeedEpisode, FeedShow, Integrity, Person, Soundbite, Transcript
from feeds.formatting import sanitize_show_notes, xml_text
from feeds.items import ItemFragments
from feeds.mapping import RENDITION_COLUMNS, _rendition_url, artwork_url
from feeds.rss_extras import rfc2822_fast
from tests.feeds.conftest import make_episode, make_show

NASTY = "A & B < C > D \" ' \r\n\t \x01\x0b \ufffe ]]> é 😀 &amp;"


def _reserialised(xml: bytes) -> bytes:
    parser = etree.XMLParser(strip_cdata=False)
    tree = etree.fromstring(xml, parser).getroottree()
    return bytes(etree.tostring(tree, encoding="UTF-8", xml_declaration=True))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"title": NASTY, "summary": NASTY, "content_html": f"<p>{NASTY}</p>", "guid": f"g-{NASTY}"},
        {"summary": "", "content_html": "<b>notes only</b>"},
        {"summary": "", "content_html": "<p>x ]]&gt; y</p>"},
        {"title": "  ", "link": "https://news.example.com/a?b=1&c=2 ü", "image_url": "https://x.example/y.jpeg?a=1&b=2"},
        {
            "duration": None, "episode": None, "season": None, "episode_type": "trailer", "explicit": True,
            "transcripts": (Transcript(url="https://é.example/t.vtt", mime_type=NASTY, language="", rel=""),),
            "soundbites": (Soundbite(start=0, duration=1.25), Soundbite(start=3, duration=4, title=NASTY)),
            "persons": (Person(name=NASTY, role=NASTY, group="g", href='https://a.example/?x=1&y="2"'),),
            "alternate_enclosures": (
                AlternateEnclosure(mime_type=NASTY, sources=("https://a.example/b c", "https://a.example/?q=1&r=2"),
                                   lang="uk", height=0, bitrate=0.5, title=NASTY, codecs=NASTY, default=True,
                                   integrity=Integrity(type="sri", value=NASTY)),
            ),
        },
    ],
)  # fmt: skip
def test_items_are_the_bytes_of_feedgens_own_document(overrides: dict[str, object]) -> None:
    show, episodes = make_show(), [make_episode(1, **overrides), make_episode(2), make_episode(3, **overrides)]
    xml = build_feed(show, episodes)
    assert xml == _feedgen_document(show, episodes)  # entries added to the FeedGenerator, then fg.rss_str()
    memo: dict[FeedEpisode, bytes] = {}
    assert build_feed(show, episodes, items=memo) == xml
    assert len(memo) == len(set(episodes))
    assert build_feed(show, episodes, items=memo) == xml  # every item from the memo
    assert _reserialised(xml) == xml  # parse + serialise again with lxml: not one byte differs
    item = etree.fromstring(xml).find("channel/item")
    assert item is not None
    title = xml_text(str(overrides.get("title", make_episode(1).title))).strip()
    assert item.findtext("title") == (title or None)


def _feedgen_document(show: FeedShow, episodes: list[FeedEpisode]) -> bytes:
    fg = feed_generator()
    fill_channel(fg, show, None)
    for episode in episodes:
        fill_entry(fg.add_entry(order="append"), episode)
    return bytes(fg.rss_str(pretty=False, encoding="UTF-8", xml_declaration=True))


class CountingMemo(dict[FeedEpisode, bytes]):
    built = 0

    def update(self, items: dict[FeedEpisode, bytes], /) -> None:  # type: ignore[override]
        self.built += len(items)
        super().update(items)


def test_an_edit_rebuilds_only_that_item() -> None:
    show = make_show()
    episodes = [make_episode(n) for n in range(1, 6)]
    memo = CountingMemo()
    build_feed(show, episodes, items=memo)
    assert memo.built == 5
    edited = [make_episode(3, title="Нова назва"), *episodes[:2], *episodes[3:]]
    xml = build_feed(show, edited, items=memo)
    assert memo.built == 6  # the edited episode only
    assert xml == _feedgen_document(show, edited)
    assert "Нова назва".encode() in xml and xml.count(b"<item>") == 5


def test_item_fragments_are_bounded_and_least_recently_used_go_first() -> None:
    episodes = [make_episode(n) for n in range(1, 5)]
    xml = {episode: _feedgen_document(make_show(), [episode]) for episode in episodes}
    size = max(len(v) for v in xml.values())
    fragments = ItemFragments(max_bytes=3 * size)
    fragments.update({episode: xml[episode] for episode in episodes[:3]})
    assert fragments.get(episodes[0]) == xml[episodes[0]]  # now the most recently used
    fragments[episodes[3]] = xml[episodes[3]]
    assert fragments.get(episodes[1]) is None  # the least recently used went
    assert fragments.get(episodes[0]) is not None and fragments.get(episodes[3]) is not None
    assert fragments.size_bytes <= 3 * size and len(fragments) == 3
    fragments.clear()
    assert len(fragments) == 0 and fragments.size_bytes == 0


def test_an_item_without_title_or_description_is_refused_as_feedgen_did() -> None:
    with pytest.raises(ValueError, match="Required fields"):
        build_feed(make_show(), [make_episode(1, title=" ", summary="", content_html="")])


@pytest.mark.parametrize(
    "html",
    [
        "<p>Нотатки <a href='https://x.example/a?b=1&c=2' onclick='x()'>link</a></p>",
        "<script>alert(1)</script><p>ok</p><img src=x onerror=y>",
        f"<p>{NASTY}</p><a href='javascript:alert(1)'>j</a><a href='mailto:a@b.example'>m</a>",
        "  <h2>T</h2><ul><li>1<li>2</ul><table><tr><td>x</td></tr></table>  ",
        "",
    ],
)
def test_show_notes_sanitiser_matches_formatting(html: str) -> None:
    assert show_notes_html(html) == sanitize_show_notes(html)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 3, 1, 9, 30, 5, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2024, 2, 29, 0, 0, tzinfo=timezone(timedelta(hours=-8))),
    ],
)
def test_fast_rfc2822_matches_email_utils(moment: datetime) -> None:
    assert rfc2822_fast(moment) == format_datetime(moment)


@pytest.mark.parametrize(
    ("kind", "variant", "key"),
    [
        ("audio_mp3", "", "renditions/episodes/1/run1/audio_mp3.mp3"),
        ("video_mp4", "720p", "renditions/videos/3/run2/video_mp4-720p.mp4"),
        ("hls", "", "renditions/videos/3/run2/hls/master.m3u8"),
        ("audio_opus", "", "renditions/x/.hidden"),
        ("audio_aac", "", "renditions/x/noext"),
        ("audio_aac", "", "renditions//x/./a.b.m4a/"),
        ("audio_aac", "", "trailing.dot."),
    ],
)
@pytest.mark.parametrize("sha256", ["", "3f1c0a9b52de" + "0" * 52])
def test_rendition_urls_match_episodes_links(kind: str, variant: str, key: str, sha256: str) -> None:
    rendition = Rendition(episode_id=12, kind=kind, variant=variant, storage_key=key, sha256=sha256)
    values = {"episode_id": 12, "video_id": None, "kind": kind, "variant": variant, "storage_key": key,
              "sha256": sha256}  # fmt: skip
    row = tuple(values.get(name) for name in RENDITION_COLUMNS)
    assert _rendition_url("https://h.example/d/e/12", row) == "https://h.example" + rendition_path(rendition)


@pytest.mark.parametrize("name", ["artwork/e/1.JPG", "artwork/e/cover", "artwork/e/.png", "a//b/./c.PnG/", ""])
def test_artwork_url_with_a_given_base_matches_the_settings_one(name: str) -> None:
    from django.conf import settings

    assert artwork_url("e", 7, name, public=settings.PUBLIC_BASE_URL) == artwork_url("e", 7, name)
    if name.endswith(".JPG"):
        assert "/d/e/7/artwork.jpg?v=" in artwork_url("e", 7, name)
