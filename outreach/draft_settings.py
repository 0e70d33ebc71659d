"""Settings of how drafts read and where their text comes from: the brand voice's emoji
policy, the promised reply time, and the draft sources tried in turn (templates, the
closest approved reply from history, a language model of the user's)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The source every draft falls back to: it always writes a draft.
TEMPLATE_SOURCE = "template"


class HistorySettings(BaseModel):
    """`[drafts.history]`: drafting from the closest approved, unedited past reply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_similarity: float = Field(
        0.5,
        ge=-1.0,
        le=1.0,
        description="Least cosine similarity between this mention's embedding and a past "
        "one's for its approved reply to be reused; the past one has the same intent, "
        "language and kind of reply already. The scale depends on the encoder: the drafts "
        "benchmark reports the quartiles of the best similarity found.",
    )
    max_age_days: int = Field(
        180, ge=1, description="Approved replies older than this many days are not reused."
    )
    candidates: int = Field(
        2000,
        ge=1,
        le=100_000,
        description="Most recent approved replies (same intent, language and channel) compared.",
    )


class LanguageModelSettings(BaseModel):
    """`[drafts.language_model]`: an OpenAI-compatible chat endpoint of the user's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Base address of an OpenAI-compatible API, e.g. `http://127.0.0.1:8080/v1` "
        "(llama.cpp, vLLM, Ollama) or a hosted one; `/chat/completions` is added.",
    )
    model: str | None = Field(None, max_length=200, description="Model name sent with each call.")
    api_key_env: str = Field(
        "ASCOLTO_LLM_API_KEY",
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Environment variable holding the API key (sent as a bearer token); "
        "unset: no key is sent (local servers).",
    )
    timeout: float = Field(
        20.0, gt=0, le=600, description="Seconds a call may take before the template is used."
    )
    max_tokens: int = Field(400, ge=16, le=8192, description="Most tokens the model may write.")
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    stream: bool = Field(
        False, description="Ask for a streamed answer (server-sent events) instead of one body."
    )
    prompt_price: float = Field(
        0.0, ge=0, description="Price of a million prompt tokens, for the cost recorded per draft."
    )
    completion_price: float = Field(
        0.0,
        ge=0,
        description="Price of a million completion tokens, for the cost recorded per draft.",
    )


class DraftSettings(BaseModel):
    """`[drafts]`: what every drafted reply and e-mail keeps to, in every language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emoji: bool = Field(
        False,
        description="Drafts may carry an emoji (a thank-you 🙂); off, the draft-lint flags any.",
    )
    reply_within_hours: int = Field(
        24,
        ge=1,
        le=720,
        description="When drafts promise the next contact: `we'll get back to you within 24 "
        "hours` / `entro 24 ore`. Keep it to what the team can hold.",
    )
    sources: tuple[str, ...] = Field(
        (TEMPLATE_SOURCE,),
        min_length=1,
        description="Draft sources tried in turn: `language_model`, `history`, `template`. "
        "A source that fails, finds nothing or writes a draft the policy blocks or the "
        "draft-lint faults gives way to the next; `template` always ends the list.",
    )
    history: HistorySettings = Field(
        default_factory=HistorySettings,
        description="Drafting from the closest approved, unedited reply to a similar mention.",
    )
    language_model: LanguageModelSettings = Field(
        default_factory=LanguageModelSettings,
        description="An OpenAI-compatible chat endpoint, used when `sources` names it.",
    )

    @model_validator(mode="after")
    def _ends_with_templates(self) -> DraftSettings:
        if len(set(self.sources)) != len(self.sources):
            raise ValueError("drafts.sources names a source twice")
        if TEMPLATE_SOURCE in self.sources[:-1]:
            raise ValueError("drafts.sources: `template` always drafts, so it comes last")
        if self.sources[-1] != TEMPLATE_SOURCE:
            object.__setattr__(self, "sources", (*self.sources, TEMPLATE_SOURCE))
        llm = self.language_model
        if "language_model" in self.sources and not (llm.base_url and llm.model):
            raise ValueError(
                "drafts.sources names language_model: set drafts.language_model.base_url "
                "and drafts.language_model.model"
            )
        return self
