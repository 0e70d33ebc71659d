"""`ascolto explain`: a mention's labels and the training examples nearest to it.

The classifier library has no notion of neighbours, so they are computed here: cosine
similarity between the mention's stored embedding and the embeddings of the seed examples
shipped with the library plus the labelled examples in the database, encoded on demand
(the seed set's embeddings are cached on disk by the library's embedding cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from classify.classifying import get_classifier, mention_text
from classify.settings import Settings
from storage.classifications import (
    TRAINED_TASKS,
    get_embedding,
    get_labels,
    get_mention,
    list_labelled_examples,
)
from storage.models import Classification, Mention


@dataclass
class Neighbour:
    similarity: float
    origin: str
    labels: str
    text: str


@dataclass
class Explanation:
    mention: Mention
    text: str
    labels: Classification | None
    neighbours: list[Neighbour] = field(default_factory=list)


def _describe(parts: dict[str, object]) -> str:
    shown = []
    for key, value in parts.items():
        if value in (None, [], ""):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        shown.append(f"{key}: {value}")
    return "; ".join(shown)


def explain_mention(
    settings: Settings, engine: Engine, mention_id: int, *, nearest: int = 5
) -> Explanation:
    """Labels of `mention_id` and its `nearest` training examples; LookupError if unknown."""
    from classify.datasets import prepare, read_seed
    from classify.embedding_cache import cached_encode
    from classify.train import SEED_FILE

    with Session(engine) as session:
        mention = get_mention(session, mention_id=mention_id)
        if mention is None:
            raise LookupError(f"no mention with id {mention_id}")
        labels = get_labels(session, mention_id=mention_id)
        stored = get_embedding(session, mention_id=mention_id)
        examples = list_labelled_examples(session, tasks=TRAINED_TASKS)
    text = mention_text(mention.title, mention.text)
    result = Explanation(mention=mention, text=text, labels=labels)
    clf = get_classifier(settings)
    encoder_version = clf.model_version.split("+heads:")[0]
    if stored is not None and stored[0].split("+heads:")[0] == encoder_version:
        vector = stored[1]
    else:
        vector = clf.embed(prepare([text]))[0]
    seed = read_seed(SEED_FILE)
    candidates: list[tuple[str, str, str]] = [
        (
            f"seed ({ex.split})",
            _describe({"issues": ex.issues, "urgency": ex.urgency}),
            ex.text,
        )
        for ex in seed
    ]
    matrix = [cached_encode(clf.encoder, prepare([ex.text for ex in seed]))]
    if examples:
        candidates += [
            (f"labelled by {ex.created_by}", _describe(ex.label), ex.text) for ex in examples
        ]
        matrix.append(clf.embed(prepare([ex.text for ex in examples])))
    vectors = np.concatenate(matrix)
    norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(vector)), 1e-12)
    sims = vectors @ vector / np.maximum(norms, 1e-12)
    for index in np.argsort(-sims)[:nearest]:
        origin, described, example_text = candidates[int(index)]
        result.neighbours.append(Neighbour(float(sims[index]), origin, described, example_text))
    return result
