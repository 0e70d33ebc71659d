"""Drafting replies to real complaints in both languages: parity, policy, lint, templates, speed.

A fixed set of posts is stored as mentions of several source kinds: English complaints to
brands on Twitter and bug reports from app reviews (../shared/datasets/); the test rows of
the hand-made customer-care mentions in both languages (classify/data/care_mentions.jsonl
and care_mentions_more.jsonl: complaints, and non-complaints of every kind: questions,
praise, news, bots, moderators, purchase questions); Italian negative tweets addressed to
public services (it_public_service_tweets, its test split); and a few glad posts in each
language (5-star app reviews, positive Italian tweets) that call for a thank-you. A third of
the authors are customers with an order, an e-mail address, a time zone and sometimes
earlier contacts or an opt-out. The real classifier labels them, then the scheduled drafting
step (`outreach.drafting.draft_pending`) drafts and checks every one that calls for a reply
against the shipped policy, on a SQLite file.

Parity compares like with like: its figures count only posts whose gold label says
complaint, in both languages (the English complaint corpus, the bug reports and the care
mentions labelled complaint). The Italian public-service tweets are NOT counted there: their
label is the sentiment of the tweet, not whether it is a complaint to the service, and many
negative ones are not (insults at journalists or politicians, jokes about INPS, replies
between other users, criticism of the vaccine campaign) - a care team would not answer
them, so counting them measured the test set's labels rather than the drafting. They are
reported on their own (`italian_public_service`: the share drafted, by the classifier's
label).

Reported: per language, the share of gold complaints that got a draft and the share of those
drafts that pass every policy (allow or amend), and their gap, overall and per origin; the
share of gold non-complaints that got an apology (a complaint or known-issue draft), per
language and per kind; the labels and a few texts of complaints that got no draft; the
draft-lint's findings (target: 0); the share of drafts each rule blocked, escalated or
amended; the share written in the customer's language, next to always answering in the
brand's default language; template coverage; the draft sources compared (templates;
drafting from history, with the earlier half of each language's clean drafts taken as
approved unedited and the later half drafted again; a language model the same way when an
endpoint is given); drafts per second, next to rendering the same templates alone.

    python benchmarks/drafts.py [--english 300] [--bugs 100] [--italian 191] [--praise 20]
        [--no-care] [--language-model http://127.0.0.1:8080/v1 --model NAME]

Prints a table and writes results/drafts.json next to this script.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sqlmodel import Session, select  # noqa: E402

from ascolto.database import prepare  # noqa: E402
from ascolto.settings import Settings, load_settings  # noqa: E402
from classify.classifying import classify_pending  # noqa: E402
from classify.test_splits import app_reviews, hand_made_test  # noqa: E402
from outreach.context import facts_for_mention  # noqa: E402
from outreach.draft_settings import LanguageModelSettings  # noqa: E402
from outreach.drafting import (  # noqa: E402
    Drafter,
    draft_follow_up,
    draft_for_mention,
    draft_pending,
)
from outreach.intents import INTENTS, kind_of  # noqa: E402
from outreach.phrasing import template_data  # noqa: E402
from outreach.rendering import renderer  # noqa: E402
from outreach.voice import voice_for  # noqa: E402
from storage.db import session_scope  # noqa: E402
from storage.mentions import NewMention, ingest  # noqa: E402
from storage.models import (  # noqa: E402
    Alert,
    AuditEvent,
    Classification,
    DefectCluster,
    Draft,
    Mention,
    Product,
    Source,
)
from storage.orders import NewOrder, NewOrderLine, upsert_orders  # noqa: E402
from storage.outreach import mention_facts, record_contact  # noqa: E402

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
# Where each post is said to come from, in turn: public replies of every kind.
SOURCE_KINDS = ("reddit", "mastodon", "bluesky", "appstore", "hackernews")
ZONES = ("Europe/Rome", "America/New_York", "Asia/Tokyo", "Europe/London")
PRODUCT = "Acme Tab 3"


@dataclass(frozen=True)
class Post:
    """A real post, the language it is written in, and where it was taken from.

    `complaint` is the gold label when the origin has one (None otherwise); `kind` is the
    hand-made sets' kind of post (complaint, question, news, bot, ...).
    """

    key: str
    text: str
    language: str
    origin: str
    complaint: bool | None = None
    kind: str = ""


def _rank(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()


# Origins with gold complaint labels (the parity figures count their complaints), the
# Italian negative tweets (sentiment labels only: reported apart), and glad ones.
COMPLAINT_ORIGINS = ("complaints", "bug_reports", "care_mentions", "care_mentions_more")
CARE_SETS = ("care_mentions", "care_mentions_more")
PUBLIC_SERVICE = "italian_public_service"
PRAISE_ORIGINS = ("reviews_5_stars", "italian_positive")


def _public_service_tweets(datasets: Path, label: str) -> list[str]:
    """Texts of one class in the test split of the Italian public-service tweets."""
    path = datasets / "it_public_service_tweets" / "test.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [r["tweetOrig"] for r in csv.DictReader(handle) if r["Class"] == label]


def care_posts() -> list[Post]:
    """The test rows of the hand-made care mentions, with their gold complaint label."""
    posts = []
    for name in CARE_SETS:
        for row in hand_made_test(name):
            posts.append(
                Post(
                    f"m{row['id']}",
                    str(row["text"]),
                    str(row["lang"]),
                    name,
                    complaint=bool(row["complaint"]),
                    kind=str(row.get("kind") or ""),
                )
            )
    return posts


def real_posts(
    datasets: Path, english: int, bugs: int, italian: int, praise: int = 0, care: bool = True
) -> list[Post]:
    """A fixed selection (by hash, not by position) of each dataset's posts."""
    with (datasets / "complaints" / "train.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["complaint"] == "1"]
    complaints = sorted(rows, key=lambda r: _rank(r["id"]))[:english]
    posts = [Post(f"c{r['id']}", r["text"], "en", "complaints", complaint=True) for r in complaints]
    reviews = app_reviews(datasets)
    bug_reports = [r for r in reviews if "Bug" in r["types"]]  # type: ignore[operator]
    for r in sorted(bug_reports, key=lambda r: _rank(str(r["text"])))[:bugs]:
        key = f"b{_rank(str(r['text']))[:12]}"
        posts.append(Post(key, str(r["text"]), "en", "bug_reports", complaint=True))
    if care:
        posts += care_posts()
    for text in sorted(_public_service_tweets(datasets, "neg"), key=_rank)[:italian]:
        posts.append(Post(f"i{_rank(text)[:12]}", text, "it", PUBLIC_SERVICE))
    glad = [r for r in reviews if r["rating"] == 5 and "Bug" not in r["types"]]  # type: ignore[operator]
    for r in sorted(glad, key=lambda r: _rank(str(r["text"])))[:praise]:
        posts.append(
            Post(f"g{_rank(str(r['text']))[:12]}", str(r["text"]), "en", "reviews_5_stars")
        )
    for text in sorted(_public_service_tweets(datasets, "pos"), key=_rank)[:praise]:
        posts.append(Post(f"p{_rank(text)[:12]}", text, "it", "italian_positive"))
    return posts


def settings_for(folder: Path) -> Settings:
    path = folder / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{folder / "drafts.db"}"\n\n'
        '[outreach]\nenabled = true\nreply_channel = "email"\nintents = ["complaint", '
        '"question", "praise"]\nmax_age_days = 30\nbatch_size = 100\n\n'
        f'[[products]]\nname = "{PRODUCT}"\naliases = ["Tab 3"]\nskus = ["AT3-128"]\n',
        encoding="utf-8",
    )
    return load_settings(path)


