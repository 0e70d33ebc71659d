"""One person's rows: where personal data lives, finding, exporting and erasing them.

`PERSONAL_DATA` says, for every table, which columns hold personal data and why; a test
checks it against the models, so a new table or text column must be placed here first.
A person is found from an e-mail address, a customer id or a network handle, and the
search follows the links between rows (a customer's linked handles, a handle's mentions,
their drafts, outbox messages, survey answers...). Erasure deletes what only describes
the person and anonymises in place what figures count (mentions, orders, check-ins,
survey scores, drafts), so charts and rates keep their numbers while nobody can be told
from them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, and_, cast, delete, or_, update
from sqlmodel import Session, SQLModel, col, func, select

from storage.models import (
    Alert,
    AuditEvent,
    Author,
    CareCase,
    CheckIn,
    Classification,
    Contact,
    Customer,
    DefectCluster,
    DefectClusterMember,
    Draft,
    ErasedIdentity,
    LabelledExample,
    Mention,
    MentionEmbedding,
    Order,
    OrderEvent,
    OrderLine,
    OutboxMessage,
    QuarantinedItem,
    SurveyAnswer,
    Unsubscribe,
)
from storage.types import utcnow

_CHUNK = 500
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Holding:
    """What one table holds about people: its personal columns (column -> why it is kept)
    and its other text columns, which name no one."""

    personal: dict[str, str] = field(default_factory=dict)
    plain: frozenset[str] = frozenset()
    # How `erase` treats a person's rows: delete, anonymise, scrub (personal text replaced
    # where it names them), or staff (people who use ascolto, managed by `ascolto users`).
    erasure: str = "none"


def _plain(*names: str) -> frozenset[str]:
    return frozenset(names)


PERSONAL_DATA: dict[str, Holding] = {
    "author": Holding(
        {
            "handle": "who wrote a public mention, to answer them",
            "display_name": "the name shown beside their posts",
            "url": "their profile page",
        },
        _plain("platform"),
        "delete",
    ),
    "mention": Holding(
        {
            "text": "what they wrote: what is classified and answered",
            "title": "the title of their post",
            "url": "where the post is, to open it and reply",
            "external_id": "the post's id at the source, to store it once",
            "parent_external_id": "the post it answers",
            "extra": "source details (subreddit, score, instance...)",
            "content_hash": "a fingerprint of the text, to notice edits",
        },
        _plain("kind", "lang"),
        "anonymise",
    ),
    "classification": Holding(
        {"corrected": "who corrected a label (staff), and the label"},
        _plain(
            "severity",
            "severity_scores",
            "model_version",
            "content_hash",
            "language",
            "sentiment",
            "sentiment_scores",
            "issues",
            "issue_scores",
            "urgency",
            "urgency_scores",
            "products",
            "unclassifiable_reason",
        ),
        "anonymise",
    ),
    "mentionembedding": Holding(
        {"vector": "the encoder's reading of the text, for clustering"},
        _plain("model_version"),
        "delete",
    ),
    "labelledexample": Holding(
        {"text": "a copy of the mention's text, as training data", "note": "a reviewer's note"},
        _plain("lang", "task", "label", "created_by", "removed_by"),
        "delete",
    ),
    "quarantineditem": Holding(
        {"payload": "the raw item a listener could not store", "reason": "why"},
        _plain("external_id"),
        "delete",
    ),
    "customer": Holding(
        {
            "email": "to send check-ins and replies",
            "external_id": "the shop's customer id, to link orders",
            "name": "to greet them",
            "country": "time zone and language defaults",
            "language": "to write in their language",
            "timezone": "quiet hours in their time",
        },
        erasure="delete",
    ),
    "order": Holding(
        {
            "external_id": "the shop's order number, to follow its stages",
            "extra": "the shop's order details",
        },
        _plain("status", "currency"),
        "anonymise",
    ),
    "orderline": Holding({}, _plain("sku", "title"), "none"),
    "orderevent": Holding({}, _plain("event"), "none"),
    "draft": Holding(
        {
            "recipient": "where the reply goes",
            "subject": "the e-mail's subject",
            "text": "the reply, addressed to them",
            "html": "the reply as HTML",
            "drafted_text": "the reply as drafted, to measure edits",
            "verdict_details": "the policy's findings, which may quote the reply",
            "reason": "why a person rejected or escalated it",
            "key": "what the draft answers",
            "source_details": "what the draft source reported, which may quote a model's refusal",
        },
        _plain(
            "channel",
            "language",
            "intent",
            "template",
            "status",
            "verdict",
            "policy_version",
            "decided_by",
            "source",
        ),
        "anonymise",
    ),
    "contact": Holding({}, _plain("channel", "kind"), "delete"),
    "carecase": Holding(
        {"resolution": "how the case was closed, which may quote them"},
        _plain("resolved_by"),
        "anonymise",
    ),
    "outboxmessage": Holding(
        {
            "recipient": "where the message goes",
            "subject": "the e-mail's subject",
            "text": "the message",
            "html": "the message as HTML",
            "payload": "the message for webhook and social channels",
            "headers": "e-mail headers (unsubscribe links name the address)",
            "last_error": "the channel's last refusal, which may quote the address",
            "remote_url": "where the reply was published",
            "key": "the idempotency key",
        },
        _plain("channel", "kind", "status", "lease_owner", "remote_id"),
        "anonymise",
    ),
    "checkin": Holding(
        {"recipient": "where the check-in goes", "skip_details": "why it was skipped"},
        _plain("status", "skip_reason", "language"),
        "anonymise",
    ),
    "surveyanswer": Holding(
        {"comment": "what they wrote in the survey"}, _plain("language"), "anonymise"
    ),
    "unsubscribe": Holding(
        {"email": "never to send check-ins again", "via": "how they asked"},
        erasure="delete",
    ),
    "erasedidentity": Holding(
        {"digest": "a keyed hash of an erased person's address or handle: never contact them"},
        _plain("kind"),
        "none",
    ),
    "defectcluster": Holding(
        {
            "representatives": "sample mentions' texts shown with the cluster",
            "state": "the detector's memory: terms and samples from texts",
            "vectors": "the cluster's centroid vectors",
            "keywords": "terms from the members' texts",
            "title": "a title taken from a member's text",
        },
        _plain("key", "status", "growth", "sources", "reasons", "ticket_url"),
        "scrub",
    ),
    "defectclustermember": Holding({}, erasure="delete"),
    "alert": Holding(
        {
            "evidence": "sample mentions' texts sent with the alert",
            "summary": "the alert text",
            "title": "a title taken from a member's text",
        },
        _plain("status", "acted_by"),
        "scrub",
    ),
    "auditevent": Holding(
        {"details": "what an action changed, which may name a customer"},
        _plain("actor", "action", "subject_type", "subject_id"),
        "scrub",
    ),
    "user": Holding(
        {"username": "who signs in", "password_hash": "to check their password"},
        _plain("role", "language"),
        "staff",
    ),
    "websession": Holding({"token_hash": "the signed-in browser"}, _plain("csrf_token"), "staff"),
    "loginfailure": Holding(
        {"username": "refused sign-ins", "address": "the client's IP address"}, erasure="staff"
    ),
    "apitoken": Holding({"token_hash": "a script's token"}, _plain("name", "created_by"), "staff"),
}
"""Every table with personal data, and the text columns of the others, by table name."""

FREE_OF_PERSONAL_DATA: dict[str, Holding] = {
    "source": Holding(plain=_plain("name", "kind", "lease_owner")),
    "product": Holding(plain=_plain("name", "aliases", "skus")),
    "listenerrun": Holding(plain=_plain("status", "trigger", "error", "warning", "cursor")),
    "inboundwebhook": Holding(plain=_plain("delivery_id", "topic")),
    "mentionday": Holding(plain=_plain("sentiment")),
    "defectwatch": Holding(plain=_plain("daily")),
    "campaign": Holding(plain=_plain("name", "definition", "origin", "paused_by")),
}
"""Tables that hold nothing about a person (settings mirrored, runs, counts), with their
text columns."""


# -- who ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonKey:
    """How a person is named: an e-mail address, a customer id (ascolto's or the shop's),
    or a handle on a platform."""

    email: str | None = None
    customer: str | None = None
    platform: str | None = None
    handle: str | None = None

    def __post_init__(self) -> None:
        given = [self.email, self.customer, self.handle]
        if sum(v is not None and v.strip() != "" for v in given) != 1:
            raise ValueError("name one person: an e-mail address, a customer id or a handle")
        if self.handle is not None and not (self.platform or "").strip():
            raise ValueError("a handle needs its platform, e.g. reddit:someone")

    def describe(self) -> str:
        if self.email:
            return f"e-mail {self.email}"
        if self.customer:
            return f"customer {self.customer}"
        return f"{self.platform}:{self.handle}"


def clean_email(value: str) -> str:
    return value.strip().lower()


def clean_handle(value: str) -> str:
    return value.strip().removeprefix("@").lower()


def identity_digest(kind: str, value: str, key: bytes) -> str:
    """The keyed hash an erased identifier is kept as: HMAC-SHA256 of the normalised value."""
    normal = clean_email(value) if kind == "email" else clean_handle(value)
    return hmac.new(key, f"{kind}\x00{normal}".encode(), hashlib.sha256).hexdigest()


def handle_identity(platform: str, handle: str) -> str:
    return f"{platform.strip().lower()}:{clean_handle(handle)}"


@dataclass
class Footprint:
    """The ids of one person's rows, per table, and what identifies them."""

    key: PersonKey
    rows: dict[str, set[int]] = field(default_factory=dict)
    emails: set[str] = field(default_factory=set)
    handles: set[tuple[str, str]] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    # Rows that only mention the person somewhere in a text or JSON column.
    scrub: dict[str, set[int]] = field(default_factory=dict)

    def ids(self, table: str) -> set[int]:
        return self.rows.setdefault(table, set())

    def counts(self) -> dict[str, int]:
        found = {t: len(ids) for t, ids in self.rows.items() if ids}
        for table, ids in self.scrub.items():
            if ids:
                found[f"{table} (mentions them)"] = len(ids)
        return dict(sorted(found.items()))

    @property
    def empty(self) -> bool:
        return not any(self.rows.values()) and not any(self.scrub.values())

    def needles(self, session: Session) -> list[str]:
        """Strings that point at the person wherever they appear: addresses, handles,
        names, and the texts they wrote."""
        found = set(self.emails) | {h for _p, h in self.handles} | set(self.names)
        for mention in _rows(session, Mention, self.ids("mention")):
            found.update(t for t in (mention.text, mention.title) if t)
        for answer in _rows(session, SurveyAnswer, self.ids("surveyanswer")):
            if answer.comment:
                found.add(answer.comment)
        return sorted(n for n in found if len(n.strip()) >= 3)


