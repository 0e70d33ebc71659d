"""ascolto: self-hosted social listening and proactive outreach."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ascolto")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
