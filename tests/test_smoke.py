from ascolto.database import prepare
from ascolto.runner import run_source
from tests.conftest import rss_source
from tests.feedserver import Reply


def test_rss_round(make_settings, server):
    url = server.route("/feed", Reply.file("rss/rss2_brand_news.xml"))
    settings = make_settings(rss_source("news", url))
    engine = prepare(settings)
    report = run_source(settings, engine, "news")
    assert report.status == "ok", report.error
    assert report.new > 0
    again = run_source(settings, engine, "news")
    assert again.new == 0
