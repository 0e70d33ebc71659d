"""Who wrote a mention and what kind of post it is, from its author and words alone.

Pure functions over strings, shared by the `deserves_reply` rule (which says why a mention
gets no reply) and by intent choice in outreach (a pre-purchase question is answered, not
apologised to). Handles are compared as every network writes them: ``@acme``,
``@acme@mastodon.social``, ``acme.bsky.social``, ``u/acme`` and ``Acme`` are one name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Bots and moderators that post on their own: Reddit's AutoModerator and friends.
DEFAULT_BOTS = (
    "automoderator",
    "reddit",
    "autotldr",
    "remindmebot",
    "savevideo",
    "github-actions",
    "dependabot",
)
# News outlets and wires whose posts are headlines, not customers.
DEFAULT_NEWS_ACCOUNTS = (
    "ansa",
    "ansa.it",
    "repubblica",
    "corriere",
    "ilsole24ore",
    "ilpost",
    "reuters",
    "apnews",
    "bbcnews",
    "bbcbreaking",
    "cnn",
    "techcrunch",
    "theverge",
    "engadget",
    "wired",
    "arstechnica",
    "gizmodo",
    "prnewswire",
    "businesswire",
    "globenewswire",
)
# Endings of a handle that the brand runs besides its plain name.
_OWN_SUFFIXES = ("", "official", "support", "help", "care", "team", "hq", "news", "it", "italia")
_BOT_HANDLE = re.compile(r"(?:^|[_.-])bot$|bot[_.-]?\d*$|^\[?bot\]?$", re.IGNORECASE)
_BOT_WORDS = re.compile(
    r"\bi am a bot\b|\bthis action was performed automatically\b|\bsono un bot\b|"
    r"\bmessaggio automatico\b|\bautomated (?:message|post)\b",
    re.IGNORECASE,
)
_PRESS_WORDS = re.compile(
    r"\bpress release\b|\bcomunicato stampa\b|\bfor immediate release\b|\b(?:announces|annuncia|"
    r"unveils|presenta|launches|lancia)\b|\bis rolling out\b|\brolling out (?:now|today)\b|"
    r"\b(?:review|recensione)\s*:|^\s*(?:breaking|ultim'ora)\b",
    re.IGNORECASE,
)
# A headline as news sites and aggregators title it: "… - TecnoNotizie", "… | Retail Digest".
_HEADLINE = re.compile(
    r"^[^\n]{15,}\s[-\u2013\u2014|]\s[A-Z][\w'\u2019.&]*(?: [A-Z][\w'\u2019.&]*){0,4}$",
    re.MULTILINE,
)
# Words a person uses about their own experience: a headline has none of them.
_FIRST_PERSON = re.compile(
    r"\b(?:i|i'm|i've|my|me|mine|we|our|io|mio|mia|miei|mie|ho|sono|mi|noi|nostro|nostra|"
    r"abbiamo)\b",
    re.IGNORECASE,
)
_HAPPY_WORDS = re.compile(
    r"\b(?:finally (?:works|fixed|lasts)|works (?:great|perfectly|fine) now|fixed (?:it|now)|"
    r"love (?:it|my|the)|thank you|thanks|grazie|finalmente|funziona (?:bene|alla grande|"
    r"perfettamente)|risolto|adoro|perfett[oa]|ottim[oa]|fantastic[oa])\b|non [a-z ]{0,30}\bpiù\b|"
    r"no longer (?:drains|crashes|stutters|lags)|(?:doesn't|does not) (?:drain|crash) any ?more",
    re.IGNORECASE,
)
# Thanks that close a request ("Potete verificare con il corriere? Grazie mille", "thanks in
# advance") are politeness, not gladness.
_REQUEST_THANKS = re.compile(
    r"\b(?:thanks?(?: you)? in advance|grazie in anticipo)\b|"
    r"\?\s*(?:(?:many|a lot of)\s+)?(?:thanks?(?: you)?|grazie)\b"
    r"(?:\s+(?:mille|tante|a lot|so much))?",
    re.IGNORECASE,
)
_HAPPY_EMOJI = re.compile(
    "[\U0001f389\U0001f60a\U0001f600\U0001f601\U0001f603\U0001f44d\u2764\U0001f64f"
    "\U0001f973\U0001f60d]"
)
_UNHAPPY_WORDS = re.compile(
    r"\b(?:still|ancora|again|di nuovo|broken|rotto|not working|doesn't work|does not work|"
    r"non funziona|refund|rimborso|worst|peggior[ei]?|terrible|pessim[oa]|angry|arrabbiat[oa]|"
    r"why|perch[eé]|nobody|nessuno|never|mai)\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(r"\?")
_BUYING = re.compile(
    r"\b(?:should i (?:buy|get|wait)|worth (?:it|buying|the money)|or wait|wait for|"
    r"black friday|cyber monday|which (?:one|model|version) should|thinking (?:of|about) "
    r"(?:buying|getting)|planning to buy|before (?:i )?buy(?:ing)?|pre-?order|in stock|"
    r"vale la pena|conviene|meglio (?:aspettare|comprare|prendere)|aspettare il|"
    r"sto pensando di (?:comprare|prendere)|prima di (?:comprare|acquistare)|"
    r"disponibil[ei]|quale (?:modello|versione|scegliere))\b",
    re.IGNORECASE,
)
# Someone who already has the product and a problem with it is not asking before buying
# ("I have a Voltek laptop", "Ho un portatile Voltek da un anno").
_OWNER = re.compile(
    r"\b(?:my|mine|i bought|i ordered|i have|i've had|i own|il mio|la mia|i miei|le mie|"
    r"ho comprato|ho ordinato|ho preso|ho acquistato|possiedo|ho (?:un|uno|una|il|lo|la)\b"
    r"(?! (?:dubbio|domanda|curiosit))|ho un')",
    re.IGNORECASE,
)


def normal_handle(handle: str | None) -> str:
    """A handle as one name across networks: no ``@``, ``u/``, instance or domain, lowercased.

    ``@acme@mastodon.social`` → ``acme``; ``acme.bsky.social`` → ``acme``;
    ``u/Acme_Official`` → ``acme_official``.
    """
    if not handle:
        return ""
    text = handle.strip().lower()
    text = re.sub(r"^(?:https?://)?(?:www\.)?", "", text)
    text = re.sub(r"^(?:/?u/|/?user/)", "", text)
    text = text.lstrip("@")
    text = text.split("@", 1)[0]
    return text.split(".", 1)[0] if "." in text else text


def _slug(name: str | None) -> str:
    """Letters and digits of a name: ``Acme :verified:`` → ``acme``."""
    if not name:
        return ""
    text = re.sub(r":[a-z0-9_+-]+:", "", name.lower())
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if ch.isalnum() and ch.isascii())


def is_own_account(
    handle: str | None, display_name: str | None, brand: str | None, configured: Iterable[str]
) -> bool:
    """Whether the brand itself wrote this: a configured account, or its name on any network."""
    name = normal_handle(handle)
    if not name:
        return False
    listed = {normal_handle(h) for h in configured}
    full = (handle or "").strip().lower().lstrip("@")
    if name in listed or full in {h.strip().lower().lstrip("@") for h in configured}:
        return True
    slug = _slug(brand)
    if not slug:
        return False
    flat = name.replace("_", "").replace("-", "")
    if any(flat == slug + suffix for suffix in _OWN_SUFFIXES):
        return True
    # The brand's own name as the display name of an account named after it.
    return _slug(display_name) == slug and flat.startswith(slug)


def is_bot(handle: str | None, text: str, configured: Iterable[str]) -> bool:
    """A bot or a moderator account, by its name or by what it says about itself."""
    name = normal_handle(handle)
    listed = {normal_handle(h) for h in configured}
    if name and (name in listed or _BOT_HANDLE.search(name)):
        return True
    return bool(_BOT_WORDS.search(text))


def is_news(handle: str | None, text: str, configured: Iterable[str]) -> bool:
    """A news outlet's post, a press release or a headline: no customer speaks in it."""
    name = normal_handle(handle)
    if name and name in {normal_handle(h) for h in configured}:
        return True
    if not (_PRESS_WORDS.search(text) or _HEADLINE.search(text)):
        return False
    # "I updated and it announces..." is a person; a headline speaks of no one.
    return not _FIRST_PERSON.search(text)


def is_happy(text: str, sentiment: str | None) -> bool:
    """A customer who is pleased: positive labels, or glad words with no complaint in them."""
    if _UNHAPPY_WORDS.search(text):
        return False
    if sentiment == "positive":
        return True
    emoji = bool(_HAPPY_EMOJI.search(text))
    glad = bool(_HAPPY_WORDS.search(_REQUEST_THANKS.sub(" ", text)))
    # Glad words under a negative label need a glad emoji too ("non si accende più").
    return (emoji or glad) and (emoji or sentiment != "negative")


def is_pre_purchase(text: str) -> bool:
    """A question asked before buying ("Tab 3 or wait for Black Friday??")."""
    return bool(_QUESTION.search(text) and _BUYING.search(text) and not _OWNER.search(text))
