"""Drafting with a language model of the user's: an OpenAI-compatible chat endpoint.

Off unless `[drafts] sources` names `language_model`. The model sees the post and the
template's draft with personal data masked (names, handle, e-mail addresses, phone and
order numbers become `[NAME]`, `[EMAIL_1]`, ...); the placeholders in its answer are filled
back with this customer's facts, and an answer holding a placeholder that was never given
is refused. A timeout, an HTTP error, a malformed body, an empty answer or a refusal
(`finish_reason` "content_filter", a `refusal` field, a refusal in words) gives way to the
template with the reason recorded. Tokens, cost and latency are recorded on the draft.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from outreach.draft_settings import LanguageModelSettings
from outreach.drafters.base import Composed, Declined, DraftRequest, DraftSource
from outreach.lint import NETWORK_LIMITS
from outreach.rendering import clean
from outreach.settings import Settings
from policies.personal_data import DEFAULT_ORDER_PATTERNS, find_personal_data

_ORDER_PATTERNS = tuple(re.compile(p) for p in DEFAULT_ORDER_PATTERNS)
_LANGUAGES = {"en": "English", "it": "Italian"}
# A post is cut to this many characters before it is sent.
POST_LIMIT = 2000
# Longest answer taken (a runaway model is cut off, then linted like any draft).
ANSWER_LIMIT = 4000
# Failed calls in a row after which the endpoint is left alone for a while.
FAILURES_BEFORE_PAUSE = 3
PAUSE_SECONDS = 60.0
_PLACEHOLDER = re.compile(r"\[(?:NAME|FULL_NAME|HANDLE|EMAIL|PHONE|ORDER)(?:_\d+)?\]")
# A model declining in words rather than with a refusal field.
_REFUSAL = re.compile(
    r"^\W*(?:(?:I'm|I am) sorry,? (?:but )?I (?:can't|cannot|can not|won't|am unable)|"
    r"I (?:can't|cannot|am unable to) (?:help|assist|comply|write)|as an AI\b|"
    r"mi dispiace,? ma non posso|non posso (?:aiutarti|aiutarla|rispondere|scrivere))",
    re.IGNORECASE,
)


@dataclass
class Mask:
    """Personal data swapped for placeholders before a call, and back after it."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, value: str | None) -> None:
        if not value or not value.strip() or value in self.values.values():
            return
        count = sum(1 for k in self.values if k.startswith(f"[{kind}"))
        key = f"[{kind}]" if kind in ("NAME", "FULL_NAME", "HANDLE") else f"[{kind}_{count + 1}]"
        if key in self.values:
            key = f"[{kind}_{count + 1}]"
        self.values[key] = value

    def hide(self, text: str) -> str:
        """`text` with every known value (longest first) and any other personal data masked."""
        for key, value in sorted(self.values.items(), key=lambda kv: -len(kv[1])):
            text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", key, text)
        kinds = {"email": "EMAIL", "phone": "PHONE", "order_number": "ORDER"}
        for found in reversed(find_personal_data(text, order_patterns=_ORDER_PATTERNS)):
            piece = text[found.start : found.end]
            if _PLACEHOLDER.fullmatch(piece):
                continue
            self.add(kinds[found.kind], piece)
            key = next(k for k, v in self.values.items() if v == piece)
            text = text[: found.start] + key + text[found.end :]
        return text

    def show(self, text: str) -> str:
        """`text` with its placeholders filled back; Declined for one never given."""
        for key, value in self.values.items():
            text = text.replace(key, value)
        if leftover := _PLACEHOLDER.search(text):
            raise Declined(f"the answer has a placeholder never given: {leftover.group(0)}")
        return text


@dataclass(frozen=True)
class Answer:
    """What the endpoint answered: the text, why it stopped, a refusal, token counts."""

    text: str
    finish_reason: str | None
    refusal: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    model: str | None


