"""The `reviews` listener end to end: recorded review pages served over real HTTP, crawled by
Scrapy in a child process, runs stored in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ascolto.database import prepare
from ascolto.runtime.runner import RunReport, run_source
from ascolto.settings import Settings
from listeners.crawl.extract import extract_page, parse_date
from listeners.crawl.runner import run_crawl
from listeners.errors import ListenError
from listeners.reviews import ReviewsOptions
from storage.models import ListenerRun, Mention, QuarantinedItem, Source
from tests.feedserver import DATA, FeedServer, Reply

SITE = "https://www.recensionitech.example"
LISTING = "/prodotti/acme-tab-3/recensioni"
PRINT = "/prodotti/acme-tab-3/recensioni/stampa"
HTTP = {"backoff": 0.05, "retries": 1, "per_host_interval": 0, "read_timeout": 2}
HTML = "text/html; charset=utf-8"


# --- helpers -------------------------------------------------------------------------------


def page_body(server: FeedServer, number: int) -> bytes:
    """A recorded page with the real site's address replaced by the test server's."""
    body = (DATA / f"reviews_site/product_page{number}.html").read_bytes()
    return body.replace(SITE.encode(), server.url("").encode())


def serve_site(server: FeedServer, *, first: bytes | None = None) -> str:
    """The three recorded pages and robots.txt at their paths; returns the first page's URL."""
    server.route(LISTING, Reply(body=first or page_body(server, 1), content_type=HTML))
    for number in (2, 3):
        server.route(
            LISTING,
            Reply(body=page_body(server, number), content_type=HTML),
            query={"pagina": str(number)},
        )
    server.route("/robots.txt", Reply.file("reviews_site/robots.txt", content_type="text/plain"))
    return server.url(LISTING)


def source(name: str, **keys: Any) -> str:
    """A `[[sources]]` TOML table for a reviews source (JSON values are valid TOML here)."""
    lines = [f'[[sources]]\nname = "{name}"\nkind = "reviews"']
    keys.setdefault("allow_private_addresses", True)
    lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n\n"


def setup(make_settings: Any, body: str) -> tuple[Settings, Engine]:
    settings = make_settings(body, http=HTTP)
    return settings, prepare(settings)


def run(settings: Settings, engine: Engine, name: str = "shop") -> RunReport:
    return run_source(settings, engine, name)


def stored(engine: Engine, name: str = "shop") -> list[Mention]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Mention)
                .join(Source, col(Source.id) == Mention.source_id)
                .where(Source.name == name)
                .order_by(col(Mention.published_at).desc())
            ).all()
        )


def runs(engine: Engine, name: str = "shop") -> list[ListenerRun]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(ListenerRun)
                .join(Source, col(Source.id) == ListenerRun.source_id)
                .where(Source.name == name)
                .order_by(col(ListenerRun.id))
            ).all()
        )


def quarantined(engine: Engine) -> list[QuarantinedItem]:
    with Session(engine) as session:
        return list(session.exec(select(QuarantinedItem)).all())


def page_hits(server: FeedServer) -> list[str]:
    return [r.path for r in server.requests if r.path != "/robots.txt"]


# --- end to end ------------------------------------------------------------------------------


def test_json_ld_page(make_settings: Any, server: FeedServer) -> None:
    start = serve_site(server)
    settings, engine = setup(make_settings, source("shop", start_urls=[start], max_pages=1))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    assert report.new == 3
    mentions = stored(engine)
    assert [m.title for m in mentions] == [
        "La batteria si scarica in standby",
        "Ottimo per studiare",
        "Great screen, so-so battery",
    ]
    assert [m.rating for m in mentions] == [2.0, 5.0, 3.0]
    assert all(m.kind == "review" for m in mentions)
    first = mentions[0]
    assert first.text.startswith("Dopo l'aggiornamento 2.1 la batteria")
    assert first.published_at is not None
    assert first.published_at.isoformat().startswith("2026-11-23T00:00:00")
    # A date-time with an offset is stored in UTC.
    assert mentions[2].published_at is not None
    assert mentions[2].published_at.isoformat().startswith("2026-11-21T17:42:00")
    assert first.url == start
    assert first.extra["aggregate_rating"]["value"] == 3.6
    assert first.extra["aggregate_rating"]["count"] == 214
    assert first.extra["product"]["sku"] == "ACME-TAB3-128-GRY"
    assert first.extra["markup"] == "json-ld"
    # The source's rating summary travels in the cursor.
    (last,) = runs(engine)
    assert last.cursor is not None
    mark = last.cursor["start_urls"][start]
    assert mark["aggregate_rating"]["value"] == 3.6
    assert mark["newest"].startswith("2026-11-23")
    assert "first run stopped after 1 page(s) (max_pages)" in (last.warning or "")
    assert page_hits(server) == [LISTING]