def _in(column: Any, values: Iterable[Any]) -> Any:
    return column.in_(list(values))


def _rows(session: Session, model: type[SQLModel], ids: Iterable[int]) -> list[Any]:
    wanted = sorted(ids)
    found: list[Any] = []
    key = model.id if hasattr(model, "id") else model.mention_id  # type: ignore[attr-defined]
    for start in range(0, len(wanted), _CHUNK):
        found += session.exec(select(model).where(_in(key, wanted[start : start + _CHUNK]))).all()
    return found


def _ids(session: Session, id_column: Any, *conditions: Any) -> set[int]:
    wanted = [c for c in conditions if c is not None]
    if not wanted:
        return set()
    return {i for i in session.exec(select(id_column).where(or_(*wanted))).all() if i is not None}


def find_person(session: Session, key: PersonKey) -> Footprint:
    """Every row about the person `key` names, following links between tables."""
    found = Footprint(key)
    customers = found.ids("customer")
    authors = found.ids("author")
    if key.email:
        email = clean_email(key.email)
        found.emails.add(email)
        customers |= _ids(session, Customer.id, func.lower(Customer.email) == email)
        authors |= _ids(
            session,
            Author.id,
            and_(col(Author.platform) == "email", func.lower(Author.handle) == email),
        )
    if key.customer:
        ref = key.customer.strip()
        customers |= _ids(
            session,
            Customer.id,
            Customer.external_id == ref,
            (Customer.id == int(ref)) if ref.isdigit() and len(ref) < 18 else None,
        )
    if key.handle and key.platform:
        authors |= _ids(
            session,
            Author.id,
            and_(
                func.lower(Author.platform) == key.platform.strip().lower(),
                func.lower(Author.handle) == clean_handle(key.handle),
            ),
        )
    # A customer's linked handles and a handle's customer are the same person.
    for _round in range(2):
        if authors:
            customers |= _ids(session, Author.customer_id, _in(Author.id, authors))
        if customers:
            authors |= _ids(session, Author.id, _in(Author.customer_id, customers))
    for customer in _rows(session, Customer, customers):
        if customer.email:
            found.emails.add(clean_email(customer.email))
        if customer.name:
            found.names.add(customer.name)
    if found.emails:
        authors |= _ids(
            session,
            Author.id,
            and_(col(Author.platform) == "email", _in(func.lower(Author.handle), found.emails)),
        )
    for author in _rows(session, Author, authors):
        found.handles.add((author.platform, author.handle))
        if author.display_name:
            found.names.add(author.display_name)
    emails = found.emails
    handle_values = {h.lower() for _p, h in found.handles} | {
        f"@{h.lower()}" for _p, h in found.handles
    }
    recipients = emails | handle_values

    orders = found.ids("order")
    orders |= _ids(session, Order.id, _in(Order.customer_id, customers))
    found.ids("orderline").update(_ids(session, OrderLine.id, _in(OrderLine.order_id, orders)))
    found.ids("orderevent").update(_ids(session, OrderEvent.id, _in(OrderEvent.order_id, orders)))
    checkins = found.ids("checkin")
    checkins |= _ids(
        session,
        CheckIn.id,
        _in(CheckIn.customer_id, customers),
        _in(CheckIn.order_id, orders),
        _in(func.lower(CheckIn.recipient), emails),
    )
    answers = found.ids("surveyanswer")
    answers |= _ids(
        session,
        SurveyAnswer.id,
        _in(SurveyAnswer.customer_id, customers),
        _in(SurveyAnswer.checkin_id, checkins),
    )
    mentions = found.ids("mention")
    mentions |= _ids(session, Mention.id, _in(Mention.author_id, authors))
    mentions |= _ids(session, SurveyAnswer.mention_id, _in(SurveyAnswer.id, answers))
    found.ids("classification").update(
        _ids(session, Classification.id, _in(Classification.mention_id, mentions))
    )
    found.ids("mentionembedding").update(
        _ids(session, MentionEmbedding.mention_id, _in(MentionEmbedding.mention_id, mentions))
    )
    texts = {m.text for m in _rows(session, Mention, mentions) if m.text}
    found.ids("labelledexample").update(
        _ids(
            session,
            LabelledExample.id,
            _in(LabelledExample.mention_id, mentions),
            _in(LabelledExample.text, texts) if texts else None,
        )
    )
    found.ids("defectclustermember").update(
        _ids(session, DefectClusterMember.id, _in(DefectClusterMember.mention_id, mentions))
    )
    drafts = found.ids("draft")
    drafts |= _ids(
        session,
        Draft.id,
        _in(Draft.customer_id, customers),
        _in(Draft.author_id, authors),
        _in(Draft.mention_id, mentions),
        _in(func.lower(Draft.recipient), recipients),
    )
    drafts |= _ids(session, SurveyAnswer.follow_up_draft_id, _in(SurveyAnswer.id, answers))
    found.ids("contact").update(
        _ids(
            session,
            Contact.id,
            _in(Contact.customer_id, customers),
            _in(Contact.author_id, authors),
            _in(Contact.draft_id, drafts),
        )
    )
    found.ids("carecase").update(
        _ids(
            session,
            CareCase.id,
            _in(CareCase.customer_id, customers),
            _in(CareCase.mention_id, mentions),
        )
    )
    outbox = found.ids("outboxmessage")
    outbox |= _ids(session, OutboxMessage.id, _in(func.lower(OutboxMessage.recipient), recipients))
    outbox |= _ids(session, Draft.outbox_id, _in(Draft.id, drafts))
    outbox |= _ids(session, CheckIn.outbox_id, _in(CheckIn.id, checkins))
    found.ids("unsubscribe").update(
        _ids(
            session,
            Unsubscribe.id,
            _in(func.lower(Unsubscribe.email), emails),
            _in(Unsubscribe.customer_id, customers),
        )
    )
    needles = found.needles(session)
    if needles:
        found.ids("quarantineditem").update(
            _containing(session, QuarantinedItem, "payload", needles)
        )
        found.scrub["auditevent"] = _containing(session, AuditEvent, "details", needles)
        found.scrub["defectcluster"] = clusters_quoting(session, mentions, needles)
        found.scrub["alert"] = alerts_quoting(
            session, found.scrub["defectcluster"], mentions, needles
        )
    return found


