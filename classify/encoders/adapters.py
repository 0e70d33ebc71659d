"""Low-rank adapters (LoRA) for the e5 encoder: saved as a small .npz, merged at load time.

Each adapted linear layer `W` becomes `W + scale * B @ A`; merged once, they cost nothing
per text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HEADER = "header"


def save_adapters(
    path: Path,
    pairs: dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]],
    scale: float,
    meta: dict[str, Any],
) -> None:
    """Write `{layer name: (A, B)}` as float16 with the scale and a JSON header."""
    arrays: dict[str, Any] = {}
    for name, (a, b) in pairs.items():
        arrays[f"{name}.A"] = a.astype(np.float16)
        arrays[f"{name}.B"] = b.astype(np.float16)
    arrays[HEADER] = np.array(json.dumps({"scale": scale, "layers": sorted(pairs), **meta}))
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    tmp.replace(path)


def read_adapters(path: Path) -> tuple[dict[str, tuple[Any, Any]], float, dict[str, Any]]:
    """The adapter pairs as float32, their scale and the header."""
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(str(z[HEADER]))
        pairs = {
            name: (z[f"{name}.A"].astype(np.float32), z[f"{name}.B"].astype(np.float32))
            for name in header["layers"]
        }
    return pairs, float(header["scale"]), header


def merge_adapters(state: dict[str, Any], path: Path) -> None:
    """Add each adapter's `scale * B @ A` to the matching `<name>.weight` in `state`."""
    import torch

    pairs, scale, _ = read_adapters(path)
    for name, (a, b) in pairs.items():
        key = f"{name}.weight"
        if key not in state:
            raise ValueError(f"adapters in {path} name an unknown layer {name!r}")
        delta = torch.from_numpy(b) @ torch.from_numpy(a)
        if delta.shape != state[key].shape:
            raise ValueError(f"adapter {name!r} in {path} has shape {tuple(delta.shape)}")
        state[key] = state[key] + scale * delta


def adapters_digest(path: Path) -> str:
    """A short hash of the adapter weights and scale (not of the file: zip entries carry
    timestamps, and the same training must give the same version)."""
    pairs, scale, _ = read_adapters(path)
    digest = hashlib.sha256(repr(scale).encode())
    for name in sorted(pairs):
        a, b = pairs[name]
        digest.update(name.encode() + a.tobytes() + b.tobytes())
    return digest.hexdigest()[:8]
