"""The web app: FastAPI with Jinja2 templates (autoescaped)."""
