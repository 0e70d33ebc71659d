"""What a person decides: the review queue of drafts (`queue.py`) and corrections of a
mention's labels (`corrections.py`)."""
