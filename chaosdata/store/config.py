"""The release config: everything that determines a store's bytes, loaded from TOML and checked.

A config is a frozen value. Its identity (`config_hash`) is the SHA-256 of its canonical JSON
without the free-text fields (`name`, `description`), so renaming a copy of a preset does not
make it "different", while changing any number does.

Time spans: every granularity of a flow or delay system covers the same `length` dominant
periods from the same initial states (a `lyapunov` granularity samples that span at `points`
per Lyapunov time). Maps ignore granularities: they record `map_length` iterations. A
granularity must give a trajectory at least 2 points over `length` (`length * points`
rounds to 2 or more): a `period` one that does not is refused here, a `lyapunov` one is
skipped, with the reason recorded, for a system whose Lyapunov time makes it too sparse.
"""

from __future__ import annotations

import functools
import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from chaosdata import budget, validate
from chaosdata.errors import InvalidInputError, InvalidTypeError, UnknownNameError, suggest
from chaosdata.integrate.sde import DEFAULT_STEPS_PER_PERIOD, NoiseSpec
from chaosdata.integrate.settings import SolverSettings
from chaosdata.integrate.simulate import time_unit
from chaosdata.integrate.tableaux import get_tableau
from chaosdata.seeds import seed_of
from chaosdata.systems import System, get_system, list_systems
from chaosdata.systems.derived import SKEW_SEPARATOR, skew_pairs

SPLITS = ("train", "val", "test")
# each split's Hugging Face name (the Hub, `datasets` and the exports say "validation"): the one mapping
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
TIMESCALES = ("period", "lyapunov")
DTYPES = ("float32", "float64")
PRESETS = ("quick", "release")


@dataclass(frozen=True)
class Granularity:
    """Sampling density: `points` per unit of `timescale` (a dominant period or a Lyapunov time)."""

    name: str
    timescale: str
    points: float


# the [integrator] table's keys, as SolverSettings names them (the table keeps its TOML names)
INTEGRATOR_KEYS = {"method": "method", "rtol": "rtol", "atol": "atol", "dt": "fixed_step",
                   "dde_steps_per_period": "dde_steps_per_period", "max_steps_per_period": "max_steps_per_unit",
                   "compile": "compile"}


def integrator_table(settings: SolverSettings) -> dict[str, Any]:
    """The `[integrator]` table of `settings` (TOML names: `dt` the fixed step, `max_steps_per_period`
    the step budget); settings no table key names (controller, threads, ...) only where they
    differ from the defaults, so the hash of every config written as TOML stays as it was."""
    table = {key: getattr(settings, name) for key, name in INTEGRATOR_KEYS.items()}
    default, full = SolverSettings().to_dict(), settings.to_dict()
    table.update({k: v for k, v in full.items() if k not in INTEGRATOR_KEYS.values() and v != default[k]})
    return table


@dataclass(frozen=True)
class Storage:
    """On-disk encoding: storage dtype, time chunk length, Blosc compression level, shard size cap.
    `chunk_time` 16384 makes a release trajectory (10,000 points) one chunk: the loader reads whole
    trajectories anyway, and a fifth of the chunks took a cold read 1.3-2.0 ms against 2.7-3.1
    (benchmarks/RESULTS.md, "chunks of whole trajectories"); a window read still touches at most
    two chunks of at most 16384 points."""

    dtype: str = "float32"
    chunk_time: int = 16384
    compression_level: int = 5
    shard_mib: int = 64


@dataclass(frozen=True)
class Corpus:
    """A corpus of derived systems (`chaosdata.systems.derived`): per system of the config,
    `variants` parameter sets (variant 0 the catalogue's, the others relative Gaussian
    perturbations of size `scale`), plus `skew_products` (driver, response) pairs of the
    config's flows coupled at `coupling`; every variant screened (`chaosdata.invariants.screen`)
    over `screen_periods` periods from `screen_ics` members, and only accepted ones stored."""

    variants: int = 1
    scale: float = 0.1
    skew_products: int = 0
    coupling: float = 0.5
    screen_ics: int = 4
    screen_periods: float = 20.0


