"""Render a store's cards: the repo card (README.md), one page per system, the pictures, the metadata JSON.

```python
report = render_cards("data", "staged", repo_id="owner/chaosdata-quick")   # no exports: no `configs:`
report = render_cards(store, "staged", configs=export_report.configs)     # with the Parquet configs
```
Writes, under `out`:
```
README.md                         the repo card: YAML header + body (templates/README.md.j2)
cards/<System>.md                 one page per system (templates/system.md.j2)
cards/img/gallery.png             every attractor, one tile each
cards/img/<System>_{attractor,series,spectrum}.png
metadata/catalogue.json           the catalogue entries of the store's systems
metadata/invariants.json          their invariants, as stored
metadata/config.json, config.toml the release config (TOML: `chaosdata generate --config`)
metadata/manifest.json            a byte copy of the store's manifest
metadata/corpus.json              a corpus store only: each group's `corpus` attribute (every screened variant)
```
The words are in the templates (package data, `chaosdata/cards/templates/`, linked from the
top-level `cards/`); the numbers come from the store (`chaosdata.cards.values`).
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from chaosdata import validate
from chaosdata.cards import plots
from chaosdata.cards import values as V
from chaosdata.cards.recipe import config_toml
from chaosdata.errors import InvalidInputError
from chaosdata.export import config_name
from chaosdata.files import sha256_file
from chaosdata.owned import RECORD, Ledger, append_journal
from chaosdata.store.config import HF_SPLITS, SPLITS
from chaosdata.store.executors import init_worker, interruptible
from chaosdata.store.layout import MANIFEST, split_path, system_file
from chaosdata.store.reader import Store, open_store

README = "README.md"
CARDS_DIR = "cards"
IMG_DIR = "cards/img"
METADATA_DIR = "metadata"
CORPUS_JSON = f"{METADATA_DIR}/corpus.json"
GALLERY = f"{IMG_DIR}/gallery.png"
PICTURES = ("attractor", "series", "spectrum")
PLACEHOLDER_REPO = "OWNER/NAME"
PREFERRED_DEFAULT = ("Lorenz", "fine")  # the viewer's first config, when the release has it
LICENSE = "mit"
RESULTS_COLUMNS = ("protocol", "system", "model")  # what a benchmark's results.csv has, at least


@dataclass(frozen=True)
class CardReport:
    """What `render_cards` wrote (paths relative to `root`, with `/`) and how long it took."""

    root: Path
    files: tuple[str, ...]
    systems: tuple[str, ...]
    seconds: float
    plot_seconds: float


# ---------------------------------------------------------------------- templates
def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks."""
    return " ".join(str(text).replace("|", "\\|").split())


def environment() -> jinja2.Environment:
    """The jinja2 environment over the package's templates (undefined names are errors)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("chaosdata.cards", "templates"),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["cell"] = _cell
    return env


def system_page(name: str) -> str:
    return f"{CARDS_DIR}/{name}.md"


def image_path(name: str, picture: str) -> str:
    return f"{IMG_DIR}/{name}_{picture}.png"


# ---------------------------------------------------------------------- YAML header
def size_category(n: int) -> str:
    """The Hub's `size_categories` bucket of `n` examples (rows)."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]
    return next((label for bound, label in bounds if n < bound), "n>1T")


def default_config(configs: Sequence[Any]) -> str | None:
    """The viewer's first config: Lorenz at `fine` if there, else the first one."""
    for c in configs:
        if (c.system, c.granularity) == PREFERRED_DEFAULT:
            return c.config_name
    return configs[0].config_name if configs else None


