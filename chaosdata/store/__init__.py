"""Release stores: a config in, a sharded Zarr store with a checksummed manifest out.

`build(config, out)` writes (and resumes) a store; `open_store(path)` reads one. The layout
is described in `chaosdata.store.layout`, the manifest in `chaosdata.store.manifest`.
"""

from chaosdata.store.config import Granularity, ReleaseConfig, Storage, load_config, load_preset, preset_path, split_seed
from chaosdata.store.errors import ChecksumError, StoreError
from chaosdata.store.reader import Problem, Store, VerifyReport, open_store
from chaosdata.store.writer import BuildReport, SystemResult, build

__all__ = [
    "BuildReport", "ChecksumError", "Granularity", "Problem", "ReleaseConfig", "Storage", "Store",
    "StoreError", "SystemResult", "VerifyReport", "build", "load_config", "load_preset", "open_store",
    "preset_path", "split_seed",
]
