from __future__ import annotations

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
