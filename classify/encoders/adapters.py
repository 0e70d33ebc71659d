"""Low-rank adapters (LoRA) for the e5 encoder: saved as a small .npz, merged at load time.

Each adapted linear layer `W` becomes `W + scale * B @ A`; merged once, they cost nothing
per text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Adapters:
    """Adapters read once from their file: pairs as float32, scale and header."""

    path: Path
    pairs: dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]
    scale: float
    header: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Adapters:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z[HEADER]))
            pairs = {
                name: (z[f"{name}.A"].astype(np.float32), z[f"{name}.B"].astype(np.float32))
                for name in header["layers"]
            }
        return cls(path, pairs, float(header["scale"]), header)

    @property
    def digest(self) -> str:
        """A short hash of the weights and scale (not of the file: zip entries carry
        timestamps, and the same training must give the same version)."""
        digest = hashlib.sha256(repr(self.scale).encode())
        for name in sorted(self.pairs):
            a, b = self.pairs[name]
            digest.update(name.encode() + a.tobytes() + b.tobytes())
        return digest.hexdigest()[:8]

    def merge_into(self, state: dict[str, Any]) -> None:
        """Add each adapter's `scale * B @ A` to the matching `<name>.weight` in `state`."""
        import torch

        for name, (a, b) in self.pairs.items():
            key = f"{name}.weight"
            if key not in state:
                raise ValueError(f"adapters in {self.path} name an unknown layer {name!r}")
            delta = torch.from_numpy(b) @ torch.from_numpy(a)
            if delta.shape != state[key].shape:
                raise ValueError(f"adapter {name!r} in {self.path} has shape {tuple(delta.shape)}")
            state[key] = state[key] + self.scale * delta
