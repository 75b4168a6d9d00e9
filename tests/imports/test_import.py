"""Import a show from RSS: messy real-world feeds from a local server, idempotent re-runs, hostile documents."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from episodes.models import Episode, MediaSource, ProcessingJob
from episodes.services.errors import InvalidInput
from imports import fetch as fetch_module
from imports.fetch import FetchError, _check_address
from imports.models import ImportItem, ImportJob
from imports.parse import FeedParseError, parse_duration, parse_feed
from imports.services import import_create, import_item_download, import_run
from tests.imports.conftest import FeedServer, Route

pytestmark = pytest.mark.django_db


def feed(items: str, *, encoding: str = "UTF-8", extra: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:podcast="https://podcastindex.org/namespace/1.0"
 xmlns:psc="http://podlove.org/simple-chapters">
<channel>
<title>Голос Києва</title>
<link>https://old-host.example/golos</link>
<description><![CDATA[<p>Щотижневий подкаст про <b>Київ</b>.</p>]]></description>
<language>uk</language>
<itunes:author>Редакція</itunes:author>
<itunes:owner><itunes:name>Редакція</itunes:name><itunes:email>pod@old-host.example</itunes:email></itunes:owner>
<itunes:image href="https://old-host.example/cover.jpg?v=3"/>
<itunes:category text="News"><itunes:category text="Politics"/></itunes:category>
<itunes:explicit>no</itunes:explicit>
<podcast:funding url="https://old-host.example/donate">Підтримати</podcast:funding>
<podcast:person role="host" href="https://old-host.example/olena">Олена Петренко</podcast:person>
{extra}
{items}
</channel></rss>""".encode(encoding)


def item(n: int, enclosure: str, *, guid: str | None = None, duration: str = "00:30:05", notes: str = "",
         length: str = ' length="123456"') -> str:  # fmt: skip
    escaped = enclosure.replace("&", "&amp;")
    enclosure_tag = f'<enclosure url="{escaped}"{length} type="audio/mpeg"/>' if enclosure else ""
    return f"""<item>
<title>Випуск {n}: «Київ уночі»</title>
<guid isPermaLink="false">{guid if guid is not None else f"golos-{n}"}</guid>
<pubDate>Mon, 0{n} Jan 2024 06:00:00 +0200</pubDate>
<itunes:season>2</itunes:season><itunes:episode>{n}</itunes:episode><itunes:episodeType>full</itunes:episodeType>
<itunes:explicit>{"yes" if n == 2 else "no"}</itunes:explicit>
<itunes:duration>{duration}</itunes:duration>
{notes or f"<content:encoded><![CDATA[<p>Нотатки {n} <script>alert(1)</script><a href='https://x.example/{n}'>лінк</a></p>]]></content:encoded>"}
{enclosure_tag}
<psc:chapters version="1.2"><psc:chapter start="00:00:00" title="Вступ"/><psc:chapter start="00:05:30.5" title="Головне"/></psc:chapters>
<podcast:transcript url="https://old-host.example/{n}.vtt" type="text/vtt" language="uk"/>
<podcast:person role="guest">Гість {n}</podcast:person>
</item>"""  # noqa: E501


def test_durations() -> None:
    assert parse_duration("01:02:03") == 3723
    assert parse_duration("62:03") == 3723
    assert parse_duration("3723") == 3723
    assert parse_duration("3723.5") == 3723.5
    assert parse_duration("") is None and parse_duration("abc") is None and parse_duration("1:2:3:4") is None


