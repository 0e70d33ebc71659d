"""Early defect clusters: group a product's complaints by meaning and tell outbreaks from noise.

Pure NumPy, no database and no settings: the caller keeps the cluster states between runs.

```python
from classify.defects import Complaint, DefectConfig, DefectDetector

detector = DefectDetector(DefectConfig())
result = detector.update(stored_states, new_complaints, now=now)
for assessment in result.alerts:  # one per (cluster key, level), raised once
    ...
```
"""

from classify.defects.config import DefectConfig
from classify.defects.detector import DefectDetector
from classify.defects.model import (
    Assessment,
    ClusterStatus,
    Complaint,
    Measures,
    ProductRates,
    Sample,
    UpdateResult,
    Vector,
)
from classify.defects.state import ClusterState, cluster_key

__all__ = [
    "Assessment",
    "ClusterState",
    "ClusterStatus",
    "Complaint",
    "DefectConfig",
    "DefectDetector",
    "Measures",
    "ProductRates",
    "Sample",
    "UpdateResult",
    "Vector",
    "cluster_key",
]
