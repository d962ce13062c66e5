"""Publish a store to the Hugging Face Hub: stage the repo folder, verify it, upload, tag.

```python
from chaosdata.publish import Contents, publish, stage, verify_staged
stage("data", "staged/quick", repo_id="owner/name")        # store + Parquet + cards + metadata JSON
stage("data", "staged/h5", contents=Contents(systems=["Lorenz"], hdf5=True))   # a subset, with HDF5
verify_staged("staged/quick")                              # [] when ready to upload
publish("data", "owner/name", dry_run="staged/quick")      # both, no token, no network
publish("data", "owner/name")                              # + create_repo, upload what is missing, tag
```
"""

from chaosdata.publish.errors import PublishError
from chaosdata.publish.hub import PublishReport, default_tag, parse_repo_id, publish
from chaosdata.publish.stage import Contents, StageReport, stage, staged_index
from chaosdata.publish.verify import verify_staged

__all__ = ["Contents", "PublishError", "PublishReport", "StageReport", "default_tag", "parse_repo_id", "publish", "stage",
           "staged_index", "verify_staged"]
