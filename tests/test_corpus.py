"""Corpus configs: parameter-perturbed variants and skew products, screened, stored per group."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
from stores import quiet, raw_tiny

from chaosdata import Sampling, SolverSettings, get_system, load_dataset, make_trajectories
from chaosdata.errors import InvalidInputError
from chaosdata.invariants.screen import screen
from chaosdata.store import build, open_store
from chaosdata.store.config import parse_config
from chaosdata.systems.derived import perturbed_parameters, skew_pairs, skew_product, stack_parameters

CORPUS = {"variants": 3, "scale": 0.1, "skew_products": 1, "screen_ics": 3, "screen_periods": 5}


def corpus_config(**corpus):
    return parse_config(raw_tiny(systems=["Lorenz", "Rossler", "Henon"], granularities={"fine": {"points": 30}},
                                 length=2, corpus={**CORPUS, **corpus}))


# ---------------------------------------------------------------------- config and derived systems
def test_configs_without_a_corpus_keep_their_hash():
    plain = parse_config(raw_tiny())
    assert "corpus" not in plain.to_dict()
    assert corpus_config().config_hash != plain.config_hash


@pytest.mark.parametrize("corpus, message", [
    ({"variants": 0}, "corpus.variants must be a positive integer, got 0"),
    ({"scale": -0.1}, "corpus.scale must be a non-negative finite number, got -0.1"),
    ({"flavour": 1}, "unknown key corpus.flavour"),
])
def test_corpus_config_errors_name_the_key(corpus, message):
    with pytest.raises(InvalidInputError, match=message):
        corpus_config(**corpus)


def test_a_corpus_holds_the_configs_flows_and_its_skew_products():
    names = corpus_config().resolved_systems()
    assert "Henon" not in names  # maps make no corpus
    assert [n for n in names if "__" in n] == ["__".join(p) for p in skew_pairs(["Lorenz", "Rossler"], 1, 7)]


def test_variants_are_deterministic_and_variant_zero_is_the_catalogues():
    lorenz = get_system("Lorenz")
    a, b = perturbed_parameters(lorenz, 4, 0.1, 3), perturbed_parameters(lorenz, 4, 0.1, 3)
    assert a == b and a[0] == dict(lorenz.parameters)
    assert a[1] != a[2] and perturbed_parameters(lorenz, 4, 0.1, 4)[1] != a[1]
    rho = np.array([p["rho"] for p in perturbed_parameters(lorenz, 400, 0.1, 0)[1:]])
    assert abs(rho.mean() / 28 - 1) < 0.02 and abs(rho.std() / 28 - 0.1) < 0.015  # relative Gaussian, 10%


def test_a_skew_product_drives_the_response_and_leaves_the_driver_alone():
    skew = skew_product("Rossler", "Lorenz", 0.5)
    assert skew.name == "Rossler__Lorenz" and skew.dim == 6 and skew.period == get_system("Lorenz").period
    x0 = torch.tensor(skew.initial_conditions, dtype=torch.float64)
    tol = dict(sampling=Sampling(transient=0), solver=SolverSettings(rtol=1e-11, atol=1e-11))
    both = make_trajectories(skew, 200, initial_conditions=x0, **tol)
    driver = make_trajectories("Rossler", initial_conditions=x0[:3], times=both.t.numpy(), **tol)
    torch.testing.assert_close(both.x[0, :, :3], driver.x[0], rtol=1e-6, atol=1e-6)
    uncoupled = make_trajectories(skew, 200, initial_conditions=x0, coupling=0.0, **tol)
    response = make_trajectories("Lorenz", initial_conditions=x0[3:], times=both.t.numpy(), **tol)
    torch.testing.assert_close(uncoupled.x[0, :60, 3:], response.x[0, :60], rtol=1e-6, atol=1e-6)
    assert not torch.allclose(both.x[0, :60, 3:], response.x[0, :60], atol=1e-2)  # the coupling acts


# ---------------------------------------------------------------------- screening
def test_screen_accepts_chaos_and_names_what_it_rejects():
    lorenz = get_system("Lorenz")
    sets = [{"beta": 2.667, "rho": 28.0, "sigma": 10.0},   # chaotic
            {"beta": 2.667, "rho": 10.0, "sigma": 10.0},   # a stable fixed point
            {"beta": 2.667, "rho": 1e9, "sigma": 10.0}]    # leaves every bound
    verdicts = screen(lorenz, stack_parameters(sets, 3), 3, 3, seed=0, periods=10)
    assert verdicts[0].accepted and verdicts[0].lambda_max == pytest.approx(0.906, rel=0.25)
    assert not verdicts[1].accepted and verdicts[1].reason.startswith(("fixed point", "not chaotic"))
    assert not verdicts[2].accepted and verdicts[2].reason.startswith("unbounded")
    rossler = get_system("Rossler")
    cycle = [{**{k: v for k, v in rossler.parameters.items()}, "c": 2.3}]  # period-1 limit cycle
    (verdict,) = screen(rossler, stack_parameters(cycle, 3), 1, 3, seed=0, periods=10)
    assert not verdict.accepted and verdict.reason.startswith("not chaotic"), verdict


# ---------------------------------------------------------------------- corpus stores
@pytest.fixture(scope="module")
def corpus_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "store"
    report = build(corpus_config(), out, progress=False, log=quiet)
    assert report.ok, [r.error for r in report.results]
    return out


def _lorenz_fine_train(store_dir):
    """The Lorenz fine/train Dataset of a store opened as a user does: its system's zip, with xarray."""
    from zarr.storage import ZipStore

    return xr.open_zarr(ZipStore(Path(store_dir) / "Lorenz.zip", mode="r", read_only=True), group="fine/train")


