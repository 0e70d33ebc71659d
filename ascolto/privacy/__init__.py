"""Privacy: erasing and exporting one person, retention periods, and honouring deletions at
the sources. Each concern has its module; this package imports none of them, so the
settings can import `storage.privacy_settings` alone."""
