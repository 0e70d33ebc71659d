"""What runs the steps: the in-process scheduler, the Celery tasks and beat, locks, one run of
one source, and `ascolto run`'s process."""