def header(store: Store, configs: Sequence[Any], n_trajectories: int, dataset_info: bool = False) -> dict[str, Any]:
    """The card's YAML header as a dict (`huggingface_hub.DatasetCard` reads it back).

    `dataset_info` (features, examples and bytes per config) is left out unless asked for: the
    features are already embedded in every Parquet file's schema, and at the catalogue's scale
    (421 configs) it makes the header 3.7x larger and each `datasets.load_dataset(folder, config)`
    6-9x slower (7.5-8 s against 0.8-1.3 s, benchmarks/RESULTS.md), since every call parses it.
    """
    head: dict[str, Any] = {
        "license": LICENSE,
        "pretty_name": f"chaosdata {store.config.name}: trajectories of {len(store.systems)} chaotic systems",
        "task_categories": ["time-series-forecasting"],
        "task_ids": ["multivariate-time-series-forecasting", "univariate-time-series-forecasting"],
        "tags": ["chaos", "dynamical-systems", "chaotic-attractors", "lyapunov-exponents", "physics",
                 "time-series", "chaosdata"],
        "size_categories": [size_category(n_trajectories)],
    }
    if configs:
        default = default_config(configs)
        head["configs"] = [c.to_yaml(default=c.config_name == default) for c in configs]
        if dataset_info:
            head["dataset_info"] = [c.dataset_info_yaml() for c in configs]
    return head


# ---------------------------------------------------------------------- contexts
def _kind_counts(kinds: Iterable[str]) -> str:
    words = {"flow": ("flow", "flows"), "delay": ("delay equation", "delay equations"), "map": ("map", "maps")}
    kinds = list(kinds)
    parts = []
    for k, (one, many) in words.items():
        n = kinds.count(k)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts)


def _integrator_text(attrs: dict[str, dict[str, Any]]) -> str:
    """The integrator settings the build used, grouped: `dop853 (rtol 1e-07, atol 1e-07): 130 systems; ...`."""
    groups: dict[str, int] = {}
    for a in attrs.values():
        used = dict(a.get("generation", {}).get("integrator", {}).get("used", {}))
        method = used.pop("method", "?")
        extra = ", ".join(f"{k} {V.num(v)}" for k, v in sorted(used.items()))
        key = f"{method} ({extra})" if extra and method != "iterate" else str(method)
        groups[key] = groups.get(key, 0) + 1
    return "; ".join(f"{k}: {n} system{'s' if n > 1 else ''}" for k, n in sorted(groups.items()))


def _granularity_text(g: Any) -> str:
    per = "dominant period" if g.timescale == "period" else "Lyapunov time"
    return f"{V.num(g.points)} points per {per}"


def repo_context(store: Store, attrs: dict[str, dict[str, Any]], configs: Sequence[Any], repo_id: str,
                 store_staged: bool, dataset_info: bool = False, results: str | os.PathLike | None = None
                 ) -> dict[str, Any]:
    """Everything the repo card's template needs, from the store, the export's configs and the
    benchmark's results (the overall leaderboard, when `results` is given)."""
    cfg = store.config
    names = list(attrs)
    manifest_entries = store.manifest["systems"]
    n_traj = sum(shape[0] for n in names for shape in manifest_entries[n]["splits"].values())
    catalogue = [dict(V.catalogue_row(n, attrs[n]), page=system_page(n)) for n in names]
    comparisons = [V.dysts_comparison(n, attrs[n].get("invariants") or {}) for n in names]
    compared = [c for c in comparisons if c["has_dysts"]]
    default = default_config(configs)
    ex = next((c for c in configs if c.config_name == default), None)
    if ex is not None:
        ex_system, ex_gran = ex.system, ex.granularity
    else:
        ex_system = next((n for n in names if "fine" in store.granularities(n)), names[0])
        ex_gran = store.granularities(ex_system)[0] if "fine" not in store.granularities(ex_system) else "fine"
    ex_shape = manifest_entries[ex_system]["splits"][split_path(ex_gran, "train")]
    granularities = [{"name": g.name, "text": _granularity_text(g), "applies": "flows and delay equations"}
                     for g in cfg.granularities]
    if any(attrs[n]["system"]["kind"] == "map" for n in names):
        granularities.append({"name": "iteration", "text": "one point per iteration", "applies": "maps"})
    code = store.code
    provenance = attrs[names[0]].get("provenance", {})
    integrator = _integrator_text(attrs)
    return {
        "header": yaml.safe_dump(header(store, configs, n_traj, dataset_info), sort_keys=False, allow_unicode=True,
                                 width=10_000),
        "title": f"chaosdata `{cfg.name}`: trajectories of {len(names)} chaotic systems",
        "gallery": GALLERY,
        "n_systems": len(names),
        "kind_counts": _kind_counts(attrs[n]["system"]["kind"] for n in names),
        "description": cfg.description,
        "config_name": cfg.name,
        "config_hash": store.manifest["config_hash"],
        "n_trajectories": n_traj,
        "n_configs": len(configs),
        "store_staged": store_staged,
        "metadata": {k: f"{METADATA_DIR}/{f}" for k, f in (("catalogue", "catalogue.json"),
                                                            ("invariants", "invariants.json"),
                                                            ("config", "config.json"),
                                                            ("config_toml", "config.toml"),
                                                            ("manifest", "manifest.json"))},
        "repo_id": repo_id,
        "example": {"system": ex_system, "granularity": ex_gran, "config": config_name(ex_system, ex_gran),
                    "dim": ex_shape[2], "n_time": ex_shape[1]},
        "default_config": default or config_name(ex_system, ex_gran),
        "granularities": granularities,
        "leaderboard": V.overall_leaderboard(results),
        "splits": [{"hf": HF_SPLITS[s], "store": s, "n": cfg.splits[s]} for s in SPLITS],
        "seed": cfg.seed,
        "length": V.num(cfg.length), "transient": V.num(cfg.transient),
        "map_length": cfg.map_length, "map_transient": cfg.map_transient,
        "catalogue": catalogue,
        "code": code,
        "git_commit": provenance.get("git_commit"),
        "integrator": integrator,
        "format": store.manifest["format"],
        "storage_dtype": cfg.storage.dtype,
        "manifest_sha256": sha256_file(store.path / MANIFEST),
        "comparison": {"n_compared": len(compared), "n_differs": sum(bool(c["differs"]) for c in compared),
                       "tolerance_pct": 20, "rows": compared},
        "flagged": [{"name": n, "n": manifest_entries[n]["n_invalid"]} for n in names
                    if manifest_entries[n]["n_invalid"]],
        "skipped": [{"name": n, "granularity": g, "why": why} for n in names
                    for g, why in sorted(manifest_entries[n]["skipped"].items())],
        "failed_checks": [n for n in names if attrs[n].get("invariants") and not attrs[n]["invariants"].get("passed")],
        "no_invariants": [n for n in names if not attrs[n].get("invariants")],
        "corpus": V.corpus_recipe(store.manifest["config"], attrs),
        "corpus_json": CORPUS_JSON,
    }


