"""`load_dataset`: train/val/test forecasting windows from a local store, the Hub, or regeneration.

Sources:
- a local store path (built by `chaosdata generate`);
- a Hugging Face Hub dataset repo id (`owner/name`), or an fsspec URL of a store folder
  (`hf://datasets/owner/name`, `https://...`, `s3://...`): streamed, nothing downloaded whole.
  Reads fetch the byte ranges of the chunks they touch, through an on-disk cache under
  `cache_dir` that survives restarts (`chaosdata.store.remote`); a Hub revision is pinned to its
  commit sha per call; once read, usable offline with `HF_HUB_OFFLINE=1`;
- `"regenerate"`: the systems are integrated on demand from a release config (a preset name,
  a `ReleaseConfig`, or a dict of overrides on the `quick` preset) and cached as a store.
With no source, the store `chaosdata generate` builds by default (`./data`, or `$CHAOSDATA_STORE`).
A `Source` holds the location and how to fetch it; an `Observation` (`chaosdata.windows`), how
windows present the values. The Hub client (`huggingface_hub`, which reads `HF_ENDPOINT` when it is first
imported) is imported by the first read of a remote store, not with chaosdata.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard, cast

import numpy as np

from chaosdata import validate
from chaosdata.errors import InvalidInputError, suggest
from chaosdata.store import ReleaseConfig, Store, build, load_preset, open_store, provenance
from chaosdata.store.config import PRESETS, SPLITS, check_budget, parse_config
from chaosdata.store.errors import StoreError
from chaosdata.store.layout import MANIFEST
from chaosdata.store.manifest import read_manifest
from chaosdata.store.reader import CheckedArray
from chaosdata.store.remote import is_url, open_remote
from chaosdata.systems import get_system, list_systems
from chaosdata.systems.derived import SKEW_SEPARATOR
from chaosdata.threads import map_side_by_side
from chaosdata.windows import Normalizer, Observation, Series, WindowDataset, check_window, fit_statistics, temporal_cut

DEFAULT_STORE = "data"


@dataclass(frozen=True)
class Source:
    """Where the store comes from, checked once.

    `location`: a local store path, a Hub dataset repo id `owner/name`, an fsspec URL of a store
    folder, `"regenerate"`, or None for the store `chaosdata generate` builds by default
    (`$CHAOSDATA_STORE`, else `./data`). `revision` picks a version of a Hub repo. `config` (a
    preset name, a `ReleaseConfig`, or a dict of overrides on the `quick` preset; default `quick`)
    shapes a regenerated store, integrated on `device`. `cache_dir` holds fetched chunks and
    regenerated stores (`cache_root`). `verify` checks the store's checksums before use.
    `load_dataset(source="owner/name")` is `Source("owner/name")`.
    """

    location: str | os.PathLike | None = None
    revision: str | None = None
    config: ReleaseConfig | str | dict[str, Any] | None = None
    device: str = "cpu"
    cache_dir: str | os.PathLike | None = None
    verify: bool = False

    def __post_init__(self) -> None:
        if self.location is not None:
            validate.path(self.location, "source")  # a str or os.PathLike, not empty
            if not isinstance(self.location, str):
                object.__setattr__(self, "location", os.fspath(self.location))
        if self.cache_dir is not None:
            validate.path(self.cache_dir, "cache_dir")
        object.__setattr__(self, "verify", validate.flag(self.verify, "verify",
                                                           hint="True: check the store's checksums first"))
        hub = _is_repo_id(self.location) or str(self.location).startswith("hf://")
        if self.revision is not None and not hub:
            raise InvalidInputError(f"revision={self.revision!r} picks a version of a Hub dataset repo (source="
                                    f"'owner/name' or 'hf://datasets/owner/name'); source={str(self.location)!r} is not one")
        if self.revision is not None:
            validate.text(self.revision, "revision", hint="a branch, tag or commit of the Hub repo")
        if self.location == "regenerate":
            object.__setattr__(self, "config", _regenerate_config(self.config))
        elif self.config is not None:
            raise InvalidInputError(f"config=... shapes a store integrated on demand; pass source='regenerate' to use "
                                    f"it (source={str(self.location)!r} is read as it is, and would ignore the config)")


class _ZarrArray:
    """Picklable opener of one stored array: the process that made it reuses the store's open
    array (`_open_source` gives a local store an absolute path: arrays open lazily, perhaps
    after the caller changed directory), and so does a forked DataLoader worker where the store
    is `fork_safe`. A spawned worker unpickles a store without open handles and opens its own."""

    def __init__(self, store: Store, system: str, path: str):
        self.store, self.system, self.path = store, system, path

    @property
    def fork_safe(self) -> bool:
        return self.store.fork_safe

    def __call__(self) -> CheckedArray:
        return self.store.stored_array(self.system, self.path)


def cache_root(cache_dir: str | os.PathLike | None) -> Path:
    """Where downloads and regenerated stores go: `cache_dir`, `$CHAOSDATA_CACHE`, or ~/.cache/chaosdata
    (absolute: stores opened from it are read lazily, perhaps after the caller changed directory)."""
    if cache_dir is not None:
        return Path(cache_dir).absolute()
    return Path(os.environ.get("CHAOSDATA_CACHE", Path.home() / ".cache" / "chaosdata")).absolute()


def regenerate_key(config: ReleaseConfig, device: str) -> str:
    """The regenerate cache's directory name: the config and the code that builds it."""
    code = provenance.code_hash(provenance.fingerprint(device))
    return hashlib.sha256(f"{config.config_hash}/{code}".encode()).hexdigest()[:16]


