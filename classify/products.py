"""Match mentions to the caller's products by name, aliases and SKUs, tolerating typos."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

# Below this many characters a one-letter typo changes the meaning ("tab" vs "tap"):
# short aliases must match exactly, as whole words.
MIN_FUZZY_LEN = 5
FUZZY_CUTOFF = 88.0


@dataclass(frozen=True)
class ProductSpec:
    """A product the caller listens for."""

    name: str
    aliases: list[str] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)


def product_terms(products: Sequence[ProductSpec]) -> list[str]:
    """Every name, alias and SKU of `products`: words that say nothing of a post's language."""
    return [term for p in products for term in (p.name, *p.aliases, *p.skus) if term.strip()]


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation turned into single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", bare).split())


def _sku_key(sku: str) -> str:
    return re.sub(r"[^0-9a-z]", "", fold(sku))


class ProductMatcher:
    """Pre-folds the product table once; `match` is then cheap per text."""

    def __init__(self, products: list[ProductSpec]) -> None:
        self._names: list[tuple[str, str]] = []
        self._skus: list[tuple[str, str]] = []
        for product in products:
            for alias in {product.name, *product.aliases}:
                if fold(alias):
                    self._names.append((fold(alias), product.name))
            for sku in product.skus:
                if _sku_key(sku):
                    self._skus.append((_sku_key(sku), product.name))

    def match(self, text: str) -> list[str]:
        """Product names mentioned in `text`, in the order of the caller's list."""
        if not self._names and not self._skus:
            return []
        folded = fold(text)
        padded = f" {folded} "
        tokens = folded.split()
        # "X-300", "x 300" and "X300" are the same SKU: join up to three adjacent tokens.
        joined = {"".join(tokens[i : i + n]) for n in (1, 2, 3) for i in range(len(tokens))}
        found: set[str] = {product for key, product in self._skus if key in joined}
        for alias, product in self._names:
            if product in found:
                continue
            if f" {alias} " in padded or (
                len(alias) >= MIN_FUZZY_LEN
                and (fuzz.partial_ratio(alias, folded, score_cutoff=FUZZY_CUTOFF) > 0)
            ):
                found.add(product)
        order = {name: i for i, (_, name) in enumerate(self._names + self._skus)}
        return sorted(found, key=lambda n: order[n])
