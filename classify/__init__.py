"""Mention classification: language, sentiment, complaint, issue type, urgency, product."""
