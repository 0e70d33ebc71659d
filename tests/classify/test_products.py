from __future__ import annotations

from classify.products import ProductMatcher, ProductSpec

PRODUCTS = [
    ProductSpec(name="Acme Tab 10", aliases=["tab10", "tablet acme"], skus=["AT-1000"]),
    ProductSpec(name="Caffettiera Élite", aliases=["elite moka"], skus=["CE-22"]),
    ProductSpec(name="Router X300", skus=["X300"]),
]


def test_case_accents_typos_and_skus() -> None:
    m = ProductMatcher(PRODUCTS)
    assert m.match("my ACME TAB 10 died") == ["Acme Tab 10"]
    assert m.match("la caffettiera elite perde acqua") == ["Caffettiera Élite"]
    assert m.match("la caffetiera elitè perde") == ["Caffettiera Élite"]  # typo + accent
    assert m.match("order AT 1000 arrived broken") == ["Acme Tab 10"]
    assert m.match("il mio x-300 non va") == ["Router X300"]
    assert m.match("tab10 and x300 both broken") == ["Acme Tab 10", "Router X300"]


def test_no_false_match_on_unrelated_text() -> None:
    m = ProductMatcher(PRODUCTS)
    assert m.match("the weather in Milan is lovely today") == []
    assert m.match("I tapped the button") == []
    assert ProductMatcher([]).match("anything") == []