def _containing(session: Session, model: Any, column: str, needles: Sequence[str]) -> set[int]:
    """Rows whose column, read as text, contains any of `needles` (JSON escapes included)."""
    target = cast(getattr(model, column), String)
    forms = {n for needle in needles for n in (needle, json.dumps(needle)[1:-1])}
    conditions = [target.contains(form, autoescape=True) for form in forms]
    found: set[int] = set()
    ordered = sorted(conditions, key=str)
    for start in range(0, len(ordered), 50):
        found |= _ids(session, model.id, *ordered[start : start + 50])
    return found


def clusters_quoting(session: Session, mentions: set[int], needles: Sequence[str]) -> set[int]:
    ids = _ids(
        session,
        DefectClusterMember.cluster_id,
        _in(DefectClusterMember.mention_id, mentions),
    )
    ids |= _containing(session, DefectCluster, "representatives", needles)
    ids |= _containing(session, DefectCluster, "state", needles)
    return ids


def alerts_quoting(
    session: Session, clusters: set[int], mentions: set[int], needles: Sequence[str]
) -> set[int]:
    ids = _containing(session, Alert, "evidence", needles)
    ids |= _containing(session, Alert, "summary", needles)
    return ids


# -- export ---------------------------------------------------------------------------------


def _plain_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return value