def test_a_messy_windows_1251_feed_over_gzip_with_redirected_enclosures(feed_server: FeedServer) -> None:
    audio = feed_server.url("/media/ep1.mp3?source=rss&t=1")
    feed_server.routes["/r1"] = Route(location=feed_server.url("/r2"), status=301)
    feed_server.routes["/r2"] = Route(location=audio, status=302)
    items = "".join([
        item(3, feed_server.url("/r1"), duration="1805", guid="https://old-host.example/?p=3&amp;a=b"),
        item(2, audio, duration="30:05", length=""),
        item(1, audio, notes="<description>&lt;p&gt;Нотатки &amp;amp; посилання&lt;/p&gt;</description>"),
    ])  # fmt: skip
    feed_server.routes["/feed.xml"] = Route(body=feed(items, encoding="windows-1251"), gzip=True, etag='"v1"')
    job = import_run(job_id=import_create(url=feed_server.url("/feed.xml")).pk)
    assert job is not None and job.state == ImportJob.State.DONE, job.error if job else None
    assert feed_server.log[0][1].get("Accept-Encoding") == "gzip"
    show = job.show
    assert show is not None and show.title == "Голос Києва" and show.language == "uk"
    assert show.description == "Щотижневий подкаст про Київ."
    assert show.funding == [{"url": "https://old-host.example/donate", "text": "Підтримати"}]
    assert show.categories == ["News/Politics"]
    episodes = {e.guid: e for e in Episode.objects.filter(show=show)}
    assert set(episodes) == {"golos-1", "golos-2", "https://old-host.example/?p=3&a=b"}  # byte for byte
    first = episodes["golos-1"]
    assert first.title == "Випуск 1: «Київ уночі»" and first.season == 2 and first.number == 1
    assert first.show_notes == "<p>Нотатки &amp; посилання</p>"  # entity-encoded notes decoded once, sanitised
    two = episodes["golos-2"]
    assert two.explicit and "<script>" not in two.show_notes and "лінк" in two.show_notes
    assert two.chapters == [{"start": 0.0, "title": "Вступ"}, {"start": 330.5, "title": "Головне"}]
    rows = {r.guid: r for r in ImportItem.objects.filter(job=job)}
    assert rows["golos-1"].original_publish_at == datetime(2024, 1, 1, 4, 0, tzinfo=UTC)
    assert all(r.state == ImportItem.State.PENDING for r in rows.values())


def test_rerun_imports_only_new_items_and_honours_304(feed_server: FeedServer) -> None:
    audio = feed_server.url("/a.mp3")
    feed_server.routes["/feed.xml"] = Route(body=feed(item(1, audio)), etag='"v1"')
    first = import_run(job_id=import_create(url=feed_server.url("/feed.xml")).pk)
    assert first is not None and first.items_new == 1
    again = import_run(job_id=import_create(url=feed_server.url("/feed.xml")).pk)
    assert again is not None and again.state == ImportJob.State.DONE and again.items_new == 0
    assert feed_server.log[-1][1].get("If-None-Match") == '"v1"'  # answered 304
    feed_server.routes["/feed.xml"] = Route(body=feed(item(2, audio) + item(1, audio)), etag='"v2"')
    third = import_run(job_id=import_create(url=feed_server.url("/feed.xml"), show=first.show).pk)
    assert third is not None and (third.items_seen, third.items_new) == (2, 1)
    assert Episode.objects.filter(show=first.show).count() == 2


def test_one_bad_item_fails_alone(feed_server: FeedServer) -> None:
    audio = feed_server.url("/a.mp3")
    bad_date = item(4, audio).replace("Mon, 04 Jan 2024 06:00:00 +0200", "someday")
    document = feed(item(1, audio) + item(2, "") + bad_date + item(3, audio, guid=""))
    job = import_run(job_id=import_create(document=document).pk)
    assert job is not None and job.state == ImportJob.State.DONE
    states = {r.title: (r.state, r.error) for r in ImportItem.objects.filter(job=job)}
    assert states["Випуск 1: «Київ уночі»"][0] == ImportItem.State.PENDING
    assert "no enclosure" in states["Випуск 2: «Київ уночі»"][1]
    assert "pubDate" in states["Випуск 4: «Київ уночі»"][1]
    assert Episode.objects.count() == 2  # item 3 has no <guid> text: the enclosure URL stands in, as apps do


