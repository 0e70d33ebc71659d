# ruff: noqa: RUF001  (the expected texts are typographic Italian and French on purpose)
"""The RSS/Atom listener end to end: recorded feeds served over real HTTP, runs stored in the DB."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.runtime.runner import RunReport, run_source
from ascolto.settings import HttpSettings, Settings
from listeners.http import HttpClient
from listeners.keywords import KeywordFilter, fold
from listeners.rss import RssListener, RssOptions
from listeners.text import clean_text, html_to_text
from storage.models import Author, ListenerRun, Mention, Source
from tests.conftest import rss_source
from tests.feedserver import FeedServer, Reply

HTTP = {"backoff": 0.05, "retries": 2, "per_host_interval": 0, "read_timeout": 2}
ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)


def setup(make_settings: Any, body: str, **http: Any) -> tuple[Settings, Engine]:
    settings = make_settings(body, http={**HTTP, **http})
    return settings, prepare(settings)


def mentions(engine: Engine, source: str = "news") -> dict[str, Mention]:
    """Stored mentions of one source by external id."""
    with Session(engine) as session:
        rows = session.exec(
            select(Mention)
            .join(Source, col(Source.id) == Mention.source_id)
            .where(Source.name == source)
        ).all()
    return {m.external_id: m for m in rows}


def authors(engine: Engine) -> dict[int, str]:
    with Session(engine) as session:
        return {a.id or 0: a.display_name or a.handle for a in session.exec(select(Author))}


def runs(engine: Engine, source: str = "news") -> list[ListenerRun]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(ListenerRun)
                .join(Source, col(Source.id) == ListenerRun.source_id)
                .where(Source.name == source)
                .order_by(col(ListenerRun.id))
            ).all()
        )


def run(settings: Settings, engine: Engine, name: str = "news") -> RunReport:
    return run_source(settings, engine, name)


def listener(url: str, **options: Any) -> RssListener:
    """The listener alone, for what does not need the database."""
    return RssListener(
        RssOptions(name="x", kind="rss", url=url, **options),
        HttpClient(HttpSettings(**HTTP), allow_private=True),
    )


def assert_plain(text: str | None) -> None:
    """Stored text is plain, decoded, NFC Unicode: no markup, no entities, no scripts."""
    assert text is not None
    assert "<" not in text, text
    assert not ENTITY.search(text), text
    for hostile in ("alert(", "javascript:", "onerror", "document.cookie"):
        assert hostile not in text, text
    assert "\ufffd" not in text, text
    assert "Ã" not in text, text  # UTF-8 read as Latin-1
    assert unicodedata.is_normalized("NFC", text)


def rss(*items: str) -> bytes:
    """A small RSS 2.0 document around the given <item> bodies."""
    inner = "".join(f"<item>{item}</item>" for item in items)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Inline</title><link>https://inline.example/</link>{inner}</channel></rss>\n"
    ).encode()


# --- every recorded fixture ------------------------------------------------------------------


def test_google_news_rss2_brand_feed(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/rss/search", Reply.file("rss/rss2_brand_news.xml"))
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    assert (report.seen, report.new, report.updated, report.skipped) == (8, 8, 0, 0)
    stored = mentions(engine)
    assert len(stored) == 8
    review = stored[
        "CBMiggFodHRwczovL3d3dy5nYWRnZXR3aXJlLmV4YW1wbGUvcmV2aWV3cy9hY21lLXRhYi0zLXJldmlldy1icmln"
        "aHRlci1zY3JlZW4tYmV0dGVyLWJhdHRlcnnSAQA"
    ]
    assert review.title == (
        "Acme Tab 3 review: a brighter screen and a battery that finally lasts - GadgetWire"
    )
    # The escaped <a>…</a>&nbsp;&nbsp;<font>Publisher</font> description becomes plain text.
    assert review.text == (
        "Acme Tab 3 review: a brighter screen and a battery that finally lasts GadgetWire"
    )
    assert review.url is not None
    assert review.url.startswith("https://news.google.com/rss/articles/CBMiggFo")
    assert review.url.endswith("?oc=5")
    assert review.published_at == datetime(2026, 11, 23, 16, 42, tzinfo=UTC)
    assert authors(engine)[review.author_id or 0] == "Priya Raman"
    # Items without dc:creator have no author rather than an invented one.
    assert sum(1 for m in stored.values() if m.author_id is None) == 4
    assert len(set(authors(engine).values())) == 3  # Priya Raman wrote two of them
    for mention in stored.values():
        assert_plain(mention.text)
        assert_plain(mention.title)
        assert mention.published_at is not None
        assert mention.edited_at is None


def test_phpbb_atom_forum_then_edit(make_settings: Any, server: FeedServer) -> None:
    url = server.route(
        "/app.php/feed/forum/12",
        Reply.file("rss/atom_forum.xml", content_type="application/atom+xml; charset=UTF-8"),
        Reply.file("rss/atom_edited.xml", content_type="application/atom+xml; charset=UTF-8"),
    )
    settings, engine = setup(make_settings, rss_source("news", url))
    post = "https://forum.tabletitalia.example/viewtopic.php?p=48213#p48213"

    first = run(settings, engine)

    assert first.status == "ok", first.error
    assert (first.new, first.updated) == (5, 0)
    stored = mentions(engine)
    assert len(stored) == 5
    original = stored[post]
    assert original.url == post
    assert original.title == "Acme Tab 3 • Batteria che si scarica in standby"
    assert "-15% in una notte" in original.text
    assert "Ho già provato a riavviare" in original.text
    assert "EDIT" not in original.text
    assert original.published_at == datetime(2026, 11, 23, 17, 4, 51, tzinfo=UTC)
    assert authors(engine)[original.author_id or 0] == "lucaverdi"
    for mention in stored.values():
        assert_plain(mention.text)
        assert mention.edited_at is None  # <updated> == <published> is not an edit
    # A block tag right after text does not glue two words together.
    assert (
        "Consigli?Statistiche"
        not in stored["https://forum.tabletitalia.example/viewtopic.php?p=48244#p48244"].text
    )
    # The quoted <blockquote> and the reply are separate lines, not one run-on line.
    assert (
        "Qualcuno ha lo stesso problema?\n"
        in stored["https://forum.tabletitalia.example/viewtopic.php?p=48220#p48220"].text
    )

    second = run(settings, engine)

    assert second.status == "ok", second.error
    assert (second.seen, second.new, second.updated) == (6, 1, 1)
    stored = mentions(engine)
    assert len(stored) == 6
    edited = stored[post]
    assert edited.id == original.id
    assert "EDIT: risolto con il firmware 2.1.1" in edited.text
    # phpBB prints "<updated>… </updated>" with a trailing space; the time still parses.
    assert edited.edited_at == datetime(2026, 11, 24, 10, 15, 38, tzinfo=UTC)
    assert edited.published_at == original.published_at
    added = stored["https://forum.tabletitalia.example/viewtopic.php?p=48250#p48250"]
    assert "firmware 2.1.1" in added.text
    assert added.edited_at is None
    assert [m.external_id for m in stored.values() if m.edited_at is not None] == [post]

    third = run(settings, engine)
    assert (third.new, third.updated) == (0, 0)


def test_feed_without_dates_falls_back_to_links(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/feed", Reply.file("rss/rss2_no_dates.xml"))
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    assert report.new == 5
    stored = mentions(engine)
    base = "https://acmefanclub.example/notizie/"
    assert set(stored) == {
        base + "firmware-2-1.html",  # <guid>
        base + "buds-verde-salvia.html",  # <link> only
        base + "raduno-bologna.html?utm_source=rss&utm_medium=feed",  # &amp; decoded
        "breve-2026-0412",  # guid isPermaLink="false", no link and no title
        base + "tab3-vs-tab2.html",  # link surrounded by white space, trimmed
    }
    assert all(m.published_at is None for m in stored.values())
    brief = stored["breve-2026-0412"]
    assert brief.title is None
    assert brief.url is None
    assert brief.text == "Breve: l'Acme Tab 3 è tornato disponibile sullo store ufficiale."
    # An item with only a title keeps the title as its text.
    assert stored[base + "tab3-vs-tab2.html"].text == "Acme Tab 3 vs Tab 2: cosa cambia davvero"
    assert stored[base + "tab3-vs-tab2.html"].url == base + "tab3-vs-tab2.html"
    assert "terrà" in stored[base + "raduno-bologna.html?utm_source=rss&utm_medium=feed"].text


def test_entry_without_guid_or_link_gets_a_stable_hash(
    make_settings: Any, server: FeedServer
) -> None:
    url = server.route(
        "/feed",
        Reply(
            body=rss(
                "<title>Acme Buds</title><description>Nessun link, nessun guid.</description>",
                "<title>Acme Buds</title><description>Un altro testo.</description>",
            )
        ),
    )
    settings, engine = setup(make_settings, rss_source("news", url))

    first = run(settings, engine)
    second = run(settings, engine)

    assert first.status == "ok", first.error
    assert (first.new, second.new, second.updated) == (2, 0, 0)
    ids = set(mentions(engine))
    assert len(ids) == 2
    assert all(re.fullmatch(r"sha1:[0-9a-f]{40}", i) for i in ids), ids


def test_entities_cdata_and_scripts(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/feed/", Reply.file("rss/rss2_entities_cdata.xml"))
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    stored = mentions(engine)
    assert len(stored) == 3
    for mention in stored.values():
        assert_plain(mention.text)
        assert_plain(mention.title)
    battery = stored["https://ilblogdeltablet.example/?p=10482"]
    # Double-escaped "perch&amp;eacute;" in the title decodes to the accent.
    assert battery.title == "Acme Tab 3: la batteria si scarica? Ecco perché (e come risolvere)"
    # content:encoded wins over the description; entities and &nbsp; decode.
    assert "dopo l’aggiornamento 2.1? Non siete gli unici. Vediamo perché" in battery.text
    assert "Perché l’Acme Tab 3 consuma così tanto" in battery.text
    assert "È un bug noto: Acme l’ha confermato il 23 novembre." in battery.text
    assert "«Non è colpa vostra», spiega il supporto. Più info nel forum." in battery.text
    assert authors(engine)[battery.author_id or 0] == "Giulia Ferri"
    buds = stored["https://ilblogdeltablet.example/?p=10471"]
    assert buds.title == "Acme Buds: l’audio è buono, ma il microfono…"
    assert "Le Acme Buds costano 79 € e suonano bene." in buds.text
    assert "Voto: 7/10 — “buone, non ottime”." in buds.text
    bundle = stored["https://ilblogdeltablet.example/?p=10466"]
    assert bundle.title == "Tab 3 & Buds: il bundle in offerta a 349 €"
    # The split-CDATA trick "]]]]><![CDATA[>" decodes to a literal "]]>".
    assert bundle.text == (
        "Offerta a tempo: Acme Tab 3 + Acme Buds a 349 €. "
        "Un prezzo così non l’avevamo mai visto ]]>"
    )


def test_markup_escaped_twice_is_decoded_once_and_shown_as_text(server: FeedServer) -> None:
    # XML-escaped HTML that itself escapes markup: after feedparser's XML layer and the one
    # HTML decoding, what is left is what a reader sees on the page, kept as text.
    hostile = (
        "<guid>x1</guid><title>Acme &amp;amp;lt;b&amp;amp;gt;Tab&amp;amp;lt;/b&amp;amp;gt;</title>"
        "<description>Acme Tab 3 &amp;amp;lt;script&amp;amp;gt;alert(1)&amp;amp;lt;/script"
        "&amp;amp;gt;&amp;lt;img src=x onerror=alert(2)&amp;gt; ok &amp;amp;eacute;</description>"
    )
    url = server.route("/feed", Reply(body=rss(hostile)))

    [stored] = listener(url).fetch(None).items

    assert stored.external_id == "x1"
    assert stored.title == "Acme &lt;b&gt;Tab&lt;/b&gt;"
    # Both are text a reader of the page sees, never markup: the web app escapes them.
    assert stored.text == (
        "Acme Tab 3 &lt;script&gt;alert(1)&lt;/script&gt;<img src=x onerror=alert(2)> ok é"
    )


def test_escaped_markup_and_code_samples_are_kept_as_text(
    make_settings: Any, server: FeedServer
) -> None:
    url = server.route("/atom", Reply.file("rss/atom_escaped_markup.xml"))
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    stored = mentions(engine)
    plain = stored["tag:ascolto.test,2026:title-text-brackets"]
    # type="text": the brackets are text, not markup.
    assert plain.title == plain.text == "History of the <blink> tag"
    html = stored["tag:ascolto.test,2026:content-escaped-markup"]
    assert html.text == "Example Atom"
    code = stored["tag:ascolto.test,2026:code-sample"]
    assert code.title == "Acme SDK: why <module> fails to import"
    assert code.text == (
        "The traceback ends with:\n\n"
        'File "app.py", line 3, in <module>\n'
        "import acme_sdk\n\n"
        'Wrap it in <div class="acme"> and use a && b.'
    )


def test_dates_in_other_languages(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/rss", Reply.file("rss/rss2_localized_dates.xml"))
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    when = {key: m.published_at for key, m in mentions(engine).items()}
    assert when == {
        "pt-1": datetime(2018, 9, 24, 13, 0, tzinfo=UTC),
        "it-1": datetime(2018, 9, 24, 8, 0, tzinfo=UTC),
        "es-1": datetime(2018, 9, 24, 8, 0, tzinfo=UTC),
        "fr-1": datetime(2018, 9, 24, 8, 0, tzinfo=UTC),
        "de-1": datetime(2025, 3, 11, 7, 15, tzinfo=UTC),
        "pt-2": datetime(2018, 9, 24, 0, 0, tzinfo=UTC),
        "en-1": datetime(2018, 9, 24, 10, 0, tzinfo=UTC),
    }


def test_latin1_feed(make_settings: Any, server: FeedServer) -> None:
    # No charset in Content-Type: the ISO-8859-1 prolog has to be honoured.
    url = server.route(
        "/rss.php", Reply.file("rss/rss2_latin1.xml", content_type="application/rss+xml")
    )
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    stored = mentions(engine)
    base = "http://www.consumatori-tech.example/segnalazioni.php?id="
    assert stored[base + "8812"].title == (
        "Acme Tab 3: perché la batteria si scarica così in fretta?"
    )
    assert "Città coinvolte: Forlì, Cantù, Mondovì. «È inaccettabile»" in stored[base + "8812"].text
    assert stored[base + "8809"].title == (
        "Écouteurs Acme Buds : la qualité du son déçoit à Besançon"
    )
    assert "reçu n° 4471" in stored[base + "8809"].text
    assert "Soddisfazione ½ punto" in stored[base + "8801"].text
    for mention in stored.values():
        assert_plain(mention.text)
        assert_plain(mention.title)


def test_utf8_declared_windows1252_feed(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/feed", Reply.file("rss/rss2_wrong_charset.xml"))
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    assert report.new == 2
    assert runs(engine)[-1].warning is None  # a charset override is not worth a warning
    stored = mentions(engine)
    review = stored["http://gadgetcorner.example/reviews/acme-tab-3/"]
    assert review.title == "Acme Tab 3 review: “the café-friendly tablet”"
    assert review.text == (
        "It’s light, it’s fast – and at €329 it’s the tablet we’d take to a café. "
        "The Acme Buds pair instantly… mostly."
    )
    assert authors(engine)[review.author_id or 0] == "José Martín"
    firmware = stored["http://gadgetcorner.example/news/acme-buds-firmware/"]
    assert firmware.text == (
        "Firmware 1.4 removes the crackling — users in Zürich and Montréal confirm."
    )
    assert authors(engine)[firmware.author_id or 0] == "Renée O’Brien"
    for mention in stored.values():
        assert_plain(mention.text)


def test_duplicates_within_a_feed(make_settings: Any, server: FeedServer) -> None:
    url = server.route("/tag/acme/feed.xml", Reply.file("rss/rss2_duplicates.xml"))
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    assert report.new == 3
    stored = mentions(engine)
    assert len(stored) == 3
    # The repeated guid is stored once, with its newer and fuller version.
    story = stored["techaggregator-story-7f3a21"]
    assert story.title == "Acme Tab 3 gets firmware 2.1.1 with standby battery fix"
    assert story.published_at == datetime(2026, 11, 24, 8, 10, tzinfo=UTC)
    # The same story syndicated under two guids is two mentions.
    twins = [stored["techaggregator-story-7f3a0c"], stored["techaggregator-story-7f39e8"]]
    assert (
        twins[0].text
        == twins[1].text
        == ("Acme has cut the price of the Acme Buds to $59 in the US.")
    )
    assert twins[0].id != twins[1].id

    again = run(settings, engine)
    assert (again.new, again.updated) == (0, 0)


# --- keywords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "keywords", "kept"),
    [
        ("rss2_brand_news.xml", ["acme"], 6),  # case-insensitive; 2 items lack the brand
        ("rss2_brand_news.xml", ["ACM", "Tab 30"], 0),  # whole words only
        ("rss2_latin1.xml", ["BESANCON", "qualita"], 2),  # accents ignored both ways
    ],
)
def test_keyword_filter_from_settings(
    make_settings: Any, server: FeedServer, fixture: str, keywords: list[str], kept: int
) -> None:
    url = server.route("/feed", Reply.file(f"rss/{fixture}"))
    settings, engine = setup(make_settings, rss_source("news", url, keywords=keywords))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    total = report.seen
    assert (report.new, report.skipped) == (kept, total - kept)
    assert len(mentions(engine)) == kept
    last = runs(engine)[-1]
    assert (last.items_new, last.items_skipped, last.items_seen) == (kept, total - kept, total)
    for mention in mentions(engine).values():
        assert KeywordFilter(keywords).matches(mention.title, mention.text)
        assert "logistics hub" not in (mention.title or "")
        assert "Central bank" not in (mention.title or "")


@pytest.mark.parametrize(
    ("keywords", "kept"),
    [(["acme buds"], 2), (["Perche"], 2), (["PERCHÉ", "bundle"], 3), (["perch"], 0)],
)
def test_keyword_filter_in_fetch(server: FeedServer, keywords: list[str], kept: int) -> None:
    url = server.route("/feed", Reply.file("rss/rss2_entities_cdata.xml"))

    batch = listener(url, keywords=keywords).fetch(None)

    assert (len(batch.items), batch.skipped) == (kept, 3 - kept)


# --- conditional GET -------------------------------------------------------------------------


def test_etag_and_last_modified_round_trip(make_settings: Any, server: FeedServer) -> None:
    stamp = "Tue, 24 Nov 2026 09:12:07 GMT"
    url = server.route(
        "/feed", Reply.file("rss/rss2_brand_news.xml", etag='"v1-acme"', last_modified=stamp)
    )
    settings, engine = setup(make_settings, rss_source("news", url))

    first = run(settings, engine)
    second = run(settings, engine)
    third = run(settings, engine)

    assert first.status == "ok", first.error
    assert (second.status, second.new, second.updated) == ("not_modified", 0, 0)
    assert third.status == "not_modified"
    hits = server.hits("/feed")
    assert len(hits) == 3
    assert "If-None-Match" not in hits[0].headers
    assert "If-Modified-Since" not in hits[0].headers
    for hit in hits[1:]:  # the cursor survives a 304
        assert hit.headers["If-None-Match"] == '"v1-acme"'
        assert hit.headers["If-Modified-Since"] == stamp
    assert len(mentions(engine)) == 8
    stored_runs = runs(engine)
    assert [r.status for r in stored_runs] == ["ok", "not_modified", "not_modified"]
    assert stored_runs[-1].cursor == {"etag": '"v1-acme"', "last_modified": stamp}


def test_last_modified_alone(server: FeedServer) -> None:
    stamp = "Mon, 23 Nov 2026 18:00:00 GMT"
    url = server.route("/feed", Reply.file("rss/rss2_duplicates.xml", last_modified=stamp))
    feed = listener(url)

    first = feed.fetch(None)
    second = feed.fetch(first.cursor)

    assert first.cursor == {"etag": None, "last_modified": stamp}
    assert (second.not_modified, second.items, second.cursor) == (True, [], first.cursor)
    hit = server.hits("/feed")[1]
    assert hit.headers["If-Modified-Since"] == stamp
    assert "If-None-Match" not in hit.headers


def test_a_failed_run_keeps_the_cursor(make_settings: Any, server: FeedServer) -> None:
    url = server.route(
        "/feed",
        Reply.file("rss/rss2_brand_news.xml", etag='"v1"'),
        Reply(status=503),
        Reply(status=503),
        Reply(status=503),
        Reply.file("rss/rss2_brand_news.xml", etag='"v1"'),
    )
    settings, engine = setup(make_settings, rss_source("news", url))

    assert run(settings, engine).status == "ok"
    assert run(settings, engine).status == "failed"
    assert run(settings, engine).status == "not_modified"
    assert server.hits("/feed")[-1].headers["If-None-Match"] == '"v1"'


# --- malformed and hostile documents ---------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply.file("rss/broken.xml"), "truncated"),
        (
            Reply.file("rss/not_a_feed.html", content_type="text/html; charset=UTF-8"),
            "this is an HTML page, not a feed",
        ),
        (
            Reply.file("rss/not_a_feed.html", status=404, content_type="text/html"),
            "HTTP 404",
        ),
        (Reply(body=b"", content_type="application/rss+xml"), "not an RSS or Atom feed"),
    ],
    ids=["broken", "soft-404", "404", "empty"],
)
def test_bad_document_fails_and_keeps_what_was_stored(
    make_settings: Any, server: FeedServer, reply: Reply, reason: str
) -> None:
    url = server.route("/feed", Reply.file("rss/rss2_brand_news.xml"), reply)
    settings, engine = setup(make_settings, rss_source("news", url))
    assert run(settings, engine).status == "ok"
    before = {k: (m.id, m.text, m.content_hash, m.edited_at) for k, m in mentions(engine).items()}

    report = run(settings, engine)

    assert report.status == "failed"
    assert report.error is not None
    assert reason in report.error, report.error
    after = {k: (m.id, m.text, m.content_hash, m.edited_at) for k, m in mentions(engine).items()}
    assert after == before
    last = runs(engine)[-1]
    assert (last.status, last.cursor, last.items_new) == ("failed", None, 0)
    assert last.error is not None
    assert reason in last.error


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/xml"])
def test_an_html_page_as_feed_names_the_feed_it_links_to(
    make_settings: Any, server: FeedServer, content_type: str
) -> None:
    # Hand-made: a blog's home page, pasted where its feed's address belongs.
    page = (
        b"<!DOCTYPE html>\n<html><head><title>Acme blog</title>\n"
        b'<link rel="alternate" type="application/rss+xml" title="Acme" href="/blog/feed.xml">\n'
        b"</head><body><p>Hello &nbsp; world</p></body></html>\n"
    )
    url = server.route("/blog", Reply(body=page, content_type=content_type))
    settings, engine = setup(make_settings, rss_source("news", url))
    report = run(settings, engine)
    assert report.status == "failed"
    assert report.error == (
        f"{url}: this is an HTML page, not a feed; it links to its feed at "
        f"{server.url('/blog/feed.xml')}: use that url"
    )


def test_complete_but_not_well_formed_feed_is_kept_with_a_warning(
    make_settings: Any, server: FeedServer
) -> None:
    # A bare "&" is a common publisher mistake; the document is otherwise whole.
    body = rss("<guid>amp-1</guid><title>Acme & friends</title><description>Acme</description>")
    url = server.route("/feed", Reply(body=body))
    settings, engine = setup(make_settings, rss_source("news", url))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    assert mentions(engine)["amp-1"].title == "Acme & friends"
    warning = runs(engine)[-1].warning
    assert warning is not None
    assert "not well-formed" in warning


def test_one_failing_source_does_not_stop_the_others(
    tmp_path: Path, database_url: str, server: FeedServer
) -> None:
    bad = server.route("/bad", Reply(status=503))
    good = server.route("/good", Reply.file("rss/rss2_brand_news.xml"))
    config = tmp_path / "listen.toml"
    config.write_text(
        f'[database]\nurl = "{database_url}"\n\n[web]\nenabled = false\n\n'
        "[http]\nbackoff = 0.05\nretries = 1\nper_host_interval = 0\nread_timeout = 2\n\n"
        + rss_source("broken-first", bad)
        + rss_source("news", good),
        encoding="utf-8",
    )
    ascolto = Path(sys.executable).parent / "ascolto"

    done = subprocess.run(
        [str(ascolto), "--config", str(config), "listen", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    from ascolto.settings import load_settings

    engine = prepare(load_settings(config))
    assert len(mentions(engine, "news")) == 8
    assert [r.status for r in runs(engine, "news")] == ["ok"]
    failed = runs(engine, "broken-first")
    assert [r.status for r in failed] == ["failed"]
    assert failed[0].error is not None
    assert "HTTP 503" in failed[0].error
    assert len(server.hits("/bad")) == 2


# --- private feeds ---------------------------------------------------------------------------


def test_authorization_from_the_environment_is_sent_and_never_logged(
    make_settings: Any,
    server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "Bearer s3cr3t-t0ken-4cme"
    monkeypatch.setenv("ACME_FEED_AUTH", secret)
    url = server.route(
        "/private", Reply(status=500), Reply.file("rss/rss2_brand_news.xml"), Reply(status=403)
    )
    settings, engine = setup(
        make_settings, rss_source("news", url, auth_header_env="ACME_FEED_AUTH")
    )
    caplog.set_level(logging.DEBUG)

    ok = run(settings, engine)
    blocked = run(settings, engine)

    assert ok.status == "ok", ok.error
    assert blocked.status == "blocked"
    hits = server.hits("/private")
    assert len(hits) == 3
    assert all(h.headers["Authorization"] == secret for h in hits)
    assert "/private HTTP/1.1" in caplog.text  # the requests and the runs were logged...
    assert "run blocked" in caplog.text
    assert "s3cr3t" not in caplog.text  # ...without the credential
    assert all("s3cr3t" not in (r.error or "") for r in runs(engine))


def test_no_authorization_when_the_variable_is_unset(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_FEED_AUTH", raising=False)
    url = server.route("/private", Reply.file("rss/rss2_duplicates.xml"))

    assert len(listener(url, auth_header_env="ACME_FEED_AUTH").fetch(None).items) == 4
    assert "Authorization" not in server.hits("/private")[0].headers


# --- text and keyword units ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        (None, ""),
        ("", ""),
        ("plain text stays", "plain text stays"),
        ("<p>Acme <b>Tab</b> 3</p>", "Acme Tab 3"),
        ("Acme<p>Buds</p>", "Acme\nBuds"),
        ("one<br>two<br/>three", "one\ntwo\nthree"),
        ("<script>alert(1)</script>Acme<style>p{}</style>", "Acme"),
        ('<img src=x onerror="alert(1)">Acme', "Acme"),
        ("<!-- hidden -->Acme", "Acme"),
        ("perch&amp;eacute; &#8217; &laquo;x&raquo; 79&nbsp;&euro;", "perché ’ «x» 79 €"),
        # Escaped markup is what the page shows: decoded once, kept as text.
        ("&lt;script&gt;alert(1)&lt;/script&gt;Acme", "<script>alert(1)</script>Acme"),
        ("&amp;lt;b&amp;gt;Acme&amp;lt;/b&amp;gt;", "&lt;b&gt;Acme&lt;/b&gt;"),
        ("<pre><code>in &lt;module&gt;</code></pre>", "in <module>"),
        ("l&amp;#8217;app &amp;amp; co", "l’app &amp; co"),
        ("a &lt; b", "a < b"),
        ("e\u0301", "é"),  # NFC
        ("  spaced \t\u00a0 out  ", "spaced out"),
        ("<p>a</p>\n\n\n<p>b</p>", "a\n\nb"),
    ],
)
def test_html_to_text(markup: str | None, text: str) -> None:
    assert html_to_text(markup) == text


def test_html_to_text_drops_control_characters_and_lone_surrogates() -> None:
    raw = "Ac\x00me\x07 Tab\x1b 3\u200b\ufeff caf\udce9 \ud83d ok\r\n"
    text = html_to_text(raw)
    assert text == "Acme Tab 3 caf ok"
    text.encode("utf-8")  # storable everywhere, PostgreSQL included
    assert clean_text("line\tone\r\nline two\x85") == "line one\nline two"
    assert clean_text("\ud800") == ""


@pytest.mark.parametrize(
    ("keywords", "text", "matches"),
    [
        (["acme"], "ACME Tab 3", True),
        (["Acme"], "acme", True),
        (["perché"], "Ecco PERCHE", True),
        (["perche"], "ecco perché", True),
        (["citta"], "Città", True),
        (["strasse"], "Straße", True),
        (["acme"], "acmeshop and pacme", False),
        (["acme"], "l'Acme, (Acme) #acme", True),
        (["tab 3"], "Acme Tab 3.", True),
        (["tab 3"], "Acme Tab 30", False),
        (["c++"], "love c++!", True),
        (["a.b"], "axb", False),
        ([], "anything", True),
        (["  "], "anything", True),
        (["acme"], "", False),
        (["acme"], "Ac\x00me", False),
        (["acme"], "\x00acme\x00", True),
        (["acme"], "\ud800acme\udfff", True),
    ],
)
def test_keyword_filter(keywords: list[str], text: str, matches: bool) -> None:
    assert KeywordFilter(keywords).matches(text) is matches


def test_keyword_filter_checks_every_text_and_skips_none() -> None:
    keep = KeywordFilter(["buds"])
    assert keep.matches(None, "title", "the Acme Buds")
    assert not keep.matches(None, None)
    assert not KeywordFilter(["x"]).matches()
    assert fold("Perché Ⅻ") == "perche xii"