def row_dict(row: SQLModel) -> dict[str, Any]:
    """A row as JSON-ready values, every column included."""
    table = row.__table__  # type: ignore[attr-defined]
    return {c.name: _plain_value(getattr(row, c.name)) for c in table.columns}


_MODELS: dict[str, Any] = {
    "customer": Customer,
    "author": Author,
    "mention": Mention,
    "classification": Classification,
    "mentionembedding": MentionEmbedding,
    "labelledexample": LabelledExample,
    "defectclustermember": DefectClusterMember,
    "order": Order,
    "orderline": OrderLine,
    "orderevent": OrderEvent,
    "checkin": CheckIn,
    "surveyanswer": SurveyAnswer,
    "draft": Draft,
    "contact": Contact,
    "carecase": CareCase,
    "outboxmessage": OutboxMessage,
    "unsubscribe": Unsubscribe,
    "quarantineditem": QuarantinedItem,
}


def export_person(session: Session, found: Footprint) -> dict[str, Any]:
    """Everything held about the person, as one JSON-ready document: their rows, table by
    table, and the passages of other rows that quote them."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, model in _MODELS.items():
        rows = _rows(session, model, found.ids(table))
        if rows:
            tables[table] = [row_dict(r) for r in rows]
    mentions = found.ids("mention")
    needles = found.needles(session)
    quoted: dict[str, list[dict[str, Any]]] = {}
    for cluster in _rows(session, DefectCluster, found.scrub.get("defectcluster", set())):
        quoted.setdefault("defectcluster", []).append(
            {
                "id": cluster.id,
                "title": cluster.title,
                "representatives": [
                    r for r in cluster.representatives if _quotes(r, mentions, needles)
                ],
            }
        )
    for alert in _rows(session, Alert, found.scrub.get("alert", set())):
        reps = (alert.evidence or {}).get("representatives") or []
        quoted.setdefault("alert", []).append(
            {
                "id": alert.id,
                "title": alert.title,
                "representatives": [r for r in reps if _quotes(r, mentions, needles)],
                **({"summary": alert.summary} if _quotes(alert.summary, set(), needles) else {}),
            }
        )
    for event in _rows(session, AuditEvent, found.scrub.get("auditevent", set())):
        quoted.setdefault("auditevent", []).append(row_dict(event))
    return {
        "person": found.key.describe(),
        "exported_at": utcnow().isoformat(),
        "identifiers": {
            "emails": sorted(found.emails),
            "handles": [f"{p}:{h}" for p, h in sorted(found.handles)],
            "names": sorted(found.names),
        },
        "tables": tables,
        "quoted_in": quoted,
    }


def _quotes(value: Any, mentions: set[int], needles: Sequence[str]) -> bool:
    if isinstance(value, dict) and value.get("mention_id") in mentions:
        return True
    text = json.dumps(value, ensure_ascii=False, default=str)
    return any(n in text for n in needles)


# -- erase ----------------------------------------------------------------------------------


def withdrawn_hash(mention_id: int) -> str:
    """The content hash of a withdrawn mention: derived from its id, never from its text."""
    return hashlib.sha256(f"{WITHDRAWN}:{mention_id}".encode()).hexdigest()


def withdraw_mentions(session: Session, mention_ids: Iterable[int], *, now: datetime) -> int:
    """Take the words and the author out of these mentions, keeping their day, source,
    rating and labels (so counts and charts keep them); delete their vectors and the
    labelled examples copied from them. Returns how many were withdrawn."""
    ids = sorted(set(mention_ids))
    done = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        texts = set()
        for mention in session.exec(select(Mention).where(_in(Mention.id, chunk))).all():
            if mention.text:
                texts.add(mention.text)
            mention.text = ""
            mention.title = None
            mention.url = None
            mention.author_id = None
            mention.external_id = f"{WITHDRAWN}:{mention.id}"
            mention.parent_external_id = None
            mention.extra = {}
            mention.content_hash = withdrawn_hash(mention.id or 0)
            mention.simhash = None
            mention.simhash_b0 = mention.simhash_b1 = None
            mention.simhash_b2 = mention.simhash_b3 = None
            if mention.withdrawn_at is None:
                mention.withdrawn_at = now
                done += 1
            session.add(mention)
        for labels in session.exec(
            select(Classification).where(_in(Classification.mention_id, chunk))
        ).all():
            # Labels stay current, so the withdrawn text is never classified again.
            labels.content_hash = withdrawn_hash(labels.mention_id)
            labels.corrected = {
                k: {kk: vv for kk, vv in v.items() if kk != "example_id"}
                for k, v in (labels.corrected or {}).items()
                if isinstance(v, dict)
            }
            session.add(labels)
        session.execute(delete(MentionEmbedding).where(_in(MentionEmbedding.mention_id, chunk)))
        conditions = [_in(LabelledExample.mention_id, chunk)]
        if texts:
            conditions.append(_in(LabelledExample.text, texts))
        session.execute(delete(LabelledExample).where(or_(*conditions)))
        session.execute(
            delete(DefectClusterMember).where(_in(DefectClusterMember.mention_id, chunk))
        )
    session.flush()
    return done


def scrub_quotes(
    session: Session,
    *,
    clusters: Iterable[int],
    alerts: Iterable[int],
    mention_ids: set[int],
    needles: Sequence[str],
    identifiers: Iterable[str],
) -> None:
    """Take the person's texts, and the words of their names and handles, out of clusters'
    and alerts' samples, titles and terms."""
    words = name_words(identifiers)
    for cluster in _rows(session, DefectCluster, clusters):
        cluster.representatives = [
            r for r in cluster.representatives if not _quotes(r, mention_ids, needles)
        ]
        cluster.state = _scrub_json(cluster.state, mention_ids, needles, words)
        cluster.keywords = [k for k in cluster.keywords if k.lower() not in words]
        if _quotes(cluster.title, set(), needles) or _says(cluster.title, words):
            cluster.title = ", ".join(cluster.keywords[:3])
        session.add(cluster)
    for alert in _rows(session, Alert, alerts):
        alert.evidence = _scrub_json(dict(alert.evidence or {}), mention_ids, needles, words)
        for name in ("title", "summary"):
            value = getattr(alert, name)
            if _quotes(value, set(), needles) or _says(value, words):
                cluster_row = session.get(DefectCluster, alert.cluster_id)
                topic = cluster_row.title if cluster_row else ""
                setattr(alert, name, f"{topic} (sample withdrawn)"[:300])
        session.add(alert)