def test_microdata_page(make_settings: Any, server: FeedServer) -> None:
    serve_site(server)
    start = server.url(f"{LISTING}?pagina=2")
    settings, engine = setup(make_settings, source("shop", start_urls=[start], max_pages=1))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    mentions = stored(engine)
    assert [m.title for m in mentions] == ["Con le Acme Buds va a scatti", "Prezzo alto"]
    buds, price = mentions
    # HTML in the body becomes text: tags gone, entities decoded, no-break space tidied.
    assert buds.text == (
        "Il tablet è ottimo ma con le Acme Buds l'audio Bluetooth va a scatti. Perché?"
    )
    assert price.text == "Bello ma 329 € sono tanti. Aspettate le offerte."
    assert buds.rating == 3.0
    assert buds.lang == "it"
    assert buds.extra["markup"] == "microdata"
    # `content="3.6"` wins over the visible Italian "3,6".
    assert buds.extra["aggregate_rating"]["value"] == 3.6
    with Session(engine) as session:
        from storage.models import Author

        names = {a.display_name for a in session.exec(select(Author)).all()}
    assert {"Giò", "paolo.r"} <= names


def test_pagination_follows_rel_next(make_settings: Any, server: FeedServer) -> None:
    start = serve_site(server)
    settings, engine = setup(make_settings, source("shop", start_urls=[start]))

    report = run(settings, engine)

    assert report.status == "ok", report.error
    assert report.new == 7
    assert page_hits(server) == [LISTING, f"{LISTING}?pagina=2", f"{LISTING}?pagina=3"]
    mentions = stored(engine)
    assert {m.extra["markup"] for m in mentions} == {"json-ld", "microdata"}
    english = next(m for m in mentions if m.title == "Solid tablet")
    assert english.lang == "en"
    assert english.rating == 4.0
    removed = next(m for m in mentions if m.title == "Recensione rimossa")
    assert removed.rating is None
    (last,) = runs(engine)
    assert last.cursor is not None
    assert last.cursor["start_urls"][start]["pages"] == 3
    assert len(last.cursor["seen"]) == 7


def test_next_selector_follows_a_custom_link(make_settings: Any, server: FeedServer) -> None:
    # A site without rel="next": the "next" link is found by the configured selector.
    first = page_body(server, 1).replace(b'rel="next"', b'class="avanti"')
    start = serve_site(server, first=first)
    settings, engine = setup(
        make_settings,
        source("shop", start_urls=[start], max_pages=2, next_selector="nav.pagination a.avanti"),
    )

    report = run(settings, engine)

    assert report.status == "ok", report.error
    assert report.new == 5
    assert page_hits(server) == [LISTING, f"{LISTING}?pagina=2"]


def test_robots_txt_disallow_is_respected(make_settings: Any, server: FeedServer) -> None:
    start = serve_site(server)
    # A plain prefix rule and an RFC 9309 wildcard rule (`/prodotti/*/recensioni/stampa`,
    # which urllib.robotparser would not apply).
    wildcard = "/prodotti/acme-buds/recensioni/stampa"
    refused = [server.url(PRINT), server.url(wildcard)]
    for path in (PRINT, wildcard):
        server.route(path, Reply(body=page_body(server, 1), content_type=HTML))
    settings, engine = setup(
        make_settings, source("shop", start_urls=[start, *refused], max_pages=1)
    )

    report = run(settings, engine)

    assert report.status == "ok", report.error
    assert report.new == 3
    assert page_hits(server) == [LISTING]
    assert server.hits("/robots.txt")
    warning = runs(engine)[-1].warning or ""
    assert "robots.txt refused 2 page(s)" in warning
    assert PRINT in warning


def test_robots_txt_refusing_every_start_url_blocks_the_run(
    make_settings: Any, server: FeedServer
) -> None:
    serve_site(server)
    server.route(PRINT, Reply(body=page_body(server, 1), content_type=HTML))
    settings, engine = setup(make_settings, source("shop", start_urls=[server.url(PRINT)]))

    report = run(settings, engine)

    assert report.status == "blocked"
    assert "robots.txt disallows every start URL" in (report.error or "")
    assert server.hits(PRINT) == []
    (last,) = runs(engine)
    assert last.status == "blocked"
    assert last.error == report.error


