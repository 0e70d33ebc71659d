"""Encoders registered by their `name` class attribute."""

from __future__ import annotations

from typing import TypeVar

from classify.encoders.base import Encoder, EncoderError

E = TypeVar("E", bound=type[Encoder])

_REGISTRY: dict[str, type[Encoder]] = {}


class UnknownEncoderError(EncoderError, KeyError):
    """No encoder is registered under the requested name."""

    def __str__(self) -> str:
        return str(self.args[0])


def register(cls: E) -> E:
    """Class decorator: make `cls` available under `cls.name`."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise EncoderError(f"encoder name {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def known_encoders() -> list[str]:
    """Registered names, sorted."""
    return sorted(_REGISTRY)


def encoder_class(name: str) -> type[Encoder]:
    """The class registered as `name`; the error lists every known name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownEncoderError(
            f"unknown encoder {name!r}; known encoders: {', '.join(known_encoders())}"
        ) from None


def build_encoder(name: str, model: str | None = None, threads: int | None = None) -> Encoder:
    """Instantiate the encoder registered as `name`."""
    return encoder_class(name)(model=model, threads=threads)