def store_world(settings: Settings, posts: list[Post]) -> None:
    """Mentions of each source kind; every third author a customer with an order."""
    engine = prepare(settings)
    with session_scope(engine) as session:
        sources = {}
        for kind in (*SOURCE_KINDS, "shopify"):
            source = Source(name=kind, kind=kind)
            session.add(source)
            session.flush()
            sources[kind] = source.id or 0
        for n, post in enumerate(posts):
            kind = SOURCE_KINDS[n % len(SOURCE_KINDS)]
            handle = f"user{n}"
            digest = int(_rank(post.key), 16)
            if digest % 3 == 0:
                days = digest % 11
                upsert_orders(
                    session,
                    source_id=sources["shopify"],
                    orders=[
                        NewOrder(
                            external_id=f"A{10000 + n}",
                            email=f"customer{n}@example.com",
                            name=("Giulia Rossi" if post.language == "it" else "Sam Taylor"),
                            language=post.language,
                            timezone=ZONES[digest % len(ZONES)],
                            do_not_contact=digest % 20 == 0,
                            currency="EUR",
                            lines=[NewOrderLine(sku="AT3-128", title=PRODUCT)],
                            handles=((kind, handle),),
                            ordered_at=NOW - dt.timedelta(days=days + 4),
                            shipped_at=NOW - dt.timedelta(days=days + 2) if days % 4 else None,
                            delivered_at=NOW - dt.timedelta(days=days) if days % 2 else None,
                        )
                    ],
                )
            ingest(
                session,
                source_id=sources[kind],
                items=[
                    NewMention(
                        external_id=post.key,
                        text=post.text,
                        url=f"https://{kind}.example/p/{post.key}",
                        author_handle=handle,
                        author_platform=kind,
                        published_at=NOW - dt.timedelta(hours=1 + n % 48),
                    )
                ],
            )
        session.flush()
        # The product has a known defect: its defect complaints acknowledge it.
        product_id = session.exec(select(Product.id).where(Product.name == PRODUCT)).one() or 0
        cluster = DefectCluster(
            key="bench-battery",
            product_id=product_id,
            status="growing",
            title="battery drains overnight",
            first_at=NOW - dt.timedelta(days=2),
            last_at=NOW,
            vectors=b"",
        )
        session.add(cluster)
        session.flush()
        session.add(
            Alert(
                cluster_id=cluster.id or 0,
                product_id=product_id,
                level=1,
                title=f"{PRODUCT}: battery drains overnight",
                summary="a growing cluster of complaints",
            )
        )
        # Some customers were written to three times this week already.
        for customer_n in range(0, len(posts), 30):
            for day in range(3):
                record_contact(
                    session,
                    channel="email",
                    kind="checkin",
                    customer_id=_customer_of(session, customer_n),
                    at=NOW - dt.timedelta(days=day + 1),
                )


