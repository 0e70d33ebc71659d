from __future__ import annotations

import pytest

from classify.urgency_rules import keyword_urgency


def test_keywords_in_both_languages() -> None:
    assert keyword_urgency("The charger started smoking") == ["safety"]
    assert keyword_urgency("C'è puzza di bruciato dal forno") == ["safety"]
    assert keyword_urgency("ho preso la scossa") == ["safety"]
    assert keyword_urgency("my lawyer will call you") == ["legal"]
    assert keyword_urgency("ne parlerò con il mio avvocato") == ["legal"]
    assert keyword_urgency("Disdico l'abbonamento") == ["churn"]
    assert keyword_urgency("switching to another provider") == ["churn"]
    assert keyword_urgency("I'm a journalist at the Gazette") == ["press"]


def test_ordinary_text_has_no_urgency() -> None:
    assert keyword_urgency("Love the new colours, great job") == []
    assert keyword_urgency("Quando arriva il mio ordine?") == []


NOT_URGENT = [
    "killer feature, honestly",
    "this deal is fire",
    "This deal is FIRE 🔥🔥",
    "smoking hot prices this weekend",
    "you're on fire with these updates",
    "noise cancelling headphones, best purchase this year",
    "Sue from support sorted it in minutes",
    "picked it up at the food court stand",
    "moving to a new apartment, can I change the delivery address?",
    "going back to work tomorrow, the bag is perfect",
    "my last order arrived a day late",
    "subscribers get free shipping?",
    "my heart melted when I opened the box",
    "this little lamp sparks joy",
    "burned out after work, this chair saves me",
    "il mio ultimo ordine non è ancora arrivato",
    "passo a ritirarlo domani in negozio",
    "vado da mia madre, potete consegnare sabato?",
    "la stampa è sbiadita sulla scatola",
    "ho ordinato un articolo ieri",
    "lettori DVD in offerta",
    "mai più senza questa moka!",
    "sede legale a Milano?",
]


@pytest.mark.parametrize("text", NOT_URGENT)
def test_figures_of_speech_and_everyday_phrases_are_not_urgent(text: str) -> None:
    assert keyword_urgency(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("The phone is on fire!", "safety"),
        ("the cable melted in the socket", "safety"),
        ("it sparks when I plug it in", "safety"),
        ("I will sue you", "legal"),
        ("this is my last order", "churn"),
        ("questo è il mio ultimo ordine", "churn"),
        ("passo a Vodafone", "churn"),
        ("my 50k followers will hear about this", "press"),
        ("Lo pubblico sul mio blog, 50mila lettori", "press"),
    ],
)
def test_the_same_words_still_fire_when_they_mean_it(text: str, kind: str) -> None:
    assert kind in keyword_urgency(text)