def test_second_run_stores_nothing_new(make_settings: Any, server: FeedServer) -> None:
    start = serve_site(server)
    settings, engine = setup(make_settings, source("shop", start_urls=[start]))

    assert run(settings, engine).new == 7
    server.requests.clear()
    again = run(settings, engine)

    assert again.status == "ok", again.error
    assert again.new == 0
    assert again.updated == 0
    assert len(stored(engine)) == 7
    # Page 1 holds only reviews the first run stored: the listing is not read further.
    assert page_hits(server) == [LISTING]
    # The malformed block of page 3 was quarantined once, not on every run.
    assert len(quarantined(engine)) == 1


def test_three_crawls_in_one_process(make_settings: Any, server: FeedServer) -> None:
    """Scrapy's reactor cannot restart in one process: each crawl runs in a child process."""
    start = serve_site(server)
    settings, engine = setup(make_settings, source("shop", start_urls=[start]))
    new_review = (
        b'"review": [{"@type": "Review", "author": {"@type": "Person", "name": "Nadia F."}, '
        b'"datePublished": "2026-11-24", "name": "Schermo rigato", "reviewBody": "Arrivato '
        b'con lo schermo rigato, <b>reso</b> in corso.", "reviewRating": {"@type": "Rating", '
        b'"ratingValue": "1", "bestRating": "5"}},'
    )

    reports = [run(settings, engine), run(settings, engine)]
    server.route(
        LISTING,
        Reply(body=page_body(server, 1).replace(b'"review": [', new_review), content_type=HTML),
    )
    reports.append(run(settings, engine))

    assert [r.status for r in reports] == ["ok", "ok", "ok"], [r.error for r in reports]
    assert [r.new for r in reports] == [7, 0, 1]
    assert [r.status for r in runs(engine)] == ["ok", "ok", "ok"]
    newest = stored(engine)[0]
    assert newest.title == "Schermo rigato"
    assert newest.text == "Arrivato con lo schermo rigato, reso in corso."
    assert newest.rating == 1.0


def test_hanging_site_fails_the_run_with_the_reason(make_settings: Any, server: FeedServer) -> None:
    server.route(LISTING, Reply(body=page_body(server, 1), content_type=HTML, delay=8))
    settings, engine = setup(
        make_settings, source("shop", start_urls=[server.url(LISTING)], timeout=1.5)
    )

    started = time.monotonic()
    report = run(settings, engine)

    assert time.monotonic() - started < 6
    assert report.status == "failed"
    assert "did not finish within its timeout of 1.5s and was killed" in (report.error or "")
    (last,) = runs(engine)
    assert last.status == "failed"
    assert last.error == report.error
    assert stored(engine) == []


def test_unavailable_site_fails_the_run_with_the_reason(
    make_settings: Any, server: FeedServer
) -> None:
    server.route(LISTING, Reply(body=b"down", status=503, content_type="text/plain"))
    settings, engine = setup(make_settings, source("shop", start_urls=[server.url(LISTING)]))

    report = run(settings, engine)

    assert report.status == "failed"
    assert "HTTP 503" in (report.error or "")
    assert runs(engine)[-1].error == report.error


def test_unreachable_site_fails_the_run_with_the_reason(make_settings: Any) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}{LISTING}"
    settings, engine = setup(make_settings, source("shop", start_urls=[url]))

    report = run(settings, engine)

    # Scrapy logs the robots.txt failure as an error on stderr: the run fails and says why.
    assert report.status == "failed"
    assert "crawl failed" in (report.error or "")
    assert "refused" in (report.error or "").lower()
    assert runs(engine)[-1].error == report.error


def test_malformed_json_ld_is_quarantined(make_settings: Any, server: FeedServer) -> None:
    serve_site(server)
    start = server.url(f"{LISTING}?pagina=3")
    settings, engine = setup(make_settings, source("shop", start_urls=[start]))

    report = run(settings, engine)

    # The page's other markup was still read.
    assert report.status == "ok", report.error
    assert report.new == 2
    assert report.quarantined == 1
    (item,) = quarantined(engine)
    assert "malformed JSON-LD" in item.reason
    assert '"@type": "Organization"' in item.payload
    assert run(settings, engine).quarantined == 0


# --- without the database --------------------------------------------------------------------