def _customer_of(session: Session, n: int) -> int | None:
    from storage.models import Customer

    return session.exec(
        select(Customer.id).where(Customer.email == f"customer{n}@example.com")
    ).first()


def render_alone(settings: Settings, drafts: list[Draft]) -> float:
    """Seconds to render the same drafts' templates from facts gathered beforehand."""
    engine = prepare(settings)
    with Session(engine) as session:
        jobs = []
        for draft in drafts:
            found = mention_facts(session, mention_id=draft.mention_id or 0)
            assert found is not None
            facts = facts_for_mention(session, settings, found, now=NOW)
            channel = "public" if draft.public else "email"
            data = template_data(
                facts,
                voice_for(settings.brand, draft.language),
                channel=channel,
                language=draft.language,
            )
            jobs.append((draft.language, draft.intent, channel, data))
    rendering = renderer(settings.outreach.templates_dir)
    started = time.perf_counter()
    for language, intent, channel, data in jobs:
        rendering.render(language, intent, channel, data)
    return time.perf_counter() - started


def follow_up_all(settings: Settings, drafts: list[Draft]) -> list[Draft]:
    """The follow-up e-mail to every customer whose complaint got a draft."""
    engine = prepare(settings)
    made = []
    with session_scope(engine) as session:
        for draft in drafts:
            if draft.customer_id is None:
                continue
            follow_up = draft_follow_up(
                session,
                settings,
                customer_id=draft.customer_id,
                mention_id=draft.mention_id,
                now=NOW + dt.timedelta(days=3),
            )
            if follow_up is not None:
                made.append(follow_up)
        session.flush()
        for follow_up in made:
            session.expunge(follow_up)
    return made


def rule_shares(drafts: list[Draft]) -> dict[str, dict[str, float]]:
    """Per rule: the share of drafts where it decided block, escalate or amend."""
    fired: dict[str, Counter[str]] = {}
    for draft in drafts:
        seen = {(f["rule"], f["outcome"]) for f in draft.verdict_details}
        for rule, outcome in seen:
            fired.setdefault(rule, Counter())[outcome] += 1
    total = len(drafts) or 1
    return {
        rule: {o: round(counts[o] / total, 4) for o in ("block", "escalate", "amend")}
        for rule, counts in sorted(fired.items())
    }