def system_context(store: Store, name: str, attrs: dict[str, Any], configs: Sequence[Any], repo_id: str,
                   plot_granularity: str, results: str | Path | None, store_staged: bool) -> dict[str, Any]:
    """Everything a system page's template needs."""
    meta, inv = attrs["system"], attrs.get("invariants") or {}
    by_gran = {c.granularity: c for c in configs if c.system == name}
    grans = []
    files = []
    for row in V.granularity_rows(store, name):
        cells = {s: (f"{v['n']}" + (f" ({v['invalid']} flagged)" if v["invalid"] else ""))
                 for s, v in row["splits"].items()}
        entry = by_gran.get(row["granularity"])
        grans.append(dict(row, cells={s: cells.get(s, V.DASH) for s in SPLITS},
                          config=entry.config_name if entry else None))
        if entry:
            for paths in entry.data_files.values():
                files += [{"label": p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1], "path": f"../{p}"} for p in paths]
    ex_gran = "fine" if "fine" in store.granularities(name) else store.granularities(name)[0]
    flags = ", ".join(f for f, on in (("non-autonomous", meta.get("nonautonomous")),
                                      ("Hamiltonian", meta.get("hamiltonian")),
                                      ("invertible", meta.get("has_inverse"))) if on)
    units = inv.get("units", "time")
    return {
        "name": name, "readme": f"../{README}", "description": meta.get("description", ""),
        "kind": meta["kind"], "flags": flags, "dim": meta["dim"], "state_dim": meta.get("state_dim", meta["dim"]),
        "citation": meta.get("citation", ""), "dysts_name": meta.get("dysts_name") or name,
        "equations": V.equation_text(name), "notes": meta.get("notes", ""),
        "parameters": V.parameter_rows(meta), "initial_conditions": V.num(meta.get("initial_conditions"), 8),
        "invariants": V.invariant_rows(inv), "checks": V.check_rows(inv), "checks_pass": bool(inv.get("passed")),
        "invariant_notes": inv.get("notes", []), "n_members": inv.get("n_members"),
        "integration_length": V.num(inv.get("integration_length")),
        "units": "iteration" if units == "iteration" else "time unit",
        "plot_granularity": plot_granularity,
        "images": {p: Path(image_path(name, p)).relative_to(CARDS_DIR).as_posix() for p in PICTURES},
        "granularities": grans, "skipped": store.skipped(name), "files": files,
        "repo_id": repo_id, "example_config": config_name(name, ex_gran), "example_granularity": ex_gran,
        "store_file": f"../{system_file(name)}" if store_staged else None,
        "leaderboard": V.read_leaderboard(results, name),
        "corpus": V.corpus_summary(attrs.get("corpus"), meta.get("parameters", {})),
        "corpus_json": f"../{CORPUS_JSON}",
    }