@dataclass(frozen=True)
class ReleaseConfig:
    """What to build: systems, splits, granularities, lengths, seeds, integrator and storage."""

    name: str
    splits: dict[str, int]
    granularities: tuple[Granularity, ...]
    length: float
    transient: float
    map_length: int
    map_transient: int
    seed: int = 0
    systems: tuple[str, ...] | None = None  # None: every system of the catalogue
    integrator: SolverSettings = field(default_factory=SolverSettings)
    storage: Storage = field(default_factory=Storage)
    description: str = ""
    corpus: Corpus | None = None
    # noisy variants beside the clean data (flows): one spec per level, each split with its own seed (see
    # `chaosdata.store.generate`), stored as granularity groups `<granularity>_noise<level>` (e.g. `fine_noise0.01`)
    noise: tuple[NoiseSpec, ...] = ()

    def resolved_systems(self) -> list[str]:
        """Names of the systems (store groups) to build, sorted: catalogue names, and for a
        corpus its flows and skew products (`<Driver>__<Response>`)."""
        names = sorted(self.systems) if self.systems is not None else list_systems()
        if self.corpus is None:
            return names
        flows = [n for n in names if get_system(n).kind == "flow"]
        pairs = skew_pairs(flows, self.corpus.skew_products, self.seed) if self.corpus.skew_products else []
        return sorted(flows + [f"{a}{SKEW_SEPARATOR}{b}" for a, b in pairs])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (the shape of the TOML file): what the manifest records."""
        d = asdict(self)
        d["integrator"] = integrator_table(self.integrator)
        d["systems"] = "all" if self.systems is None else list(self.systems)
        d["granularities"] = {g.name: {"timescale": g.timescale, "points": g.points} for g in self.granularities}
        if d["corpus"] is None:  # configs without a corpus or noise keep the hash they had before
            d.pop("corpus")
        d.pop("noise")
        if self.noise:
            d["noise"] = noise_table(self.noise)
        return d

    @property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of everything but `name` and `description`."""
        d = self.to_dict()
        d.pop("name"), d.pop("description")
        return hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> ReleaseConfig:
        """A recorded config (a store's manifest): checked as `parse_config` does, except the
        rules for new builds, so that a store built before a rule existed still opens."""
        return parse_config(raw, source, building=False)


def split_seed(base_seed: int, system: str, split: str) -> int:
    """A 53-bit seed (exact in any JSON reader) for one (system, split), independent of Python's salted `hash`.

    Each split draws from its own seed, so growing one split never changes another. Replacement
    draws for failed trajectories take `chaosdata.integrate.RESAMPLE.seed(split_seed, attempt)`.
    """
    return seed_of(f"chaosdata/{base_seed}/{system}/{split}/0")


# ---------------------------------------------------------------------- loading and validation
def preset_path(name: str) -> Path:
    """Path of a preset shipped with the package (`quick` or `release`)."""
    if name not in PRESETS:
        raise InvalidInputError(f"unknown preset {name!r}; choose one of {PRESETS}.{suggest(name, PRESETS)}")
    return Path(str(resources.files("chaosdata.store") / "presets" / f"{name}.toml"))


def load_preset(name: str) -> ReleaseConfig:
    return load_config(preset_path(name))