def _system_names(systems: str | Sequence[str], available: Sequence[str] | None = None) -> list[str]:
    """Catalogue names of `systems`: 'all', one name, or an iterable of names (a set is sorted,
    so the windows' order does not change with the hash seed)."""
    if isinstance(systems, str) and systems == "all":
        return list(available) if available is not None else list_systems()
    systems = validate.names(systems, "systems", hint="a system name, a list of names or 'all'")
    return [_catalogue_name(s) for s in systems]  # unknown names raise with suggestions


def _catalogue_name(name: str) -> str:
    """The catalogue's spelling of a system, or of both parts of a corpus's skew product."""
    if SKEW_SEPARATOR in name:
        return SKEW_SEPARATOR.join(get_system(part).name for part in name.split(SKEW_SEPARATOR))
    return get_system(name).name


def _regenerate_config(config: ReleaseConfig | str | dict[str, Any] | None) -> ReleaseConfig:
    if isinstance(config, ReleaseConfig):  # made in code: not yet checked against this machine's limits
        check_budget(config, "load_dataset(config=...)")
        return config
    if config is None or isinstance(config, str):
        return load_preset(config or "quick")
    if isinstance(config, dict):
        raw = load_preset("quick").to_dict()
        raw.update(config)
        raw.setdefault("name", "custom")
        return parse_config(raw, "load_dataset(config=...)")
    raise InvalidInputError(f"config must be a preset name {PRESETS}, a ReleaseConfig or a dict, got {type(config).__name__}")


def _open_source(source: Source, names: list[str] | None) -> Store:
    """Open the store `source` names, holding (at least) `names` (a remote one reads lazily)."""
    location = source.location
    if location is None:
        location = os.environ.get("CHAOSDATA_STORE", DEFAULT_STORE)
        if not (Path(location) / MANIFEST).is_file():
            raise StoreError(
                f"no chaosdata store at {location!r} (the default). Build one with "
                "`chaosdata generate --preset quick --out data` (or `make run`), pass a Hub repo id "
                "as source=..., or use source='regenerate' to integrate on demand"
            )
        return open_store(Path(location).absolute())
    if location == "regenerate":
        config = cast(ReleaseConfig, source.config)  # Source resolved it
        out = cache_root(source.cache_dir) / "regenerated" / regenerate_key(config, source.device)
        wanted = names if names is not None else config.resolved_systems()
        return _regenerate(config, out, wanted, source.device)
    if _is_repo_id(location) or is_url(location):
        return open_remote(location, revision=source.revision, cache=cache_root(source.cache_dir) / "remote")
    path = Path(location)
    if path.exists():
        if not (path / MANIFEST).is_file():
            raise StoreError(f"{path} exists but is not a chaosdata store (no {MANIFEST}); "
                             "build one with `chaosdata generate --out DIR`")
        return open_store(path.absolute())
    raise InvalidInputError(f"source {location!r} is neither a local store, a Hub repo id (owner/name), "
                            "an fsspec URL of a store (hf://, https://, s3://...) nor 'regenerate'")