# ---------------------------------------------------------------------- plots
def _plot_system(store_path: str, name: str, out: str, journal: str) -> tuple[str, Any, dict[str, Any]]:
    """Draw one system's three pictures (in a worker process), each put in the run's `journal`
    as it is written; return the system's gallery data and the pictures' entries."""
    store = open_store(store_path)
    data = plots.plot_data(store, name)
    entries = {}
    for picture, draw in (("attractor", plots.attractor_figure), ("series", plots.series_figure),
                          ("spectrum", plots.spectrum_figure)):
        rel = image_path(name, picture)
        plots.save_png(draw(data), Path(out) / rel)
        entries[rel] = append_journal(Path(out), journal, rel)
    return name, data, entries


def _plot_in_processes(store: Store, names: Sequence[str], ledger: Ledger, workers: int) -> list[tuple[str, Any, Any]]:
    """`_plot_system` over `names` in `workers` processes. The workers leave Ctrl-C to this
    process, which then cancels what is queued and stops them at once (as `generate` does)."""
    n = len(names)
    with interruptible(ProcessPoolExecutor(max_workers=workers, initializer=init_worker)) as pool:
        return list(pool.map(_plot_system, [str(store.path)] * n, names, [str(ledger.root)] * n, [ledger.journal] * n,
                             chunksize=max(1, n // (4 * workers))))


def draw_pictures(store: Store, names: Sequence[str], ledger: Ledger, workers: int = 1) -> dict[str, str]:
    """Every system's pictures and the gallery, recorded in `ledger`; returns {system: granularity drawn}."""
    with ledger.guard(IMG_DIR):
        if workers > 1 and len(names) > 1:
            results = _plot_in_processes(store, names, ledger, workers)
        else:
            results = [_plot_system(str(store.path), n, str(ledger.root), ledger.journal) for n in names]
        datas = {name: data for name, data, _ in results}
        plots.save_png(plots.gallery_figure([datas[n] for n in names]), ledger.root / GALLERY)
    for _, _, entries in results:
        for rel, entry in entries.items():
            ledger.wrote(rel, entry)
    ledger.wrote(GALLERY)
    return {n: d.granularity for n, d in datas.items()}


# ---------------------------------------------------------------------- metadata

def card_files(names: Sequence[str], attrs: dict[str, dict[str, Any]]) -> list[str]:
    """Every file `render_cards` writes for the systems `names` (`attrs`: their group attributes)."""
    files = [GALLERY] + [image_path(n, p) for n in names for p in PICTURES] + metadata_files(attrs)
    return files + [README] + [system_page(n) for n in names]


def metadata_files(attrs: dict[str, dict[str, Any]]) -> list[str]:
    """The metadata files `write_metadata` writes for systems of `attrs` (relative paths)."""
    files = [f"{METADATA_DIR}/{f}" for f in ("catalogue.json", "invariants.json", "config.json", "config.toml",
                                              "manifest.json")]
    return files + ([CORPUS_JSON] if any(a.get("corpus") for a in attrs.values()) else [])


def write_metadata(store: Store, attrs: dict[str, dict[str, Any]], ledger: Ledger) -> list[str]:
    """The metadata JSON files (sorted keys, so the same store gives the same bytes)."""
    def dump(obj: Any) -> str:
        return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    corpora = {n: a["corpus"] for n, a in attrs.items() if a.get("corpus")}
    texts: list[str | bytes] = [dump({n: a["system"] for n, a in attrs.items()}),
                                dump({n: a.get("invariants") for n, a in attrs.items()}),
                                dump(store.manifest["config"]), config_toml(store.manifest["config"]),
                                (store.path / MANIFEST).read_bytes()]
    if corpora:
        texts.append(dump(corpora))
    files = metadata_files(attrs)
    for rel, text in zip(files, texts, strict=True):
        write_file(ledger, rel, text)
    return files


def write_file(ledger: Ledger, rel: str, data: str | bytes) -> None:
    """Replace the file `rel` under the ledger's folder with `data` (text as UTF-8), atomically (recorded)."""
    with ledger.writing(rel) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def check_results(results: str | os.PathLike | None) -> Path | None:
    """The benchmark results file `results` names (a `results.csv` or its folder), checked: it
    exists and is a results table (columns protocol, system, model)."""
    if results is None:
        return None
    path = Path(results)
    path = path / "results.csv" if path.is_dir() else path
    if not path.is_file():
        raise InvalidInputError(f"--results {str(results)!r}: no file {path}; give the benchmark's results.csv "
                                "(or the folder holding it), written by `chaosdata benchmark --out DIR`")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            columns = next(csv.reader(fh), [])
    except (UnicodeDecodeError, csv.Error) as err:
        raise InvalidInputError(f"--results {str(results)!r}: {path} is not a CSV table ({err}); give the "
                                "benchmark's results.csv") from None
    missing = [c for c in RESULTS_COLUMNS if c not in columns]
    if missing:
        raise InvalidInputError(f"--results {str(results)!r}: {path} is not a benchmark results table (no column "
                                f"{', '.join(missing)}); give the results.csv of `chaosdata benchmark`")
    return path


# ---------------------------------------------------------------------- entry point
def render_cards(store: Store | str | os.PathLike, out: str | os.PathLike, *, configs: Sequence[Any] = (),
                 repo_id: str | None = None, results: str | os.PathLike | None = None,
                 systems: Sequence[str] | None = None, workers: int = 1, store_staged: bool = False,
                 dataset_info: bool = False, ledger: Ledger | None = None) -> CardReport:
    """Write the repo card, the system pages, their pictures and the metadata JSON under `out`.

    `configs`: the export's `ConfigEntry`s (`export_parquet(...).configs`); without them the
    card has no `configs:` (nothing to point at); `dataset_info` adds the `dataset_info:` block
    (see `header` for why it is off by default). `repo_id` goes into the
    loading examples (default `OWNER/NAME`). `results`: the benchmark's `results.csv` (or its
    folder), for the per-system leaderboards. `workers` > 1 draws the pictures in processes.
    A file is replaced only when chaosdata wrote it (`chaosdata.owned`): an `out` overlapping the
    store, or a file of the user's (an own README.md) at a path to write, is refused before
    anything is written. `ledger`: a staging's, which records the files; by default the folder's
    own record is written last.
    """
    started = time.perf_counter()
    store = store if isinstance(store, Store) else open_store(store)
    out = Path(out)
    names = store.select(systems)
    if not names:
        raise InvalidInputError(f"the store at {store.path} has no committed system to write a card for; "
                                "build one with `chaosdata generate`")
    workers = validate.count(workers, "workers", hint="processes drawing the pictures")
    results = check_results(results)
    own = ledger is None
    ledger = Ledger(out, RECORD, source=store.path) if ledger is None else ledger
    configs = [c for c in configs if c.system in names]
    repo_id = repo_id or PLACEHOLDER_REPO
    attrs = {n: store.attrs(n) for n in names}
    files = card_files(names, attrs)
    ledger.claim(*files)
    t0 = time.perf_counter()
    drawn = draw_pictures(store, names, ledger, workers)
    plot_seconds = time.perf_counter() - t0
    write_metadata(store, attrs, ledger)
    env = environment()
    write_file(ledger, README, env.get_template("README.md.j2").render(
        **repo_context(store, attrs, configs, repo_id, store_staged, dataset_info, results)))
    page = env.get_template("system.md.j2")
    for n in names:
        write_file(ledger, system_page(n), page.render(**system_context(store, n, attrs[n], configs, repo_id,
                                                                         drawn[n], results, store_staged)))
    if own:
        ledger.commit()
    return CardReport(out, tuple(files), tuple(names), time.perf_counter() - started, plot_seconds)
