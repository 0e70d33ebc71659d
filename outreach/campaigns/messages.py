"""The check-in e-mail: rendered from the campaign's template in the customer's language.

Templates are the drafts' templates (`<language>/<template>.email.txt.j2`, an optional
`.email.html.j2`), so `[outreach] templates_dir` replaces check-in wording the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from outreach.campaigns.definition import ActiveCampaign
from outreach.campaigns.links import survey_url, unsubscribe_url
from outreach.campaigns.settings import Settings
from outreach.phrasing import first_name, spoken_date
from outreach.rendering import renderer
from outreach.voice import voice_for
from policies.context import primary_language
from storage.campaigns import OrderView
from storage.outreach import customer_order_number

CHANNEL = "email"


@dataclass(frozen=True)
class CheckInEmail:
    """A rendered check-in with its links and list headers."""

    subject: str
    text: str
    html: str | None
    survey_url: str
    unsubscribe_url: str
    headers: dict[str, str]


def survey_language(settings: Settings, template: str, customer_language: str | None) -> str:
    """The customer's language when the template exists in it, else the brand's default."""
    available = renderer(settings.outreach.templates_dir).languages(template, CHANNEL)
    for candidate in (primary_language(customer_language), settings.brand.default_language):
        if candidate in available:
            return candidate
    return "en" if "en" in available or not available else sorted(available)[0]


def compose(
    settings: Settings,
    campaign: ActiveCampaign,
    *,
    checkin_id: int,
    view: OrderView,
    language: str,
    tz: ZoneInfo,
    expires_at: datetime,
    now: datetime,
) -> CheckInEmail:
    """Render the check-in for one order. Raises RenderError for a broken template."""
    customer = view.customer
    address = customer.email if customer and customer.email else ""
    voice = voice_for(settings.brand, language)
    survey = survey_url(settings, checkin_id=checkin_id, expires_at=expires_at)
    unsubscribe = unsubscribe_url(settings, address)
    questions = list(campaign.config.survey)
    data = {
        "greeting": voice.greeting(first_name(customer.name if customer else None)),
        "sign_off": voice.sign_off,
        "signature": voice.signature,
        "brand": voice.brand,
        "formal": voice.formal,
        "channel": CHANNEL,
        "trigger": campaign.config.trigger,
        "product": view.product_names[0] if view.product_names else "",
        "products": list(view.product_names),
        "order_number": customer_order_number(view.order),
        "questions": questions,
        "survey_url": survey,
        "score_links": {
            question: [(n, f"{survey}?{question}={n}") for n in _scale(question)]
            for question in questions
        },
        "unsubscribe_url": unsubscribe,
        "expires_on": spoken_date(expires_at, language, tz),
    }
    rendered = renderer(settings.outreach.templates_dir).render(
        language, campaign.config.template, CHANNEL, data
    )
    headers = {"List-Unsubscribe": f"<{unsubscribe}>"}
    # RFC 8058: one-click unsubscribing only with an HTTPS address to post to.
    if unsubscribe.startswith("https://"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return CheckInEmail(
        subject=rendered.subject or "",
        text=rendered.text,
        html=rendered.html,
        survey_url=survey,
        unsubscribe_url=unsubscribe,
        headers=headers,
    )


def _scale(question: str) -> range:
    return range(1, 6) if question == "csat" else range(0, 11)