def name_words(identifiers: Iterable[str]) -> set[str]:
    """The lower-case words of names, handles and addresses (three letters or more)."""
    found: set[str] = set()
    for value in identifiers:
        # An address's domain is everyone's: only its local part names the person.
        value = value.partition("@")[0] if "@" in value.lstrip("@") else value
        for word in re.split(r"[^\w]+", value.lower()):
            if len(word) >= 3:
                found.add(word)
    return found


def _says(text: str | None, words: set[str]) -> bool:
    return bool(text) and any(w in words for w in re.split(r"[^\w]+", (text or "").lower()))


def _scrub_json(
    value: Any,
    mention_ids: set[int],
    needles: Sequence[str],
    words: set[str] = frozenset(),  # type: ignore[assignment]
) -> Any:
    """A JSON document without the entries that quote the person (dicts naming one of
    their mentions, strings containing their words, keys that are words of their name)."""
    if isinstance(value, dict):
        return {
            k: _scrub_json(v, mention_ids, needles, words)
            for k, v in value.items()
            if not (isinstance(v, dict) and v.get("mention_id") in mention_ids)
            and not (isinstance(k, str) and k.lower() in words)
        }
    if isinstance(value, list):
        return [
            _scrub_json(v, mention_ids, needles, words)
            for v in value
            if not (isinstance(v, dict) and v.get("mention_id") in mention_ids)
            and not (isinstance(v, str) and (_quotes(v, set(), needles) or v.lower() in words))
        ]
    if isinstance(value, str) and (_quotes(value, set(), needles) or _says(value, words)):
        return "[erased]"
    return value