def held_back(drafts: list[Draft]) -> dict[str, dict[str, str]]:
    """Per rule that blocked or escalated: the first such draft's reason and text."""
    found: dict[str, dict[str, str]] = {}
    for draft in drafts:
        for finding in draft.verdict_details:
            if finding["outcome"] in ("block", "escalate") and finding["rule"] not in found:
                found[finding["rule"]] = {
                    "outcome": finding["outcome"],
                    "reason": finding["reason"],
                    "text": draft.text,
                }
    return dict(sorted(found.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--english", type=int, default=300, help="English complaints")
    parser.add_argument("--bugs", type=int, default=100, help="app-review bug reports")
    parser.add_argument(
        "--italian", type=int, default=191, help="negative Italian public-service tweets"
    )
    parser.add_argument("--praise", type=int, default=20, help="glad posts per language")
    parser.add_argument(
        "--no-care", action="store_true", help="leave out the hand-made care mentions"
    )
    parser.add_argument("--show", type=int, default=0, help="print this many drafts")
    parser.add_argument(
        "--language-model",
        metavar="URL",
        help="an OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080/v1) to compare too",
    )
    parser.add_argument("--model", default="local", help="the model name sent to it")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=RESULTS / "drafts.json")
    args = parser.parse_args()

    posts = real_posts(
        args.datasets, args.english, args.bugs, args.italian, args.praise, not args.no_care
    )
    language_of = {p.key: p.language for p in posts}
    origin_of = {p.key: p.origin for p in posts}
    with tempfile.TemporaryDirectory(prefix="ascolto-drafts-") as tmp:
        settings = settings_for(Path(tmp))
        store_world(settings, posts)
        engine = prepare(settings)
        labelled = classify_pending(settings, engine)
        assert labelled.ok, labelled.error
        # The policy and templates are loaded once per process: not part of each draft.
        drafter = Drafter.from_settings(settings)
        run = draft_pending(settings, engine, now=NOW, drafter=drafter)
        assert run.ok, run.error
        with Session(engine) as session:
            rows = session.exec(
                select(Draft, Mention.external_id).join(
                    Mention,
                    Draft.mention_id == Mention.id,  # type: ignore[arg-type]
                )
            ).all()
            drafts = [d for d, _ in rows]
            keys = {d.id: key for d, key in rows}
        bare = render_alone(settings, drafts)
        follow_ups = follow_up_all(settings, drafts)
        lint_found = lint_findings(settings)
        not_drafted = not_drafted_labels(settings, posts)
        not_drafted_texts = not_drafted_examples(settings, posts)
        labels_of = complaint_labels(settings)
        shipped = {c for c in renderer(None).combos() if c[1] in INTENTS}
        from_history = source_comparison(settings, drafts, lint_found, "history")
        from_model: dict[str, Any] = {
            "configured": False,
            "note": "no endpoint given (--language-model URL --model NAME); the drafter is "
            "tested against a local server replaying the API's recorded answers",
        }
        if args.language_model:
            endpoint = {"base_url": args.language_model, "model": args.model, "stream": False}
            from_model = source_comparison(
                settings,
                drafts,
                lint_found,
                "language_model",
                {"language_model": LanguageModelSettings(**endpoint)},  # type: ignore[arg-type]
            )

    right = sum(d.language == language_of[keys[d.id]] for d in drafts)
    default_right = sum(language_of[keys[d.id]] == settings.brand.default_language for d in drafts)
    used = {
        (d.language, d.intent, "public" if d.public else "email") for d in (*drafts, *follow_ups)
    }
    n = len(drafts) or 1
    results: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "posts": len(posts),
        "posts_by_origin": dict(Counter(p.origin for p in posts)),
        "classified": labelled.classified,
        "drafted": run.drafted,
        "drafted_by_origin": dict(Counter(origin_of[keys[d.id]] for d in drafts)),
        "not_drafted": run.skipped,
        "render_failures": run.failed,
        "follow_ups": len(follow_ups),
        "verdicts": {
            k: round(v / n, 4) for k, v in sorted(Counter(d.verdict for d in drafts).items())
        },
        "statuses": dict(Counter(d.status for d in drafts)),
        "channels": dict(Counter(d.channel for d in drafts)),
        "intents": dict(Counter(d.intent for d in drafts)),
        "rules": rule_shares(drafts),
        "rules_by_language": {
            lang: rule_shares([d for d in drafts if language_of[keys[d.id]] == lang])
            for lang in ("en", "it")
        },
        "not_drafted_labels_by_language": not_drafted,
        "held_back_examples": held_back(drafts),
        "language_right": round(right / n, 4),
        "language_right_by_language": {
            lang: round(
                sum(d.language == lang for d in drafts if language_of[keys[d.id]] == lang)
                / max(1, sum(language_of[keys[d.id]] == lang for d in drafts)),
                4,
            )
            for lang in ("en", "it")
        },
        "baseline_default_language_right": round(default_right / n, 4),
        **parity(posts, drafts, keys),
        "parity_by_origin": {
            origin: parity([p for p in posts if p.origin == origin], drafts, keys)
            for origin in COMPLAINT_ORIGINS
        },
        "not_drafted_examples_by_language": not_drafted_texts,
        "held_back_complaints_by_language": held_back_complaints(posts, drafts, keys),
        **non_complaints(posts, drafts, keys),
        PUBLIC_SERVICE: public_service(posts, drafts, keys, labels_of),
        "lint_findings": sum(len(found) for found in lint_found.values()),
        "lint_findings_by_check": dict(
            sorted(Counter(f.split(":")[0] for fs in lint_found.values() for f in fs).items())
        ),
        "lint_examples": [
            {"draft": draft_id, "findings": found}
            for draft_id, found in sorted(lint_found.items())
            if found
        ][:5],
        "sources": {
            "template": {
                "drafts": len(drafts),
                "policy_pass_share": pass_share(drafts),
                "lint_findings": sum(len(found) for found in lint_found.values()),
            },
            "history": from_history,
            "language_model": from_model,
        },
        "template_coverage": round(len(used & shipped) / len(shipped), 4),
        "templates_used": len(used & shipped),
        "templates_shipped": len(shipped),
        "templates_unused": sorted("/".join(c) for c in shipped - used),
        "drafting_seconds": round(run.seconds, 3),
        "drafts_per_second": round(run.drafted / run.seconds, 1) if run.seconds else None,
        "baseline_render_only_per_second": round(len(drafts) / bare, 1) if bare else None,
        "classify_seconds": round(labelled.seconds, 2),
    }
    if results["drafts_per_second"] and results["baseline_render_only_per_second"]:
        results["speed_vs_render_only"] = round(
            results["drafts_per_second"] / results["baseline_render_only_per_second"], 3
        )

    print(f"{len(posts)} real posts, {run.drafted} drafts ({results['drafted_by_origin']})")
    print(
        f"complaints drafted: en {results['drafted_share_by_language']['en']:.1%}, "
        f"it {results['drafted_share_by_language']['it']:.1%}; drafts passing the policy: "
        f"en {results['policy_pass_share_by_language']['en']:.1%}, "
        f"it {results['policy_pass_share_by_language']['it']:.1%}; "
        f"lint findings: {results['lint_findings']}"
    )
    print(
        f"non-complaints given an apology: en "
        f"{_pct(results['drafted_share_of_non_complaints_by_language']['en'])}, it "
        f"{_pct(results['drafted_share_of_non_complaints_by_language']['it'])}; Italian "
        f"public-service tweets drafted (apart): "
        f"{_pct(results[PUBLIC_SERVICE]['drafted_share'])}"
    )
    print(f"{'rule':<22}{'blocked':>9}{'escalated':>11}{'amended':>9}")
    for rule, shares in results["rules"].items():
        print(
            f"{rule:<22}{shares['block']:>9.1%}{shares['escalate']:>11.1%}{shares['amend']:>9.1%}"
        )
    print(f"verdicts: {results['verdicts']}")
    print(
        f"customer's language right: {results['language_right']:.1%} "
        f"(en {results['language_right_by_language']['en']:.1%}, "
        f"it {results['language_right_by_language']['it']:.1%}); "
        f"always {settings.brand.default_language}: "
        f"{results['baseline_default_language_right']:.1%}"
    )
    print(
        f"template coverage: {results['templates_used']}/{results['templates_shipped']} "
        f"({results['template_coverage']:.0%}); unused: {', '.join(results['templates_unused'])}"
    )
    print(
        f"drafts/s: {results['drafts_per_second']} (render only: "
        f"{results['baseline_render_only_per_second']}/s, ratio "
        f"{results.get('speed_vs_render_only')})"
    )
    for draft in drafts[: args.show]:
        print(f"\n--- {draft.intent} · {draft.channel} · {draft.language} · {draft.verdict}")
        print(f"> {post_text(posts, keys[draft.id])}")
        print(draft.text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


def source_comparison(
    settings: Settings,
    drafts: list[Draft],
    lint_found: dict[int, list[str]],
    source: str,
    update: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Drafting with `source` (then the template) against templates alone, on the same
    mentions.

    Stand-in for agents' decisions: of each language's drafts, the earlier half (by
    mention) that pass every policy with no lint finding are taken as approved unedited.
    The later half is drafted again with `sources = [source, "template"]` (in a
    transaction rolled back after), and compared with its template drafts.
    """
    engine = prepare(settings)
    replies = sorted(drafts, key=lambda d: d.id or 0)
    past: list[Draft] = []
    later: list[Draft] = []
    for language in ("en", "it"):
        mine = [d for d in replies if d.language == language]
        past += mine[: len(mine) // 2]
        later += mine[len(mine) // 2 :]
    approved = [
        d for d in past if d.verdict in ("allow", "amend") and not lint_found.get(d.id or 0)
    ]
    drafts_settings = settings.drafts.model_copy(
        update={"sources": (source, "template"), **(update or {})}
    )
    trying = settings.model_copy(update={"drafts": drafts_settings})
    drafter = Drafter.from_settings(trying)
    made: list[Draft] = []
    lint_of: dict[int, list[str]] = {}
    with Session(engine) as session:
        for draft in approved:
            row = session.get(Draft, draft.id)
            assert row is not None
            row.status, row.decided_by, row.decided_at = "approved", "benchmark", NOW
            session.add(row)
        for draft in later:
            session.delete(session.get(Draft, draft.id))
        session.flush()
        for draft in later:
            new = draft_for_mention(
                session, trying, draft.mention_id or 0, now=NOW, drafter=drafter
            )
            if new is None:
                continue
            made.append(new)
            event = session.exec(
                select(AuditEvent)
                .where(AuditEvent.action == "draft.created")
                .where(AuditEvent.subject_id == str(new.id))
            ).first()
            lint_of[new.id or 0] = list(event.details.get("lint", [])) if event else []
        found = [d for d in made if d.source == source]
        costs = [d.source_cost for d in made if d.source_cost is not None]
        latencies = sorted(d.source_ms for d in made if d.source_ms is not None)
        best = sorted(
            float(g["best_similarity"])
            for d in made
            for g in (d.source_details, *d.source_details.get("gave_way", []))
            if g.get("best_similarity") is not None
        )
        figures = {
            "configured": True,
            "approved_unedited_past_replies": len(approved),
            "drafts": len(made),
            "found_share": round(len(found) / len(made), 4) if made else None,
            f"drafts_from_{source}": len(found),
            "policy_pass_share": pass_share(made),
            f"policy_pass_share_from_{source}": pass_share(found),
            "lint_findings": sum(len(v) for v in lint_of.values()),
            f"lint_findings_from_{source}": sum(len(lint_of[d.id or 0]) for d in found),
            "template_on_the_same_mentions": {
                "policy_pass_share": pass_share(later),
                "lint_findings": sum(len(lint_found.get(d.id or 0, [])) for d in later),
            },
            "gave_way": dict(
                Counter(
                    _why(reason)
                    for d in made
                    for g in d.source_details.get("gave_way", [])
                    for reason in g["reason"].split("; ")
                ).most_common(8)
            ),
            "best_similarity_quartiles": (
                [round(best[int(q * (len(best) - 1))], 4) for q in (0.25, 0.5, 0.75)]
                if best
                else None
            ),
            "cost": round(sum(costs), 6) if costs else None,
            "median_ms": latencies[len(latencies) // 2] if latencies else None,
            "example": next(({"text": d.text, **d.source_details} for d in found), None),
        }
        session.rollback()
    return figures


def _why(reason: str) -> str:
    """A reason without the past draft it is about, or the detail after its colon."""
    reason = re.sub(r"^draft \d+: ", "", reason)
    return reason.split(":")[0]


def pass_share(drafts: list[Draft]) -> float | None:
    """Share of drafts that pass every policy rule (allow, or allow once amended)."""
    if not drafts:
        return None
    return round(sum(d.verdict in ("allow", "amend") for d in drafts) / len(drafts), 4)


def parity(posts: list[Post], drafts: list[Draft], keys: dict[Any, str]) -> dict[str, Any]:
    """Per language: gold complaints that got a draft, and drafts that pass every policy."""
    by_key = {p.key: p for p in posts if p.complaint is True}
    drafted: dict[str, float | None] = {}
    passing: dict[str, float | None] = {}
    counted: dict[str, int] = {}
    for language in ("en", "it"):
        complaints = [p for p in by_key.values() if p.language == language]
        answered = [
            d for d in drafts if keys[d.id] in by_key and by_key[keys[d.id]].language == language
        ]
        counted[language] = len(complaints)
        drafted[language] = round(len(answered) / len(complaints), 4) if complaints else None
        passing[language] = pass_share(answered)

    def gap(shares: dict[str, float | None]) -> float | None:
        if shares["en"] is None or shares["it"] is None:
            return None
        return round(abs(shares["en"] - shares["it"]) * 100, 1)

    return {
        "complaints_by_language": counted,
        "drafted_share_by_language": drafted,
        "policy_pass_share_by_language": passing,
        "drafted_gap_points": gap(drafted),
        "policy_pass_gap_points": gap(passing),
    }


def _apology(draft: Draft) -> bool:
    """A draft that answers a complaint (apologises or acknowledges a known issue)."""
    return kind_of(draft.intent) == "complaint"


def non_complaints(posts: list[Post], drafts: list[Draft], keys: dict[Any, str]) -> dict[str, Any]:
    """Gold non-complaints given an apology draft, per language and per kind of post.

    `apology` counts every apology drafted; `apology_passing` those the policy let through
    (`deserves_reply` blocks apologies to happy customers and pre-purchase questions).
    """
    drafted = {keys[d.id]: d for d in drafts}
    shares: dict[str, float | None] = {}
    passing: dict[str, float | None] = {}
    by_kind: dict[str, dict[str, dict[str, int]]] = {}
    for language in ("en", "it"):
        mine = [p for p in posts if p.complaint is False and p.language == language]
        apologised = [drafted[p.key] for p in mine if p.key in drafted]
        apologised = [d for d in apologised if _apology(d)]
        through = [d for d in apologised if d.verdict in ("allow", "amend")]
        shares[language] = round(len(apologised) / len(mine), 4) if mine else None
        passing[language] = round(len(through) / len(mine), 4) if mine else None
        kinds: dict[str, dict[str, int]] = {}
        for post in mine:
            counts = kinds.setdefault(
                post.kind, {"posts": 0, "any_draft": 0, "apology": 0, "apology_passing": 0}
            )
            draft = drafted.get(post.key)
            counts["posts"] += 1
            counts["any_draft"] += draft is not None
            counts["apology"] += draft is not None and _apology(draft)
            counts["apology_passing"] += (
                draft is not None and _apology(draft) and draft.verdict in ("allow", "amend")
            )
        by_kind[language] = dict(sorted(kinds.items()))
    return {
        "drafted_share_of_non_complaints_by_language": shares,
        "apology_passing_share_of_non_complaints_by_language": passing,
        "non_complaints_by_kind": by_kind,
    }


def public_service(
    posts: list[Post],
    drafts: list[Draft],
    keys: dict[Any, str],
    labels_of: dict[str, bool | None],
) -> dict[str, Any]:
    """The Italian negative public-service tweets, apart: drafted, by the classifier's label."""
    mine = [p for p in posts if p.origin == PUBLIC_SERVICE]
    drafted = {keys[d.id]: d for d in drafts}
    by_label: dict[str, dict[str, int]] = {}
    for post in mine:
        label = "complaint" if labels_of.get(post.key) else "no complaint"
        counts = by_label.setdefault(label, {"posts": 0, "drafted": 0, "apology": 0})
        counts["posts"] += 1
        counts["drafted"] += post.key in drafted
        counts["apology"] += post.key in drafted and _apology(drafted[post.key])
    answered = [drafted[p.key] for p in mine if p.key in drafted]
    return {
        "posts": len(mine),
        "drafted_share": round(len(answered) / len(mine), 4) if mine else None,
        "policy_pass_share": pass_share(answered),
        "by_classifier_label": dict(sorted(by_label.items())),
    }


def complaint_labels(settings: Settings) -> dict[str, bool | None]:
    """Each mention's complaint label from the classifier, by its key."""
    engine = prepare(settings)
    with Session(engine) as session:
        rows = session.exec(
            select(Mention.external_id, Classification.complaint).join(
                Classification,
                Classification.mention_id == Mention.id,  # type: ignore[arg-type]
            )
        ).all()
    return {str(key): complaint for key, complaint in rows}


def _care_first(post: Post | None) -> tuple[bool, str]:
    """Examples from the care mentions (both languages) first, then the others, by key."""
    if post is None:
        return (True, "")
    return (post.origin not in CARE_SETS, post.key)


def held_back_complaints(
    posts: list[Post], drafts: list[Draft], keys: dict[Any, str], per_language: int = 8
) -> dict[str, list[dict[str, str]]]:
    """Per language, the first gold complaints whose draft did not pass, and why."""
    by_key = {p.key: p for p in posts if p.complaint is True}
    found: dict[str, list[dict[str, str]]] = {"en": [], "it": []}
    for draft in sorted(drafts, key=lambda d: _care_first(by_key.get(keys[d.id]))):
        post = by_key.get(keys[draft.id])
        if post is None or draft.verdict in ("allow", "amend") or post.language not in found:
            continue
        if len(found[post.language]) < per_language:
            reasons = [
                f"{f['rule']}: {f['reason']}"
                for f in draft.verdict_details
                if f["outcome"] in ("block", "escalate")
            ]
            found[post.language].append(
                {"post": post.text[:200], "verdict": draft.verdict, "why": "; ".join(reasons)}
            )
    return found


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def not_drafted_examples(
    settings: Settings, posts: list[Post], per_language: int = 8
) -> dict[str, list[str]]:
    """Per language, the first gold complaints that got no draft."""
    engine = prepare(settings)
    with Session(engine) as session:
        drafted = set(
            session.exec(
                select(Mention.external_id).join(
                    Draft,
                    Draft.mention_id == Mention.id,  # type: ignore[arg-type]
                )
            ).all()
        )
    found: dict[str, list[str]] = {"en": [], "it": []}
    for post in sorted(posts, key=_care_first):
        wanted = post.complaint is True and post.language in found
        if wanted and post.key not in drafted and len(found[post.language]) < per_language:
            found[post.language].append(post.text[:200])
    return found


def not_drafted_labels(settings: Settings, posts: list[Post]) -> dict[str, dict[str, int]]:
    """Per language, the labels of gold complaints that got no draft: why parity is missed."""
    engine = prepare(settings)
    complaint_keys = {p.key: p.language for p in posts if p.complaint is True}
    found: dict[str, Counter[str]] = {"en": Counter(), "it": Counter()}
    with Session(engine) as session:
        rows = session.exec(
            select(Mention.id, Mention.external_id, Classification).join(
                Classification,
                Classification.mention_id == Mention.id,  # type: ignore[arg-type]
            )
        ).all()
        drafted = set(session.exec(select(Draft.mention_id)).all())
        for mention_id, key, labels in rows:
            language = complaint_keys.get(key)
            if language is None or mention_id in drafted:
                continue
            complaint = "complaint" if labels.complaint else "no complaint"
            issues = "+".join(sorted(labels.issues)) or "no issue"
            found[language][f"{complaint}, {labels.sentiment}, {issues}"] += 1
    return {lang: dict(counts.most_common(8)) for lang, counts in found.items()}


def lint_findings(settings: Settings) -> dict[int, list[str]]:
    """The draft-lint's findings on every draft, as recorded when it was drafted."""
    engine = prepare(settings)
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "draft.created")).all()
        return {int(e.subject_id or 0): list(e.details.get("lint", [])) for e in events}


def post_text(posts: list[Post], key: str) -> str:
    return next(p.text for p in posts if p.key == key)[:200]


if __name__ == "__main__":
    sys.exit(main())
