"""Exports of a store that `datasets` (and pandas, polars, duckdb, h5py) read as they are.

```python
from chaosdata.export import export_parquet, export_hdf5
report = export_parquet("data", "staged")            # staged/data/<System>/<granularity>/<split>-*.parquet
report.files, report.rows, report.bytes              # what was written (each file read back and checked)
report.configs_yaml(default="Lorenz_fine")           # the card's `configs:` entries
report.dataset_info_yaml()                           # the card's `dataset_info:` entries (features per config)
export_hdf5("data", "staged")                        # staged/hdf5/<System>/<granularity>/<split>.h5
check_parquet(open_store("data"), "staged")          # [] when the files equal the store's checksums
report, skipped = export_combined("data", "staged")  # staged/combined/<granularity>/...: configs all_coarse, all_fine, ...
```
Where each export puts its files, and which files it writes, is `chaosdata.export.layout`; every
format runs the one loop of `chaosdata.export.base` (plan, write each file, check).
One config per (system, granularity), named `config_name(system, granularity)` (`Lorenz_fine`,
`Henon_iteration`); split names are Hugging Face's (train, validation, test). The row schema
is declared once, in `features.row_features` (and `features.combined_features` for the optional
configs holding every system of a granularity, `all_<granularity>`, series `[component, time]`).
"""

from chaosdata.export.check import check_combined, check_hdf5, check_parquet
from chaosdata.export.combined import export_combined
from chaosdata.export.features import combined_config_name, combined_features, config_name, features_yaml, row_features
from chaosdata.export.hdf5 import export_hdf5
from chaosdata.export.layout import hdf5_path, parquet_path
from chaosdata.export.parquet import export_parquet
from chaosdata.export.report import ConfigEntry, ExportedFile, ExportReport
from chaosdata.store.config import HF_SPLITS

__all__ = ["HF_SPLITS", "ConfigEntry", "ExportReport", "ExportedFile", "check_combined", "check_hdf5",
           "check_parquet", "combined_config_name", "combined_features", "config_name", "export_combined", "export_hdf5",
           "export_parquet", "features_yaml", "hdf5_path", "parquet_path", "row_features"]