def erase_person(
    session: Session, found: Footprint, *, key: bytes, now: datetime | None = None
) -> dict[str, int]:
    """Delete or anonymise every row in `found`, and keep the person's addresses and
    handles only as keyed hashes so nobody contacts them again. Runs in the caller's
    transaction; returns rows touched per table."""
    now = now or utcnow()
    needles = found.needles(session)
    mentions = found.ids("mention")
    customers = found.ids("customer")
    authors = found.ids("author")
    done: dict[str, int] = {}

    def count(table: str, n: int) -> None:
        if n:
            done[table] = done.get(table, 0) + n

    scrub_quotes(
        session,
        clusters=found.scrub.get("defectcluster", set()),
        alerts=found.scrub.get("alert", set()),
        mention_ids=mentions,
        needles=needles,
        identifiers=[*found.emails, *(h for _p, h in found.handles), *found.names],
    )
    count("mention", withdraw_mentions(session, mentions, now=now))
    for draft in _rows(session, Draft, found.ids("draft")):
        anonymise_draft(draft)
        session.add(draft)
        count("draft", 1)
    for message in _rows(session, OutboxMessage, found.ids("outboxmessage")):
        anonymise_outbox(message, now=now)
        session.add(message)
        count("outboxmessage", 1)
    for checkin in _rows(session, CheckIn, found.ids("checkin")):
        checkin.recipient = None
        checkin.customer_id = None
        checkin.skip_details = None
        session.add(checkin)
        count("checkin", 1)
    for answer in _rows(session, SurveyAnswer, found.ids("surveyanswer")):
        answer.comment = None
        answer.customer_id = None
        session.add(answer)
        count("surveyanswer", 1)
    for case in _rows(session, CareCase, found.ids("carecase")):
        case.customer_id = None
        case.resolution = None
        session.add(case)
        count("carecase", 1)
    for order in _rows(session, Order, found.ids("order")):
        order.customer_id = None
        order.external_id = f"erased:{order.id}"
        order.extra = {}
        session.add(order)
        count("order", 1)
    session.flush()
    for table, model in (
        ("contact", Contact),
        ("unsubscribe", Unsubscribe),
        ("quarantineditem", QuarantinedItem),
    ):
        ids = found.ids(table)
        if ids:
            session.execute(delete(model).where(_in(model.id, ids)))
            count(table, len(ids))
    for event in _rows(session, AuditEvent, found.scrub.get("auditevent", set())):
        event.details = {"erased": "personal data removed on request"}
        session.add(event)
        count("auditevent", 1)
    # Links to the person's rows go before the rows.
    links: list[tuple[Any, str, set[int]]] = [
        (Draft, "customer_id", customers),
        (Draft, "author_id", authors),
        (CheckIn, "customer_id", customers),
        (SurveyAnswer, "customer_id", customers),
        (CareCase, "customer_id", customers),
        (Order, "customer_id", customers),
        (Author, "customer_id", customers),
    ]
    for model, column, ids in links:
        if ids:
            session.execute(
                update(model).where(_in(getattr(model, column), ids)).values({column: None})
            )
    session.flush()
    if authors:
        session.execute(delete(Author).where(_in(Author.id, authors)))
        count("author", len(authors))
    if customers:
        session.execute(delete(Customer).where(_in(Customer.id, customers)))
        count("customer", len(customers))
    remember_erased(session, emails=found.emails, handles=found.handles, key=key, now=now)
    session.flush()
    return done


