"""Named exceptions that carry their own message, and the exit codes they map to."""

from __future__ import annotations


class AscoltoError(Exception):
    """Base of ascolto's own errors; `exit_code` is what the command line returns."""

    exit_code = 1


class SettingsError(AscoltoError):
    """The settings are invalid; the message names each bad key."""

    exit_code = 2


class DatabaseError(AscoltoError):
    """The database cannot be reached or migrated."""

    exit_code = 3