def test_a_corpus_store_keeps_each_variant_with_its_parameters(corpus_store):
    store = open_store(corpus_store)
    corpus = store.attrs("Lorenz")["corpus"]
    assert corpus["n_variants"] == 3 and len(corpus["variants"]) == 3
    accepted = [v["id"] for v in corpus["variants"] if v["accepted"]]
    assert 0 in accepted and corpus["n_accepted"] == len(accepted)
    ds = _lorenz_fine_train(corpus_store)
    assert ds.sizes["trajectory"] == 2 * len(accepted)  # 2 train trajectories per accepted variant
    assert ds.variant.values.tolist() == [v for v in accepted for _ in range(2)]
    assert ds.parameter.values.tolist() == ["beta", "rho", "sigma"]
    for row, v in enumerate(ds.variant.values):
        params = corpus["variants"][int(v)]["parameters"]
        np.testing.assert_array_equal(ds.parameters.values[row], [params["beta"], params["rho"], params["sigma"]])
    assert store.manifest["systems"]["Lorenz"]["variants"] == {"n_variants": 3, "n_accepted": len(accepted)}
    assert store.verify().ok


def test_each_variant_is_integrated_with_its_own_parameters(corpus_store):
    store = open_store(corpus_store)
    v = store.variables("Lorenz", "fine", "train")
    ds = _lorenz_fine_train(corpus_store)
    row = int(np.argmax(ds.variant.values != 0)) if (ds.variant.values != 0).any() else 0
    params = dict(zip(ds.parameter.values.tolist(), ds.parameters.values[row]))
    used = store.attrs("Lorenz")["generation"]["integrator"]["used"]
    again = make_trajectories("Lorenz", times=ds.time.values, initial_conditions=torch.from_numpy(v["start_state"][row]), **params, sampling=Sampling(transient=0), solver=SolverSettings(rtol=used["rtol"], atol=used["atol"]))
    np.testing.assert_allclose(again.x[0].numpy().astype(np.float32), ds.series.values[row], rtol=1e-4, atol=1e-4)


def test_corpus_groups_load_like_systems(corpus_store):
    store = open_store(corpus_store)
    skew = next(n for n in store.systems if "__" in n)
    corpus = store.attrs(skew)["corpus"]
    if corpus["n_accepted"] == 0:  # every variant rejected: the group says why, and holds no data
        assert store.arrays(skew) == [] and all(v["reason"] for v in corpus["variants"])
        pytest.skip(f"no variant of {skew} was accepted at this screen length")
    ds = load_dataset(["Lorenz", skew.lower()], source=corpus_store, context_length=8, horizon=4, return_info=True)
    assert ds.systems == ["Lorenz", skew] and len(ds) > 0
    assert ds[len(ds) - 1][2]["system"] == skew