def load_config(path: str | Path) -> ReleaseConfig:
    """Read and validate a TOML release config."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInputError(f"config file {str(path)!r} is a directory; give the path of a TOML file")
    if not path.is_file():
        raise InvalidInputError(f"config file {str(path)!r} does not exist")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"{path}: not valid TOML: {err}") from None
    return parse_config(raw, str(path))


NOISE_SHARED = ("kind", "scale", "method", "steps_per_period")  # the [noise] keys besides levels, as NoiseSpec names them
_TOP = {"name", "description", "systems", "seed", "length", "transient", "map_length", "map_transient", "corpus", "noise",
        "splits", "granularities", "integrator", "storage"}


def _corpus(raw: Any) -> Corpus:
    c, d = validate.table(raw, "corpus", Corpus.__dataclass_fields__), Corpus()
    return Corpus(
        variants=validate.count(c.get("variants", d.variants), "corpus.variants"),
        scale=validate.non_negative(c.get("scale", d.scale), "corpus.scale"),
        skew_products=validate.count(c.get("skew_products", d.skew_products), "corpus.skew_products", minimum=0),
        coupling=validate.positive(c.get("coupling", d.coupling), "corpus.coupling"),
        screen_ics=validate.count(c.get("screen_ics", d.screen_ics), "corpus.screen_ics"),
        screen_periods=validate.positive(c.get("screen_periods", d.screen_periods), "corpus.screen_periods"),
    )


def _noise(raw: Any) -> tuple[NoiseSpec, ...]:
    """The `[noise]` table: `levels` (a list) and the `NoiseSpec` fields they share, one spec per level."""
    n = validate.table(raw, "noise", ("levels", *NOISE_SHARED))
    levels = n.get("levels")
    if not levels:
        raise InvalidInputError(f"noise.levels must be a non-empty list of noise levels, got {levels!r}")
    validate.instance(levels, "noise.levels", list, hint="of noise levels")
    levels = sorted({validate.positive(v, "noise.levels[]") for v in levels})
    # each level writes groups named by its `:g` form: two levels must not write the same groups
    twice = next((a for a, b in zip(levels, levels[1:], strict=False) if noise_suffix(a) == noise_suffix(b)), None)
    if twice is not None:
        raise InvalidInputError(f"noise.levels {list(levels)} name the same groups "
                                f"(*{noise_suffix(twice)}): levels must differ in their first 6 significant digits")
    shared = {k: n[k] for k in NOISE_SHARED if k in n}
    shared["steps_per_period"] = validate.positive(  # a float, as the config hash has it
        n.get("steps_per_period", DEFAULT_STEPS_PER_PERIOD), "noise.steps_per_period")
    try:  # the SDE layer checks kind, scale and method
        return tuple(NoiseSpec(level, **shared) for level in levels)
    except InvalidInputError as err:
        raise InvalidInputError(f"[noise]: {err}") from None


def noise_table(noise: tuple[NoiseSpec, ...]) -> dict[str, Any]:
    """The `[noise]` table of `noise` (as the TOML file writes it): the levels and what they share."""
    return {"levels": [spec.level for spec in noise], **{k: getattr(noise[0], k) for k in NOISE_SHARED}}


def noise_suffix(level: float) -> str:
    """The suffix of the groups of one noise level: `fine` at 0.01 is `fine_noise0.01`."""
    return f"_noise{level:g}"


MIN_POINTS = 1.5  # a granularity's points over the span round to at least 2


def parse_config(raw: dict[str, Any], source: str = "config", *, building: bool = True) -> ReleaseConfig:
    """Validate a config given as a dict (the parsed TOML); errors name `source`, the key and the fix.

    `building` False (`ReleaseConfig.from_dict`, reading a store's manifest) skips the rules
    that guard new builds: at least 2 points per granularity over `length`, distinct group
    names, the size and work budget. A store written before them opens as it was written."""
    try:
        config = _parse(raw, building)
    except (InvalidInputError, InvalidTypeError) as err:  # the same error, naming the file
        raise type(err)(f"{source}: {err}") from None
    if building:
        check_budget(config, source)
    return config


def _parse(raw: dict[str, Any], building: bool) -> ReleaseConfig:
    """`parse_config` section by section, each through `chaosdata.validate`."""
    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise InvalidInputError(f"unknown key {unknown[0]!r}; allowed: {sorted(_TOP)}.{suggest(unknown[0], _TOP)}")
    missing = [k for k in ("name", "splits", "granularities", "length", "transient", "map_length") if k not in raw]
    if missing:
        raise InvalidInputError(f"missing required key {missing[0]!r}")
    systems = _systems(raw.get("systems", "all"))
    grans = _granularities(raw["granularities"])
    length = validate.positive(raw["length"], "length", hint="periods")
    if building and not (systems is not None and all(get_system(s).kind == "map" for s in systems)):  # maps ignore it
        _check_points(grans, length)
    noise = _noise(raw["noise"]) if "noise" in raw else ()
    if building:
        _check_group_names([g.name for g in grans], noise)
    return ReleaseConfig(
        name=validate.text(raw["name"], "name"),
        description=validate.instance(raw.get("description", ""), "description", str),
        systems=systems,
        seed=validate.seed(raw.get("seed", 0), "seed"),
        splits=_splits(raw["splits"]),
        granularities=grans,
        length=length,
        transient=validate.non_negative(raw["transient"], "transient", hint="periods"),
        map_length=validate.count(raw["map_length"], "map_length", minimum=2, hint="iterations"),
        map_transient=validate.count(raw.get("map_transient", 100), "map_transient", minimum=0, hint="iterations"),
        integrator=_integrator(raw.get("integrator", {})),
        storage=_storage(raw.get("storage", {})),
        corpus=_corpus(raw["corpus"]) if "corpus" in raw else None,
        noise=noise,
    )


def _systems(value: Any) -> tuple[str, ...] | None:
    """`systems`: "all" (None) or catalogue names, as the catalogue spells them, sorted."""
    if value == "all":
        return None
    names = validate.names(value, "systems", hint='"all" or a non-empty list of names')
    try:
        return tuple(sorted({get_system(s).name for s in names}))
    except UnknownNameError as err:  # name the key, keep the catalogue's suggestion
        raise UnknownNameError(f"systems: {err}") from None


def _splits(value: Any) -> dict[str, int]:
    splits = validate.table(value, "splits", SPLITS)
    if set(splits) != set(SPLITS):
        raise InvalidInputError(f"[splits] must give all of {SPLITS}, got {sorted(splits)}")
    return {s: validate.count(splits[s], f"splits.{s}", hint="trajectories") for s in SPLITS}


def _granularities(value: Any) -> tuple[Granularity, ...]:
    table = validate.table(value, "granularities", None)
    if not table:
        raise InvalidInputError("[granularities] must be a non-empty table of tables")
    grans = []
    for gname, g in table.items():
        if not gname.isidentifier() or gname == "iteration":
            raise InvalidInputError(f"granularity name {gname!r} must be an identifier other than 'iteration'")
        g = validate.table(g, f"granularities.{gname}", ("timescale", "points"))
        timescale = validate.choice(g.get("timescale", "period"), f"granularities.{gname}.timescale", TIMESCALES)
        if "points" not in g:
            raise InvalidInputError(f"granularities.{gname} needs `points` (samples per {timescale})")
        grans.append(Granularity(gname, timescale, validate.positive(g["points"], f"granularities.{gname}.points")))
    return tuple(grans)


def _check_points(grans: tuple[Granularity, ...], length: float) -> None:
    """A `period` granularity must give a trajectory at least 2 points over `length`."""
    for g in grans:
        if g.timescale == "period" and length * g.points < MIN_POINTS:
            raise InvalidInputError(
                f"granularities.{g.name} samples {g.points:g} points per period over length = {length:g} "
                f"periods: {length * g.points:.3g} points, fewer than the 2 a trajectory needs (2 points would lie "
                f"{1 / g.points:g} periods apart, beyond the length); raise granularities.{g.name}.points or length"
            )


def _integrator(value: Any) -> SolverSettings:
    """The `[integrator]` table (TOML names, `INTEGRATOR_KEYS`) as `SolverSettings`."""
    integ, defaults = validate.table(value, "integrator", INTEGRATOR_KEYS), SolverSettings()

    def optional(key: str) -> float | None:
        return None if integ.get(key) is None else validate.positive(integ[key], f"integrator.{key}")

    method = integ.get("method")
    if method is not None and not get_tableau(validate.text(method, "integrator.method")).adaptive \
            and integ.get("dt") is None:  # get_tableau raises on an unknown method, listing them
        raise InvalidInputError(f"integrator.method {method!r} takes fixed steps: set integrator.dt")
    return SolverSettings(
        method=method, rtol=optional("rtol"), atol=optional("atol"), fixed_step=optional("dt"),
        dde_steps_per_period=validate.count(integ.get("dde_steps_per_period", defaults.dde_steps_per_period),
                                            "integrator.dde_steps_per_period"),
        max_steps_per_unit=validate.positive(integ.get("max_steps_per_period", defaults.max_steps_per_unit),
                                             "integrator.max_steps_per_period"),
        compile=validate.flag(integ.get("compile", False), "integrator.compile"),
    )


def _storage(value: Any) -> Storage:
    stor = validate.table(value, "storage", Storage.__dataclass_fields__)
    return Storage(
        dtype=validate.choice(stor.get("dtype", Storage.dtype), "storage.dtype", DTYPES),
        chunk_time=validate.count(stor.get("chunk_time", Storage.chunk_time), "storage.chunk_time"),
        compression_level=validate.count(stor.get("compression_level", Storage.compression_level),
                                         "storage.compression_level", minimum=0, maximum=9),
        shard_mib=validate.count(stor.get("shard_mib", Storage.shard_mib), "storage.shard_mib"),
    )


def _check_group_names(names: list[str], noise: tuple[NoiseSpec, ...]) -> None:
    """Granularity groups (and their noisy copies) must be distinct directories everywhere:
    names that differ only in case are one directory on macOS and Windows, and a granularity
    named like another's noisy copy (`fine_noise1` beside `fine` at level 1) would overwrite it."""
    seen: dict[str, str] = {}
    groups = [(n, n) for n in names]
    groups += [(f"{n}{noise_suffix(spec.level)}", f"{n} at noise level {spec.level:g}") for n in names for spec in noise]
    for group, what in groups:
        other = seen.setdefault(group.lower(), what)
        if other != what:
            raise InvalidInputError(f"granularity {what!r} and {other!r} write the same group "
                                    f"{group!r} (group names ignore case on some file systems); rename one")


# ---------------------------------------------------------------------- size and work (chaosdata.budget)
def check_budget(config: ReleaseConfig, src: str = "config") -> None:
    """Refuse a config one of whose systems cannot be built here, before anything is integrated
    (`check_system_budget` for each; skew products counted at twice the largest dimension)."""
    names = config.systems if config.systems is not None else list_systems()
    systems = [get_system(s) for s in names]
    if config.corpus is not None:  # a corpus builds flows only, and skew products of them
        systems = [s for s in systems if s.kind == "flow"]
    widen = 2 if config.corpus is not None and config.corpus.skew_products else 1
    for system in systems:
        check_system_budget(system, config, src, dim=system.dim * widen)


def check_system_budget(system: System, config: ReleaseConfig, src: str = "config", *, dim: int | None = None) -> None:
    """Refuse to build `system` as `config` says when it cannot fit (`chaosdata.budget`).

    A build holds one system at a time (every split and granularity in one batch, see
    `chaosdata.store.generate`), so memory and steps are per system; the refusal names the keys
    that set them."""
    n = sum(config.splits.values())
    trajectories = " + ".join(f"splits.{s} = {config.splits[s]}" for s in SPLITS) + " trajectories"
    if config.corpus is not None:
        n *= config.corpus.variants
        trajectories += f" x corpus.variants = {config.corpus.variants}"
    itemsize = 4 if config.storage.dtype == "float32" else 8
    copies = 1 + len(config.noise)
    where, dim = f"{src}: building {system.name}", dim or system.dim
    points, stored, detail = _points(system, config)
    budget.check_memory(where, n * dim * (2 * 8 * points + copies * itemsize * stored),
                        f"{trajectories} x {detail} x {dim} coordinates x 8 bytes x 2 copies, then "
                        f"stored as {config.storage.dtype}{' for each noise level' if copies > 1 else ''}")
    steps: float
    if system.kind == "map":
        steps, why = config.map_length + config.map_transient, (
            f"map_transient = {config.map_transient} + map_length = {config.map_length} iterations")
    else:
        settings = config.integrator.for_system(system)
        per_period = budget.steps_per_period(system.required_period("its work is counted per period"), kind=system.kind,
                                             dt=settings.fixed_step, dde_steps_per_period=settings.dde_steps_per_period)
        passes = len(config.granularities) if system.kind == "delay" else 1
        steps = passes * (config.length + config.transient) * per_period
        why = (f"transient = {config.transient:g} + length = {config.length:g} periods x ~{per_period:.3g} steps "
               f"per period{f' x {passes} passes' if passes > 1 else ''}")
        if config.noise and system.kind == "flow":
            steps += len(config.noise) * config.length * config.noise[0].steps_per_period
            why += f", + length x noise.steps_per_period = {config.noise[0].steps_per_period:g} per noise level"
    budget.check_work(where, steps, n, why)
    if config.corpus is not None:
        c = config.corpus
        budget.check_work(f"{src}: screening the variants of {system.name}",
                          c.screen_periods * budget.TYPICAL_STEPS_PER_PERIOD, c.variants * c.screen_ics,
                          f"corpus.screen_periods = {c.screen_periods:g} periods x ~"
                          f"{budget.TYPICAL_STEPS_PER_PERIOD:g} steps per period, for corpus.variants = "
                          f"{c.variants} x corpus.screen_ics = {c.screen_ics}")


@functools.cache
def _lyapunov_time(name: str) -> float | None:
    """A catalogue system's Lyapunov time, None where it has none (read once: a copy of the
    invariants costs ~1 ms)."""
    try:
        return time_unit(get_system(name), "lyapunov")
    except InvalidInputError:  # none stored, or a corpus's skew product (an UnknownNameError)
        return None


def _points(system: System, config: ReleaseConfig) -> tuple[float, float, str]:
    """(points per trajectory integrated in one pass at most, points stored over every
    granularity, how they arise) for one system of `config`."""
    if system.kind == "map":
        return (config.map_length + config.map_transient + 1, config.map_length,
                f"map_length = {config.map_length} + map_transient = {config.map_transient} points")
    period = system.required_period("its length is counted in periods")
    per_unit = []
    for g in config.granularities:
        unit = _lyapunov_time(system.name) if g.timescale == "lyapunov" else period
        if unit is None:
            continue  # skipped by the build
        per_unit.append((g, g.points * period / unit))
    stored = sum(config.length * p for _, p in per_unit)
    # flows: one pass on the union of the grids; delay equations: a pass per grid, transient included
    held = stored if system.kind == "flow" else max(((config.length + config.transient) * p for _, p in per_unit), default=0)
    grids = ", ".join(f"granularities.{g.name}.points = {g.points:g}" for g, _ in per_unit)
    return held, stored, f"{held:.3g} points (length = {config.length:g} periods at {grids})"