class LanguageModelSource(DraftSource):
    """A reply written by an OpenAI-compatible chat model, from masked facts.

    After FAILURES_BEFORE_PAUSE failed calls in a row (timeouts, HTTP errors, malformed
    answers) the endpoint is left alone for PAUSE_SECONDS: a server that is down costs
    a few timeouts, not one per mention of a run.
    """

    name = "language_model"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._failures = 0
        self._paused_until = 0.0

    @property
    def options(self) -> LanguageModelSettings:
        return self.settings.drafts.language_model

    def compose(self, request: DraftRequest) -> Composed:
        options = self.options
        mask = mask_for(request)
        messages = prompt(request, mask)
        details: dict[str, Any] = {"model": options.model}
        if self._failures >= FAILURES_BEFORE_PAUSE and time.monotonic() < self._paused_until:
            raise Declined(
                f"not called: the endpoint failed {self._failures} times in a row",
                details=details,
            )
        started = time.perf_counter()
        try:
            answer = call(options, messages)
        except Declined as exc:
            self._failures += 1
            if self._failures >= FAILURES_BEFORE_PAUSE:
                self._paused_until = time.monotonic() + PAUSE_SECONDS
            exc.ms = _ms(started)
            exc.details = {**details, **exc.details}
            raise
        self._failures = 0
        ms = _ms(started)
        cost = price(options, answer)
        details.update(
            {
                "served_by": answer.model,
                "finish_reason": answer.finish_reason,
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": answer.completion_tokens,
            }
        )
        reason = refused(answer)
        if reason is not None:
            raise Declined(reason, details=details, ms=ms, cost=cost)
        try:
            text = mask.show(clean(_unquoted(answer.text), ANSWER_LIMIT, one_line=False))
        except Declined as exc:
            raise Declined(exc.reason, details=details, ms=ms, cost=cost) from None
        return Composed(text, details, ms=ms, cost=cost)


def mask_for(request: DraftRequest) -> Mask:
    """The placeholders of this draft: the customer's names, handle, address, order."""
    facts, data = request.facts, request.data
    mask = Mask()
    mask.add("NAME", data.get("name"))
    mask.add("FULL_NAME", facts.customer_name)
    mask.add("FULL_NAME", facts.display_name)
    mask.add("HANDLE", data.get("handle"))
    if facts.handle:
        mask.add("HANDLE", facts.handle)
    mask.add("EMAIL", facts.customer_email)
    if facts.order is not None:
        mask.add("ORDER", facts.order.number)
        mask.add("ORDER", facts.order.internal_id)
    return mask


def prompt(request: DraftRequest, mask: Mask) -> list[dict[str, str]]:
    """System and user messages: the brand voice, the masked post and the template's draft."""
    data = request.data
    language = _LANGUAGES.get(request.language, request.language)
    rules = [
        f"You write replies for the customer care team of {data.get('brand')}.",
        f"Write in {language}.",
    ]
    if request.language == "it":
        rules.append("Address the customer as 'Lei'." if data.get("formal") else "Use 'tu'.")
    if not request.private:
        limit = NETWORK_LIMITS.get(request.facts.source_kind or "", 280)
        rules.append(f"This is a public reply: at most {limit} characters, no order numbers.")
    rules += [
        "State only facts found in the post or the reference draft; promise nothing else.",
        "Keep placeholders such as [NAME] exactly as written; never invent one.",
        "Thank or apologise once at most.",
        f"Say what happens next and when ({data.get('within')}).",
        f"End with the sign-off: {data.get('sign_off')}",
        "Emoji are welcome." if data.get("emoji") else "Use no emoji.",
        "Answer with the reply's text only.",
    ]
    post = mask.hide(clean(request.facts.full_text, POST_LIMIT, one_line=False))
    reference = mask.hide(request.template.text)
    return [
        {"role": "system", "content": " ".join(rules)},
        {
            "role": "user",
            "content": f"The post:\n{post}\n\nThe reference draft:\n{reference}",
        },
    ]