def test_parent_process_does_not_import_scrapy() -> None:
    code = "import sys, listeners.reviews; print('scrapy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_crashed_crawl_process_is_a_failure_with_the_reason() -> None:
    with pytest.raises(ListenError) as failure:
        run_crawl({"settings": {"TELNETCONSOLE_ENABLED": False}}, timeout=60)

    assert "exit code 1" in str(failure.value)
    assert "KeyError: 'start_urls'" in str(failure.value)


def test_json_ld_graph_arrays_and_item_reviewed() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "name": "Recensioni"},
            {
                "@type": ["Product"],
                "@id": "https://shop.example/p/1#product",
                "name": "Acme Buds",
                "aggregateRating": {"@type": "AggregateRating", "ratingValue": 8, "bestRating": 10},
            },
        ],
    }
    loose = [
        {
            "@type": "Review",
            "itemReviewed": {"@type": "Product", "@id": "https://shop.example/p/1#product"},
            "author": "Ada",
            "reviewBody": "<p>Ottime</p><p>davvero</p>",
            "reviewRating": {"ratingValue": "9", "bestRating": "10", "worstRating": "0"},
            "datePublished": "2026-11-20T10:00:00",
        }
    ]
    html = (
        f'<script type="application/ld+json">{json.dumps(graph)}</script>'
        f'<script type="application/ld+json">{json.dumps(loose)}</script>'
    )

    page = extract_page(html, "https://shop.example/p/1/reviews")

    (review,) = page.reviews
    assert review["body"] == "Ottime\n\ndavvero" or review["body"] == "Ottime\ndavvero"
    assert review["rating"] == 4.6  # 9 on 0-10 is 4.6 on 1-5
    assert review["author"] == "Ada"
    assert review["published"] == "2026-11-20T10:00:00+00:00"
    assert review["aggregate_rating"]["value"] == 4.11  # 8 on 1-10
    assert review["product_key"] == "https://shop.example/p/1#product"


def test_review_ids_are_stable_across_pages() -> None:
    body = (DATA / "reviews_site/product_page2.html").read_text(encoding="utf-8")
    on_page_2 = extract_page(body, f"{SITE}{LISTING}?pagina=2").reviews
    on_page_3 = extract_page(body, f"{SITE}{LISTING}?pagina=3").reviews

    assert [r["external_id"] for r in on_page_2] == [r["external_id"] for r in on_page_3]
    assert len({r["external_id"] for r in on_page_2}) == 2


def test_same_review_in_json_ld_and_microdata_is_kept_once() -> None:
    review = {
        "@type": "Review",
        "author": {"@type": "Person", "name": "Ugo"},
        "reviewBody": "Buono",
        "datePublished": "2026-11-01",
    }
    html = (
        f'<script type="application/ld+json">{json.dumps(review)}</script>'
        '<div itemscope itemtype="https://schema.org/Review">'
        '<span itemprop="author">Ugo</span><p itemprop="reviewBody">Buono</p></div>'
    )

    assert len(extract_page(html, "https://shop.example/r").reviews) == 1


def test_next_selector_accepts_xpath() -> None:
    html = '<div class="pages"><a href="/r?p=2" class="next-page">»</a></div>'

    css = extract_page(html, "https://shop.example/r", "a.next-page").next_urls
    xpath = extract_page(html, "https://shop.example/r", "//div[@class='pages']/a/@href")

    assert css == xpath.next_urls == ["https://shop.example/r?p=2"]


def test_dates() -> None:
    assert parse_date("2026-11-21T18:42:00+01:00").isoformat() == "2026-11-21T17:42:00+00:00"  # type: ignore[union-attr]
    assert parse_date("2026-11-12T09:30:00Z").isoformat() == "2026-11-12T09:30:00+00:00"  # type: ignore[union-attr]
    assert parse_date("23 novembre 2026") is None


def test_options() -> None:
    options = ReviewsOptions(
        name="x",
        kind="reviews",
        start_urls=["https://www.shop.example:8443/r", "http://b.example/"],
    )
    assert options.domains() == ["www.shop.example", "b.example"]
    assert options.max_pages == 20
    assert options.timeout == 600
    for bad in (
        {"start_urls": ["ftp://shop.example/r"]},
        {"start_urls": []},
        {"start_urls": ["https://a.example/"], "next_selector": "a[["},
        {"start_urls": ["https://a.example/"], "allowed_domains": ["b.example"]},
    ):
        with pytest.raises(ValidationError):
            ReviewsOptions(name="x", kind="reviews", **bad)
    sub = ReviewsOptions(
        name="x",
        kind="reviews",
        start_urls=["https://www.a.example/"],
        allowed_domains=["a.example"],
    )
    assert sub.domains() == ["a.example"]
