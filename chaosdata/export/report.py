"""What an export wrote: files, rows, bytes, and the `configs:` entries of the card's YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from chaosdata.export.features import features_yaml


@dataclass(frozen=True)
class ExportedFile:
    """One written file; `path` is relative to the export's root, with `/`."""

    path: str
    system: str
    granularity: str
    split: str  # Hugging Face split name: train, validation, test
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class ConfigEntry:
    """One `datasets` config: one (system, granularity), its files per split and its features.

    `data_files` maps each Hugging Face split name to the file paths of that split (relative
    to the repo root, in shard order).
    """

    config_name: str
    system: str
    granularity: str
    data_files: dict[str, tuple[str, ...]]
    features: datasets.Features
    num_examples: dict[str, int]
    num_bytes: dict[str, int]  # file bytes per split

    def to_yaml(self, default: bool = False) -> dict[str, Any]:
        """The card's `configs:` item: `{config_name, data_files: [{split, path}], default?}`."""
        entry: dict[str, Any] = {
            "config_name": self.config_name,
            "data_files": [{"split": s, "path": list(p) if len(p) > 1 else p[0]} for s, p in self.data_files.items()],
        }
        if default:
            entry["default"] = True
        return entry

    def dataset_info_yaml(self) -> dict[str, Any]:
        """The card's `dataset_info:` item: the features and the examples and bytes per split."""
        return {
            "config_name": self.config_name,
            "features": features_yaml(self.features),
            "splits": [{"name": s, "num_bytes": self.num_bytes[s], "num_examples": self.num_examples[s]}
                       for s in self.data_files],
        }


@dataclass(frozen=True)
class ExportReport:
    """The result of one export (`export_parquet`, `export_hdf5`, `export_combined`) on one output folder."""

    format: str  # "parquet", "hdf5" or "parquet-combined"
    root: Path
    files: tuple[ExportedFile, ...]
    configs: tuple[ConfigEntry, ...] = ()
    removed: tuple[str, ...] = ()  # files an earlier export wrote and this one did not: deleted
    seconds: float = 0.0  # writing (with the store reads)
    store_bytes: int = field(default=0)  # decoded float32 bytes of the exported series
    check_seconds: float = 0.0  # reading back and comparing with the manifest (0: not checked)
    left: tuple[str, ...] = ()  # files in the export's folders that chaosdata did not write (or changed since): kept
    skipped: dict[str, str] = field(default_factory=dict)  # granularities left out (combined configs), with the reason

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def configs_yaml(self, default: str | None = None) -> list[dict[str, Any]]:
        """All `configs:` entries; `default` names the config the viewer shows first."""
        return [c.to_yaml(default=c.config_name == default) for c in self.configs]

    def dataset_info_yaml(self) -> list[dict[str, Any]]:
        return [c.dataset_info_yaml() for c in self.configs]