def call(options: LanguageModelSettings, messages: list[dict[str, str]]) -> Answer:
    """One chat completion, streamed or not; Declined on any failure."""
    url = (options.base_url or "").rstrip("/") + "/chat/completions"
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(options.api_key_env)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body: dict[str, Any] = {
        "model": options.model,
        "messages": messages,
        "max_tokens": options.max_tokens,
        "temperature": options.temperature,
        "stream": options.stream,
    }
    if options.stream:
        body["stream_options"] = {"include_usage": True}
    deadline = time.monotonic() + options.timeout
    try:
        with requests.post(
            url,
            json=body,
            headers=headers,
            timeout=(options.timeout, options.timeout),
            stream=options.stream,
        ) as response:
            if response.status_code >= 400:
                raise Declined(f"HTTP {response.status_code}: {_error_message(response)}")
            if options.stream:
                return _streamed(response.iter_lines(decode_unicode=False), deadline)
            return _whole(response.json())
    except requests.Timeout:
        raise Declined(f"no answer within {options.timeout:g} seconds") from None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        # Before RequestException: requests' JSONDecodeError is both.
        raise Declined(f"a malformed answer: {type(exc).__name__}: {exc}"[:300]) from None
    except requests.RequestException as exc:
        raise Declined(f"the call failed: {type(exc).__name__}") from None


def _whole(body: Any) -> Answer:
    choice = body["choices"][0]
    message = choice.get("message") or {}
    usage = body.get("usage") or {}
    return Answer(
        text=message.get("content") or "",
        finish_reason=choice.get("finish_reason"),
        refusal=message.get("refusal"),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        model=body.get("model"),
    )


def _streamed(lines: Iterable[bytes], deadline: float) -> Answer:
    """Server-sent `data: {chunk}` lines up to `data: [DONE]`, joined into one answer."""
    parts: list[str] = []
    refusal: list[str] = []
    finish: str | None = None
    usage: dict[str, Any] = {}
    model = None
    done = False
    for raw in _until(lines, deadline):
        line = raw.decode("utf-8").strip()
        if not line.startswith("data:"):
            continue  # comments (": keep-alive"), event names, blank separators
        payload = line[len("data:") :].strip()
        if payload == "[DONE]":
            done = True
            break
        chunk = json.loads(payload)
        if "error" in chunk:
            raise Declined(f"an error while streaming: {_message_of(chunk)}")
        model = chunk.get("model") or model
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            parts.append(delta.get("content") or "")
            refusal.append(delta.get("refusal") or "")
            finish = choice.get("finish_reason") or finish
    if not done and finish is None:
        raise Declined("the stream ended before it was complete")
    return Answer(
        text="".join(parts),
        finish_reason=finish,
        refusal="".join(refusal) or None,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        model=model,
    )


def _until(lines: Iterable[bytes], deadline: float) -> Iterator[bytes]:
    """The lines of a stream, while the call's time lasts (a trickle is a timeout too)."""
    for line in lines:
        if time.monotonic() > deadline:
            raise requests.Timeout("the stream outlasted the timeout")
        yield line


def refused(answer: Answer) -> str | None:
    """Why the answer is no draft: a refusal, a filtered or cut-off answer, nothing at all."""
    if answer.refusal:
        return f"the model refused: {clean(answer.refusal, 200)}"
    if answer.finish_reason == "content_filter":
        return "the answer was withheld by the content filter"
    if answer.finish_reason == "length":
        return "the answer was cut off at max_tokens"
    if not answer.text.strip():
        return "the answer was empty"
    if _REFUSAL.search(answer.text):
        return f"the model refused: {clean(answer.text, 200)}"
    return None


def price(options: LanguageModelSettings, answer: Answer) -> float | None:
    """What the call cost at the configured prices per million tokens; None without usage."""
    if answer.prompt_tokens is None and answer.completion_tokens is None:
        return None
    cost = (answer.prompt_tokens or 0) * options.prompt_price
    cost += (answer.completion_tokens or 0) * options.completion_price
    return round(cost / 1_000_000, 8)


def _error_message(response: requests.Response) -> str:
    try:
        return _message_of(response.json())
    except ValueError:
        return clean(response.text, 200) or response.reason or "no message"


def _message_of(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return clean(str(error.get("message") or error.get("code") or "no message"), 200)
    return clean(str(error or body), 200)


def _unquoted(text: str) -> str:
    """The answer without quotes wrapped round all of it."""
    text = text.strip()
    for left, right in (('"', '"'), ("“", "”"), ("«", "»")):
        if len(text) > 1 and text.startswith(left) and text.endswith(right):
            return text[1:-1].strip()
    return text


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