def anonymise_draft(draft: Draft) -> None:
    """A draft with its words and addressee gone: its status, template and times stay."""
    draft.text = ""
    draft.html = None
    draft.drafted_text = ""
    draft.recipient = None
    draft.subject = None
    draft.verdict_details = []
    draft.reason = None
    draft.source_details = {}
    draft.key = f"erased:{draft.id}"
    if draft.status in ("pending", "escalated"):
        draft.status = "withdrawn"


def anonymise_outbox(message: OutboxMessage, *, now: datetime) -> None:
    """An outbox message with its words and recipient gone; one not yet sent never goes."""
    message.recipient = "erased"
    message.subject = ""
    message.text = ""
    message.html = None
    message.payload = {}
    message.headers = {}
    message.last_error = None
    message.remote_url = None
    message.key = f"erased:{message.id}"
    if message.status in ("pending", "sending", "failed", "uncertain"):
        message.status = "cancelled"
    message.updated_at = now


def remember_erased(
    session: Session,
    *,
    emails: Iterable[str],
    handles: Iterable[tuple[str, str]],
    key: bytes,
    now: datetime,
) -> None:
    """Keep the identifiers as keyed hashes (once each)."""
    digests = {identity_digest("email", e, key): "email" for e in emails}
    for platform, handle in handles:
        if platform == "email":
            digests[identity_digest("email", handle, key)] = "email"
        else:
            digests[identity_digest("handle", handle_identity(platform, handle), key)] = "handle"
    known = set(
        session.exec(select(ErasedIdentity.digest).where(_in(ErasedIdentity.digest, digests))).all()
    )
    for digest, kind in digests.items():
        if digest not in known:
            session.add(ErasedIdentity(digest=digest, kind=kind, erased_at=now))


def is_erased(
    session: Session,
    *,
    key: bytes,
    email: str | None = None,
    platform: str | None = None,
    handle: str | None = None,
) -> bool:
    """Whether this address (or this handle on this platform) belongs to an erased person."""
    digests = []
    if email and email.strip():
        digests.append(identity_digest("email", email, key))
    if handle and handle.strip() and platform:
        if platform == "email":
            digests.append(identity_digest("email", handle, key))
        else:
            digests.append(identity_digest("handle", handle_identity(platform, handle), key))
    if not digests:
        return False
    return (
        session.exec(select(ErasedIdentity.id).where(_in(ErasedIdentity.digest, digests))).first()
        is not None
    )
