"""Embed long text lists in chunks cached as .npy, so training reruns cost seconds."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classify.encoders import Embeddings, Encoder

CHUNK = 2000


def default_cache_dir() -> Path:
    """`ASCOLTO_CLASSIFY_CACHE_DIR` (as `[classify] cache_dir`), else the user's cache."""
    env = os.environ.get("ASCOLTO_CLASSIFY_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ascolto" / "classify"


def encode_in_batches(encoder: Encoder, texts: Sequence[str], batch_size: int) -> Embeddings:
    """Encode in length-sorted batches (less padding), returned in input order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        out[idx] = encoder.encode([texts[i] for i in idx])
    return out


def cached_encode(
    encoder: Encoder,
    texts: Sequence[str],
    cache_dir: Path | None = None,
    batch_size: int = 64,
) -> Embeddings:
    """Embeddings of `texts`, reusing chunks (keyed by encoder version and text) on disk."""
    from classify.encoders.concat_backend import ConcatEncoder

    if isinstance(encoder, ConcatEncoder):
        # Cache each part on its own, so single encoders and combinations share the work.
        return encoder.combine(
            [cached_encode(part, texts, cache_dir, batch_size) for part in encoder.parts]
        )
    folder = (cache_dir or default_cache_dir()) / encoder.version.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for start in range(0, len(texts), CHUNK):
        chunk = list(texts[start : start + CHUNK])
        digest = hashlib.sha256("\x1e".join(chunk).encode("utf-8", "replace")).hexdigest()[:24]
        path = folder / f"{digest}.npy"
        if path.exists():
            parts.append(np.load(path))
            continue
        emb = encode_in_batches(encoder, chunk, batch_size)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, emb)
        tmp.replace(path)
        parts.append(emb)
    if not parts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)
