"""Defect detection in one place.

- `detection.py`: the step: watched products' complaints into clusters, clusters into alerts,
  and what people do with them (acknowledge, dismiss, resolve).
- `alerting.py`: alert notifications to the team that owns the product.
- The clustering and burst test: `classify/defects/`; tables and queries: `storage/defects.py`;
  commands: `ascolto/cli/defects.py`; pages: `ascolto/web/clusters.py`.
"""
