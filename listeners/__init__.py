"""Listeners: one class per kind of source, registered by its `kind`."""
