"""The root manifest (`manifest.json`) and the checksums it holds.

The manifest is the store's commit record: a system is part of the store once it is listed
here (it is listed only after its zip was written, verified and renamed into place). It is
also the store's catalogue index, kept small (compact JSON, about 0.4 KB per system whatever the
number of arrays, so 2,000 corpus groups stay under 1 MB): keys sorted, so that equal stores have
equal manifests, it holds

- `format`, `config` (the release config as JSON) and `config_hash`;
- `code` (the code fingerprint of `provenance.fingerprint`) and `code_hash`: with the config
  hash, the store's identity; `other_code` maps further code hashes to their fingerprints
  when systems were added with other code on purpose (`allow_mixed_code`), and such a
  system's entry names its `code_hash` (none: the store's code; `system_code_hash`);
- `systems`: per system (its file is `layout.system_file`, `<name>.zip`) the file's `bytes`
  and `sha256`, kind, dimension, `splits` (the series shape of each `<granularity>/<split>`), `n_invalid` flagged trajectories
  and `skipped` granularities with reasons.

Volatile facts (when each system was built, wall times) go to `builds.json` beside it, which
no checksum covers, so that two builds of one config have identical manifests and data.

Checksums at three levels, for three jobs: the file's `sha256` here checks what is on disk (or
downloaded) byte for byte, in one pass per system; every chunk carries a CRC32C that zarr
checks on every read; each array's `sha256` attribute (inside the zip) is over its decoded
values (C order, little-endian), so it also checks the data after any re-encoding (another
codec, a Parquet export). The manifest is rewritten atomically (temporary file, fsync,
`os.replace`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from chaosdata.atomic import TMP_MARK, replacing
from chaosdata.store.config import ReleaseConfig
from chaosdata.store.errors import StoreError
from chaosdata.store.layout import BUILD_LOG, FORMAT, FORMAT_SUMMARY, MANIFEST, OLD_FORMATS


def data_sha256(values: np.ndarray) -> str:
    """SHA-256 of an array's values in C order, little-endian (text: UTF-8, each value ended by NUL)."""
    if values.dtype.kind in "TUO":
        return hashlib.sha256(b"".join(str(v).encode() + b"\0" for v in values.ravel())).hexdigest()
    little = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
    return hashlib.sha256(little.tobytes()).hexdigest()


def new_manifest(config: ReleaseConfig, code: dict[str, Any], code_hash: str) -> dict[str, Any]:
    return {"format": FORMAT, "config": config.to_dict(), "config_hash": config.config_hash,
            "code": code, "code_hash": code_hash, "systems": {}}


class OldFormatError(StoreError):
    """A store written in an earlier layout: it is refused, never migrated silently."""


def read_manifest(root: str | Path, *, any_format: bool = False) -> dict[str, Any]:
    """The manifest of the store at `root`; an earlier layout raises `OldFormatError` (unless
    `any_format`, for a build that replaces it), an unknown one `StoreError`."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise StoreError(
            f"{str(root)!r} is not a chaosdata store: it has no {MANIFEST}. "
            "Build one with `chaosdata generate --preset quick --out DIR`."
        )
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise StoreError(f"{path}: not valid JSON ({err}); the store is damaged") from None
    fmt = manifest.get("format")
    if fmt in OLD_FORMATS and not any_format:
        raise OldFormatError(
            f"{root} is a chaosdata store in the earlier layout {fmt!r}; this version reads {FORMAT!r} "
            f"({FORMAT_SUMMARY}) and never converts a store silently. Rebuild it: `chaosdata generate --config "
            f"<its config> --out {root} --overwrite` (the config is in its manifest.json), or into a new --out."
        )
    if fmt != FORMAT and fmt not in OLD_FORMATS:
        raise StoreError(f"{path}: format {fmt!r} is not {FORMAT!r}; is it a newer chaosdata's store?")
    return manifest


def write_json(path: Path, value: Any) -> None:
    """Replace a JSON file atomically (flushed to disk first): a reader sees the old or the
    new one, never half. Compact (no indentation: a third of an indented manifest's bytes)."""
    with replacing(path, fsync=True) as tmp:
        tmp.write_text(json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n")


def record_system(manifest: dict[str, Any], name: str, entry: dict[str, Any]) -> None:
    """Put a system's entry (as `writer.describe_system` reads it) into `manifest`; its
    `code_hash` is kept only when it is not the store's (mixed code), the rest is implied."""
    if entry.get("code_hash") == manifest["code_hash"]:
        entry = {k: v for k, v in entry.items() if k != "code_hash"}
    manifest["systems"][name] = entry


def system_code_hash(manifest: dict[str, Any], name: str) -> str:
    """The code hash of the code that wrote system `name` (see `record_system`)."""
    return manifest["systems"][name].get("code_hash", manifest["code_hash"])


def write_manifest(root: str | Path, manifest: dict[str, Any]) -> None:
    write_json(Path(root) / MANIFEST, manifest)


def record_build(root: str | Path, system: str, info: dict[str, Any]) -> None:
    """Add a system's volatile build facts (time, wall times) to `builds.json`."""
    path = Path(root) / BUILD_LOG
    try:
        log = json.loads(path.read_text())
    except (OSError, ValueError):
        log = {}
    log[system] = info
    write_json(path, log)


def stale_temporaries(root: str | Path) -> list[Path]:
    """Temporary JSON files left by a build that was killed while writing one."""
    return sorted(Path(root).glob(f"*.json{TMP_MARK}*"))
