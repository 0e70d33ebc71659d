"""Customer-care public sets beyond tweet sentiment, with fixed, documented splits.

Italian tweets to public services, financial-service complaints (X-FINCORP), product-review
complaints (CESAMARD-Aspect), review sentences (UCI), and two intent sets (Bitext customer
support, BANKING77) mapped onto our issue types. Sets without an official split are split by
a hash of the text: the same text always lands in the same split, whatever the file's order
or a later re-download, and duplicates never straddle splits. Buckets 0-6 of ten are `train`,
7 is `val`, 8-9 `test`; a set that ships its own test file keeps it, and its training file's
bucket 7 (and 8) becomes `val`.

Only `train` and `val` are readable from here; `classify.test_splits` gives the benchmark
the `test` rows.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from classify.cleaning import clean

SEVERITY_LABELS = ("none", "reproach", "disapproval", "accusation", "blame")
_SEVERITY = {
    "non-complaint": "none",
    "no explicit reproach": "reproach",
    "disapproval": "disapproval",
    "accusation": "accusation",
    "blame": "blame",
}
_SENTIMENT = {"negative": 0, "neutral": 1, "positive": 2, "neg": 0, "neut": 1, "pos": 2}
TRAINING_SPLITS = ("train", "val")


@dataclass(slots=True)
class CareText:
    """One labelled text; a label that is `None` is not given by its set."""

    text: str
    lang: str
    source: str
    split: str
    sentiment: int | None = None
    complaint: bool | None = None
    severity: str | None = None
    # Issue types this text has; `issues_known` lists the types whose absence is known too
    # (an intent set says "this is a delivery request", not whether it is also a question).
    issues: list[str] = field(default_factory=list)
    issues_known: list[str] = field(default_factory=list)


def hash_bucket(text: str) -> int:
    """0-9, from the text alone (whitespace and case folded)."""
    key = " ".join(text.lower().split()).encode("utf-8", "replace")
    return int(hashlib.sha256(key).hexdigest()[:8], 16) % 10


def _split(text: str, official_test: bool = False) -> str:
    bucket = hash_bucket(text)
    if official_test:
        return "val" if bucket in (7, 8) else "train"
    return "train" if bucket < 7 else "val" if bucket == 7 else "test"


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def _public_service_it(folder: Path, file: str, official_test: bool) -> list[CareText]:
    out = []
    for row in _csv_rows(folder / file):
        text = clean(row["tweetOrig"]).text
        # "mix" (31 of 1,900) is folded into negative: a mixed post to a service is read
        # by a care team as a complaint with a kind word, not as praise.
        label = row["Class"].strip().lower()
        sentiment = 0 if label == "mix" else _SENTIMENT[label]
        split = "test" if not official_test else _split(text, official_test=True)
        out.append(CareText(text, "it", "it_public_service_tweets", split, sentiment=sentiment))
    return out


def _x_fincorp(folder: Path) -> list[CareText]:
    out = []
    for row in _csv_rows(folder / "x_fincorp.csv"):
        text = clean(row["Complaint/ Opinion"]).text
        severity = _SEVERITY[row["Severity level"].strip().lower()]
        out.append(
            CareText(
                text,
                "en",
                "x_fincorp",
                _split(text),
                sentiment=_SENTIMENT.get(row["Sentiment"].strip().lower()),
                complaint=row["Complaint Label"].strip() == "1",
                severity=severity,
            )
        )
    return out


def _cesamard(folder: Path) -> list[CareText]:
    out = []
    for row in _csv_rows(folder / "cesamard_aspect.csv"):
        # Review texts keep literal "\n" from the scrape.
        body = row["Review_S"].replace("\\n", "\n").strip()
        title = row["Title"].strip()
        text = clean(f"{title}. {body}" if title else body).text
        out.append(
            CareText(
                text,
                "en",
                "cesamard_aspect",
                _split(text),
                sentiment=int(row["Sentiment"]),
                complaint=row["Complaint"].strip() == "1",
                severity=_SEVERITY[row["Severity"].strip().lower()],
            )
        )
    return out


def _uci(folder: Path) -> list[CareText]:
    out = []
    for name in ("amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            sentence, sep, label = line.rpartition("\t")
            if not sep or label.strip() not in ("0", "1"):
                continue
            text = clean(sentence.strip()).text
            sentiment = 2 if label.strip() == "1" else 0
            out.append(CareText(text, "en", f"uci_{name.split('_')[0]}", _split(text), sentiment))
    return out


# Bitext intents -> our issue types. Account, order and newsletter requests are "other";
# "review" (feedback of either polarity) carries no issue our types name, so it is left out.
BITEXT_ISSUES: dict[str, str] = {
    **dict.fromkeys(
        (
            "delivery_period",
            "delivery_options",
            "track_order",
            "change_shipping_address",
            "set_up_shipping_address",
        ),
        "delivery",
    ),
    **dict.fromkeys(
        (
            "check_invoice",
            "get_invoice",
            "track_refund",
            "get_refund",
            "check_refund_policy",
            "payment_issue",
            "check_payment_methods",
            "check_cancellation_fee",
        ),
        "billing",
    ),
    **dict.fromkeys(("contact_human_agent", "contact_customer_service", "complaint"), "service"),
    **dict.fromkeys(
        (
            "edit_account",
            "create_account",
            "switch_account",
            "delete_account",
            "recover_password",
            "registration_problems",
            "place_order",
            "change_order",
            "cancel_order",
            "newsletter_subscription",
        ),
        "other",
    ),
}
# BANKING77 intents that name one of our types unambiguously; the rest are left out.
BANKING_ISSUES: dict[str, str] = {
    **dict.fromkeys(("card_arrival", "card_delivery_estimate"), "delivery"),
    **dict.fromkeys(
        (
            "card_not_working",
            "contactless_not_working",
            "virtual_card_not_working",
            "card_swallowed",
        ),
        "defect",
    ),
    **dict.fromkeys(
        (
            "extra_charge_on_statement",
            "card_payment_fee_charged",
            "transaction_charged_twice",
            "request_refund",
            "Refund_not_showing_up",
            "transfer_fee_charged",
            "exchange_charge",
            "top_up_by_card_charge",
            "cash_withdrawal_charge",
            "card_payment_wrong_exchange_rate",
            "wrong_exchange_rate_for_cash_withdrawal",
            "top_up_by_bank_transfer_charge",
            "wrong_amount_of_cash_received",
            "direct_debit_payment_not_recognised",
            "card_payment_not_recognised",
            "cash_withdrawal_not_recognised",
        ),
        "billing",
    ),
    **dict.fromkeys(
        (
            "exchange_rate",
            "fiat_currency_support",
            "supported_cards_and_currencies",
            "age_limit",
            "top_up_limits",
            "visa_or_mastercard",
            "disposable_card_limits",
            "country_support",
            "apple_pay_or_google_pay",
            "transfer_timing",
        ),
        "question",
    ),
}
# Types an intent set's label rules out: a delivery request is no defect, billing matter,
# praise or service complaint; whether it is also phrased as a question is not said.
_INTENT_KNOWN = ("defect", "delivery", "billing", "service", "praise", "other")


def _intent(text: str, source: str, split: str, issue: str) -> CareText:
    known = sorted(set(_INTENT_KNOWN) | {issue})
    return CareText(text, "en", source, split, issues=[issue], issues_known=known)


def _bitext(folder: Path) -> list[CareText]:
    out = []
    for row in _csv_rows(folder / "bitext_customer_support_sample.csv"):
        issue = BITEXT_ISSUES.get(row["intent"].strip())
        if issue is None:
            continue
        text = clean(row["instruction"]).text
        out.append(_intent(text, "bitext_customer_support", _split(text), issue))
    return out


def _banking77(folder: Path, file: str, official_test: bool) -> list[CareText]:
    out = []
    for row in _csv_rows(folder / file):
        issue = BANKING_ISSUES.get(row["category"].strip())
        if issue is None:
            continue
        text = clean(row["text"]).text
        split = "test" if not official_test else _split(text, official_test=True)
        out.append(_intent(text, "banking77", split, issue))
    return out


def _read_all(datasets_dir: Path, name: str, official_test: bool = True) -> list[CareText]:
    """Every row of a set; `official_test=False` leaves a shipped test file unread."""
    readers: dict[str, Callable[[], list[CareText]]] = {
        "it_public_service_tweets": lambda: (
            _public_service_it(datasets_dir / name, "train.csv", True)
            + (_public_service_it(datasets_dir / name, "test.csv", False) if official_test else [])
        ),
        "x_fincorp": lambda: _x_fincorp(datasets_dir / name),
        "cesamard_aspect": lambda: _cesamard(datasets_dir / name),
        "uci_sentiment_sentences": lambda: _uci(datasets_dir / name),
        "bitext_customer_support": lambda: _bitext(datasets_dir / name),
        "banking77": lambda: (
            _banking77(datasets_dir / name, "train.csv", True)
            + (_banking77(datasets_dir / name, "test.csv", False) if official_test else [])
        ),
    }
    if name not in readers:
        raise ValueError(f"unknown set {name!r}; known: {', '.join(readers)}")
    return readers[name]()


CARE_SETS = (
    "it_public_service_tweets",
    "x_fincorp",
    "cesamard_aspect",
    "uci_sentiment_sentences",
    "bitext_customer_support",
    "banking77",
)


def care_set(datasets_dir: Path, name: str, split: str) -> list[CareText]:
    """One set's `train` or `val` rows (the test rows are the benchmark's alone)."""
    if split not in TRAINING_SPLITS:
        raise ValueError(f"split {split!r}: training reads only {', '.join(TRAINING_SPLITS)}")
    return [row for row in _read_all(datasets_dir, name, False) if row.split == split]


def split_counts(datasets_dir: Path) -> dict[str, dict[str, int]]:
    """Training and validation rows of every care set, and the test rows carved out of
    sets without an official test file (for the model card)."""
    out: dict[str, dict[str, int]] = {}
    for name in CARE_SETS:
        counts: dict[str, int] = {}
        for row in _read_all(datasets_dir, name, False):
            counts[row.split] = counts.get(row.split, 0) + 1
        out[name] = counts
    return out