def test_multibyte_encoding_is_decoded() -> None:
    parsed = parse_feed(feed(item(1, "https://x.example/a.mp3"), encoding="gb18030"))  # expat cannot: Python can
    assert parsed.channel.title == "Голос Києва"
    assert parsed.items[0].title == "Випуск 1: «Київ уночі»"


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<rss><channel><title>&b;</title></channel></rss>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><title>&x;</title></channel></rss>",
        b"<rss><channel><title>unclosed</channel></rss>",
        b"<html><body>not a feed</body></html>",
    ],
    ids=["billion-laughs", "xxe", "malformed", "not-rss"],
)
def test_hostile_and_broken_documents_fail_the_job_with_a_reason(document: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse_feed(document)
    job = import_run(job_id=import_create(document=document).pk)
    assert job is not None and job.state == ImportJob.State.FAILED and job.error
    assert not Episode.objects.exists()


def test_huge_feed_and_gzip_bomb_are_bounded(feed_server: FeedServer, settings: Any) -> None:
    settings.IMPORT_MAX_FEED_BYTES = 10_000
    feed_server.routes["/big.xml"] = Route(body=b"<rss>" + b" " * 50_000 + b"</rss>")
    feed_server.routes["/bomb.xml"] = Route(body=b"<rss>" + b"\0" * 5_000_000 + b"</rss>", gzip=True)
    for path in ("/big.xml", "/bomb.xml"):
        job = import_run(job_id=import_create(url=feed_server.url(path)).pk)
        assert job is not None and job.state == ImportJob.State.FAILED and "larger than" in job.error


def test_only_http_urls_and_only_public_addresses(feed_server: FeedServer, settings: Any) -> None:
    with pytest.raises(InvalidInput):
        import_create(url="file:///etc/passwd")
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fe80::1", "::ffff:10.0.0.1",
                    "0.0.0.0"):  # fmt: skip  # noqa: S104
        settings.IMPORT_ALLOW_PRIVATE_NETWORKS = False
        with pytest.raises(FetchError):
            _check_address(address)
    _check_address("93.184.216.34")  # a public address passes
    settings.IMPORT_ALLOW_PRIVATE_NETWORKS = False
    feed_server.routes["/feed.xml"] = Route(body=feed(""))
    job = import_run(job_id=import_create(url=feed_server.url("/feed.xml")).pk)
    assert job is not None and job.state == ImportJob.State.FAILED and "non-public address" in job.error
    assert feed_server.log == []  # refused before connecting


def test_every_redirect_is_checked_again(feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    feed_server.routes["/feed.xml"] = Route(location=feed_server.url("/hop"), status=301)
    feed_server.routes["/hop"] = Route(location="ftp://127.0.0.1/feed.xml", status=302)
    checked: list[str] = []
    real = fetch_module.resolve

    def recording(host: str, port: int) -> str:
        checked.append(host)
        return real(host, port)

    monkeypatch.setattr(fetch_module, "resolve", recording)
    job = import_run(job_id=import_create(url=feed_server.url("/feed.xml")).pk)
    assert job is not None and job.state == ImportJob.State.FAILED and "Only http(s)" in job.error
    assert checked == ["127.0.0.1", "127.0.0.1"]  # both hops resolved and checked


def test_enclosure_download_resumes_checksums_and_enters_the_pipeline(feed_server: FeedServer) -> None:
    audio = bytes(range(256)) * 400  # 100 KiB
    feed_server.routes["/ep.mp3"] = Route(body=audio, content_type="audio/mpeg", fail_after=30_000)
    job = import_run(job_id=import_create(document=feed(item(1, feed_server.url("/ep.mp3")))).pk)
    assert job is not None
    row = ImportItem.objects.get(job=job)
    first = import_item_download(item_id=row.pk)
    assert first is not None and first.state == ImportItem.State.PENDING and "stopped at" in first.error
    assert first.next_attempt_at is not None and first.bytes_done == 30_000
    ImportItem.objects.filter(pk=row.pk).update(next_attempt_at=None)
    second = import_item_download(item_id=row.pk)
    assert second is not None and second.state == ImportItem.State.PROCESSING, second.error if second else None
    assert feed_server.log[-1][1].get("Range") == "bytes=30000-"  # resumed, not restarted
    assert second.sha256 == hashlib.sha256(audio).hexdigest()
    source = MediaSource.objects.get(episode=second.episode)
    assert source.byte_size == len(audio) and source.sha256 == second.sha256
    assert ProcessingJob.objects.filter(source=source).exists()  # the normal pipeline takes it from here
    assert import_item_download(item_id=row.pk) is None  # done: a resent task does nothing


def test_enclosure_over_the_upload_limit_fails_that_item(feed_server: FeedServer, settings: Any) -> None:
    settings.MEDIA_MAX_UPLOAD_BYTES = 1000
    feed_server.routes["/ep.mp3"] = Route(body=b"x" * 5000, content_type="audio/mpeg")
    job = import_run(job_id=import_create(document=feed(item(1, feed_server.url("/ep.mp3")))).pk)
    assert job is not None
    row = import_item_download(item_id=ImportItem.objects.get(job=job).pk)
    assert row is not None and row.state == ImportItem.State.FAILED and "upload limit" in row.error
    assert not MediaSource.objects.exists()