def test_skew_products_are_nested_by_driver_with_their_own_index(corpus_store):
    from zarr.storage import ZipStore

    from chaosdata.publish.stage import store_files
    from chaosdata.store.layout import MANIFEST, index_file, system_file

    store = open_store(corpus_store)
    skew = next(n for n in store.systems if "__" in n)
    driver = skew.split("__")[0]
    assert store.file(skew) == corpus_store / driver / f"{skew}.zip" and not (corpus_store / f"{skew}.zip").exists()
    root = json.loads((corpus_store / MANIFEST).read_text())
    assert root["drivers"] == [driver] and skew not in root["systems"] and "Lorenz" in root["systems"]
    assert list(json.loads((corpus_store / index_file(driver)).read_text())["systems"]) == [skew]
    assert (corpus_store / driver / "builds.json").is_file()
    assert {index_file(driver), system_file(skew)} <= set(store_files(store, [skew]))  # what a release stages
    if store.arrays(skew):  # xarray opens it as a system at the root
        ds = xr.open_zarr(ZipStore(store.file(skew), mode="r", read_only=True), group="fine/train")
        np.testing.assert_array_equal(ds.series.values, store.array(skew, "fine", "train")[...])


def test_a_skew_product_over_the_loopback_hub_reads_the_root_and_its_drivers_index(corpus_store, hub, tmp_path):
    from chaosdata.store.remote import open_remote

    hub.serve("owner/corpus", corpus_store)
    local = open_store(corpus_store)
    skew = next(n for n in local.systems if "__" in n)
    remote = open_remote("owner/corpus", revision=None, cache=tmp_path)
    assert remote.attrs(skew)["system"] == local.attrs(skew)["system"]
    gets = sorted(path.split("/resolve/")[1].split("/", 1)[1] for method, path, _ in hub.log
                  if method == "GET" and "/resolve/" in path)
    driver = skew.split("__")[0]
    assert set(gets) == {"manifest.json", f"{driver}/index.json", f"{driver}/{skew}.zip"}
    infos = [path for method, path, _ in hub.log if path.split("?")[0] == "/api/datasets/owner/corpus"]
    assert any("expand=sha" in path for path in infos)  # the revision's sha asked for alone: no list of every file
    assert remote.systems == local.systems  # listing reads every driver's index


def test_a_damaged_driver_index_is_named_and_a_rerun_adopts_its_skew_products_again(corpus_store, tmp_path):
    import shutil

    from chaosdata.store import StoreError
    from chaosdata.store.layout import index_file

    out = tmp_path / "store"
    shutil.copytree(corpus_store, out)
    skew = next(n for n in open_store(out).systems if "__" in n)
    index = out / index_file(skew.split("__")[0])
    written = index.read_bytes()
    index.write_text("{")  # killed mid-write would leave the old one (atomic replace): this is damage
    with pytest.raises(StoreError, match=f"{index_file(skew.split('__')[0])}: not valid JSON.*remove it"):
        _ = open_store(out).systems
    index.unlink()
    report = build(corpus_config(), out, progress=False, log=quiet)
    assert {r.name: r.status for r in report.results}[skew] == "adopted" and report.ok
    assert index.read_bytes() == written and open_store(out).verify([skew]).ok


def test_a_flow_without_parameters_is_one_variant_with_no_parameter_columns():
    from chaosdata.invariants.screen import Verdict
    from chaosdata.store.corpus import Variants

    sets = perturbed_parameters(get_system("SprottB"), 8, 0.1, 0)
    assert sets == [{}]
    variants = Variants(sets, [Verdict(True, "", 1.0, 0.1, 4)])
    assert variants.columns() == [] and variants.table([0]).shape == (1, 0)
    assert variants.row_parameters({"train": 2, "val": 1, "test": 1}) == {}


def test_the_parquet_export_gives_each_row_its_own_variants_parameters(corpus_store, tmp_path):
    import json

    import pyarrow.parquet as pq

    from chaosdata.export import export_parquet

    export_parquet(open_store(corpus_store), tmp_path / "out", systems=["Lorenz"])  # read back and checked
    table = pq.read_table(next((tmp_path / "out" / "data" / "Lorenz" / "fine").glob("train-*.parquet")))
    ds = _lorenz_fine_train(corpus_store)
    corpus = open_store(corpus_store).attrs("Lorenz")["corpus"]
    got = [json.loads(p) for p in table.column("parameters").to_pylist()]
    assert got == [corpus["variants"][int(v)]["parameters"] for v in ds.variant.values]