def _regenerate(config: ReleaseConfig, out: Path, names: list[str], device: str) -> Store:
    """Build (or reuse) the cached store of `config` at `out` holding `names`. A system that
    fails to build raises its own error; a cache store this call created and left without any
    system is removed."""
    created = not out.exists()
    # several processes at once (DDP ranks): one builds, the others wait for it, then read the same bytes
    report = build(config, out, systems=names, device=device, wait=True, progress=False, log=lambda msg: None)
    failed = [r for r in report.results if r.status == "failed"]
    if not failed:
        return open_store(out)
    left = ""
    if created and not read_manifest(out)["systems"]:
        shutil.rmtree(out)
        left = "; the empty cache store was removed"
    first = failed[0]
    raise StoreError(f"load_dataset(source='regenerate'): building {first.name} into {out} failed: {first.error}"
                     f"{left}" + (f" ({len(failed) - 1} more failed)" if len(failed) > 1 else ""))


def _is_repo_id(source: Any) -> TypeGuard[str]:
    """Whether `source` reads as a Hub repo id `owner/name` (and is not a local folder)."""
    return (isinstance(source, str) and source != "regenerate" and source.count("/") == 1
            and not source.startswith((".", "/")) and not Path(source).exists())


def _stored_statistics(store: Store, system: str, granularity: str) -> tuple[np.ndarray, np.ndarray]:
    """The build's per-coordinate mean and std of the train split (a zero std becomes 1)."""
    mean, std = store.normalization(system, granularity)
    return mean, np.where(std > 0, std, 1.0)


def _all_series(store: Store, names: Sequence[str], granularity: str, split: str, temporal: bool) -> list[Series]:
    """`_series` of each system, in order, `store.open_threads` systems at a time (a remote
    store's opens wait on requests: one after the other they add up their latencies)."""
    return map_side_by_side(lambda n: _series(store, n, granularity, split, temporal), names, store.open_threads,
                            "chaosdata-open")


def _series(store: Store, system: str, granularity: str, split: str, temporal: bool) -> Series:
    """The stored series of one split as a `Series` (valid trajectories only)."""
    array_split = "train" if temporal else split
    arr = store.array(system, granularity, array_split)
    n, t, d = arr.shape
    if store.all_valid(system):  # the manifest says so: no read (over HTTP, no request)
        rows: Sequence[int] = range(n)
    else:
        valid = store.variables(system, granularity, array_split, names=("valid",))["valid"]
        rows = range(n) if valid.all() else [i for i in range(n) if valid[i]]
    if not rows:
        raise InvalidInputError(f"{system} has no valid trajectory in its {array_split} split ({granularity}); "
                                "every one failed (see the split's `failure` variable). Leave it out of `systems`, "
                                "or rebuild it with other integrator settings.")
    time = None
    if temporal:
        cut = temporal_cut(t)
        time = slice(0, cut) if split == "train" else slice(cut, None)
    grid = store.time(system, granularity)
    stored_as = arr.path  # relative to the system group, e.g. "fine/train/series" (maps: "iteration/...")
    return Series(system=system, open=_ZarrArray(store, system, stored_as),
                  n_trajectories=n, n_time=t, dim=d, t0=float(grid["t0"]), dt=float(grid["dt"]),
                  block=int(arr.chunks[1]), rows=rows, time=time, array_split=array_split)


def load_dataset(
    systems: str | Sequence[str] = "Lorenz",
    *,
    split: str | None = "train",
    granularity: str = "fine",
    source: Source | str | os.PathLike | None = None,
    context_length: int = 512,
    horizon: int = 64,
    stride: int | None = None,
    temporal: bool = False,
    observation: Observation | None = None,
    cache_bytes: int = 64 << 20,
    return_info: bool = False,
) -> WindowDataset | dict[str, WindowDataset]:
    """Forecasting windows `(context [context_length, dim], target [horizon, dim])` of `systems`.

    `split` is `train`, `val`, `test`, or None for a dict of all three. `source` is a `Source`
    (where the store comes from: a local path, a Hub repo, regeneration; with its revision,
    config, cache and checks) or just its location. Windows start every `stride` points
    (default: `horizon`). `temporal=True` is the dysts-style split: the first 5/6 of each
    training trajectory for `train`, the rest for `val`. `observation` (an `Observation`) picks
    the coordinates, normalization (statistics from the train split only: `dataset.normalizer`,
    `dataset.denormalize`), observation noise and dtype; items are CPU tensors whatever the
    source, for the caller to move. `cache_bytes` bounds the decoded blocks kept per process.
    A system may be named once (in any spelling the catalogue knows).
    `return_info=True` makes items `(context, target, info)`, `info` saying where the window
    comes from (system, split, granularity, array_split, trajectory, start, start_time, dt),
    batched by the default collate: what per-system scores and valid prediction times need.
    `trajectory` and `start` index the stored array of split `array_split`, which for temporal
    "val" windows is "train" (see `WindowDataset.item_info`).
    """
    stride = check_window(context_length, horizon, stride)
    observed = Observation() if observation is None else validate.instance(
        observation, "observation", Observation, hint="e.g. Observation(normalize=None, dtype=torch.float64)")
    cache_bytes = validate.count(cache_bytes, "cache_bytes", minimum=0,
                                 hint="bytes of decoded blocks kept per process")
    granularity = validate.text(granularity, "granularity",
                                hint="the name of one of the store's granularities, e.g. 'fine' or 'coarse'")
    temporal = validate.flag(temporal, "temporal", hint="True: the dysts-style split of each training trajectory")
    splits = _splits(split, temporal)
    where = source if isinstance(source, Source) else Source(source)
    names = None if isinstance(systems, str) and systems == "all" else _system_names(systems)
    store = _open_source(where, names)
    names = _system_names(systems, store.systems) if names is None else [store.resolve(n) for n in names]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInputError(f"systems names {twice} more than once (each name adds the system's windows, so a "
                                f"repeat would weight it twice, silently); name each system once")
    if where.verify:
        store.verify(names, strict=True)

    channels = observed.channels
    train = _all_series(store, names, granularity, "train", temporal)
    # the build stored each system's train statistics; the dysts-style temporal split trains on
    # the first 5/6 of each trajectory only, so its statistics are computed from that part
    stats = {s.system: fit_statistics(s) if temporal else _stored_statistics(store, s.system, granularity)
             for s in train}
    for series in train:
        if channels is not None and channels >= series.dim:
            raise InvalidInputError(f"{series.system} has {series.dim} coordinates; univariate={channels} is out of range")
    normalizer = Normalizer({k: m for k, (m, _) in stats.items()}, {k: v for k, (_, v) in stats.items()}) \
        if observed.normalize == "standard" else None
    scale = {k: v for k, (_, v) in stats.items()}

    out = {}
    for s in splits:
        parts = train if s == "train" else _all_series(store, names, granularity, s, temporal)
        out[s] = WindowDataset(parts, context_length=context_length, horizon=horizon, stride=stride, scale=scale,
                               observation=observed, normalizer=normalizer, cache_bytes=cache_bytes, split=s,
                               granularity=granularity, return_info=return_info)
    return out[split] if split is not None else out


def _splits(split: str | None, temporal: bool) -> tuple[str, ...]:
    """The splits `split` asks for (None: all those the split scheme has), checked."""
    splits = (("train", "val") if temporal else SPLITS) if split is None else (split,)
    for s in splits:
        if s not in SPLITS:
            raise InvalidInputError(f"split must be one of {SPLITS} or None, got {s!r}.{suggest(str(s), SPLITS)}")
        if temporal and s == "test":
            raise InvalidInputError("temporal=True splits each training trajectory into train (first 5/6) "
                                    "and val (the rest); it has no test split")
    return splits
