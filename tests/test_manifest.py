"""The manifest and the driver indexes of a corpus: sizes at corpus scale, what a commit rewrites,
what opening one group reads, and the documents it refuses."""

from __future__ import annotations

import collections
import json
import pickle
from pathlib import Path

import pytest
from stores import raw_tiny

from chaosdata.store import StoreError
from chaosdata.store.config import parse_config
from chaosdata.store.layout import MANIFEST, index_file, system_file
from chaosdata.store.manifest import OldFormatError, documents, new_manifest, read_manifest, record_system, write_manifest

CONFIG = parse_config(raw_tiny(systems=["Lorenz", "Rossler"], granularities={"fine": {"points": 30}},
                               corpus={"variants": 3}))  # no skew products of its own
# a group's entry as the writer records it: three splits, a corpus's variant counts
ENTRY = {"bytes": 1_234_567, "dim": 6, "kind": "flow", "n_invalid": 0, "sha256": "0f" * 32, "skipped": {},
         "splits": {f"fine/{s}": [12, 5120, 6] for s in ("test", "train", "val")},
         "variants": {"n_accepted": 11, "n_variants": 12}}


def group(i: int) -> str:
    """A skew product's name; 150 per driver, as ~135 flows give at the Panda scale."""
    return f"Driver{i // 150:03d}__Response{i:05d}"


def corpus(root: Path, groups: int) -> dict:
    """A store's manifest with `groups` skew products and one catalogue-named group, written."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = new_manifest(CONFIG, {"source_sha256": "x"}, "c" * 64)
    record_system(manifest, "Lorenz", dict(ENTRY))
    for i in range(groups):
        record_system(manifest, group(i), dict(ENTRY))
    write_manifest(root, manifest)
    return manifest


def test_a_corpus_of_20000_groups_has_no_document_over_1_mb_nor_folder_over_10k_entries(tmp_path):
    corpus(tmp_path, 20_000)
    sizes = {p.relative_to(tmp_path).as_posix(): p.stat().st_size for p in tmp_path.rglob("*.json")}
    assert max(sizes.values()) < 100_000, max(sizes.items(), key=lambda kv: kv[1])
    assert sizes[MANIFEST] < 5_000  # the root holds the identity and the catalogue-named groups only
    entries = collections.Counter(Path(system_file(group(i))).parent for i in range(20_000))
    assert max(entries.values()) + 2 < 10_000 and len(entries) + 3 < 10_000  # + index, builds log


def test_committing_a_skew_product_rewrites_its_drivers_index_alone(tmp_path):
    manifest = corpus(tmp_path, 300)
    before = {p: (p.stat().st_ino, p.read_bytes()) for p in tmp_path.rglob("*.json")}
    record_system(manifest, "Driver001__Response99999", dict(ENTRY))
    write_manifest(tmp_path, manifest)
    changed = sorted(p.relative_to(tmp_path).as_posix() for p, (ino, data) in before.items()
                     if p.stat().st_ino != ino or p.read_bytes() != data)
    assert changed == [index_file("Driver001")]
    assert "Driver001__Response99999" in read_manifest(tmp_path)["systems"]


def test_opening_one_group_reads_the_root_and_its_drivers_index_alone(tmp_path):
    corpus(tmp_path, 600)
    manifest = read_manifest(tmp_path)
    groups, read = manifest["systems"], []
    local = groups.reader
    groups.reader = lambda path: read.append(path) or local(path)
    assert groups[group(400)]["bytes"] == ENTRY["bytes"] and "Lorenz" in groups
    assert read == [index_file("Driver002")]
    assert len(groups) == 601 and sorted(groups) == sorted(["Lorenz", *map(group, range(600))])
    assert sorted(read) == [index_file(f"Driver{d:03d}") for d in range(4)]
    assert "Nobody__Response00001" not in groups and len(read) == 4  # not a driver of the store: nothing read


def test_the_root_manifest_lists_the_drivers_and_holds_no_skew_product(tmp_path):
    corpus(tmp_path, 300)
    root = json.loads((tmp_path / MANIFEST).read_text())
    assert list(root["systems"]) == ["Lorenz"] and root["drivers"] == ["Driver000", "Driver001"]
    index = json.loads((tmp_path / index_file("Driver001")).read_text())
    assert index["config_hash"] == CONFIG.config_hash and len(index["systems"]) == 150
    assert documents([group(0), "Lorenz"]) == [MANIFEST, "builds.json", "Driver000/index.json",
                                               "Driver000/builds.json"]


def test_a_store_without_skew_products_keeps_one_manifest_without_drivers(tmp_path):
    plain = parse_config(raw_tiny(systems=["Lorenz"]))
    manifest = new_manifest(plain, {}, "c" * 64)
    record_system(manifest, "Lorenz", dict(ENTRY))
    write_manifest(tmp_path, manifest)
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST]
    assert set(json.loads((tmp_path / MANIFEST).read_text())) == {
        "format", "config", "config_hash", "code", "code_hash", "systems"}


@pytest.mark.parametrize("damage, message", [
    (lambda index: "{", "not valid JSON"),
    (lambda index: json.dumps({**index, "config_hash": "f" * 64}), "an index of another store"),
    (lambda index: json.dumps([]), "expected a driver index"),
])
def test_a_damaged_or_foreign_index_is_refused_naming_it_and_the_fix(tmp_path, damage, message):
    corpus(tmp_path, 200)
    path = tmp_path / index_file("Driver001")
    path.write_text(damage(json.loads(path.read_text())))
    groups = read_manifest(tmp_path)["systems"]
    assert group(0) in groups  # the other driver's index reads as before
    with pytest.raises(StoreError, match=rf"(?s)Driver001/index.json: {message}.*run `chaosdata generate` again"):
        groups[group(199)]


def test_a_corpus_store_with_its_skew_products_at_the_root_is_refused_with_the_rebuild_command(tmp_path):
    corpus(tmp_path, 10)
    root = json.loads((tmp_path / MANIFEST).read_text())
    root["systems"][group(3)] = ENTRY  # as written before the nesting by driver
    (tmp_path / MANIFEST).write_text(json.dumps(root))
    with pytest.raises(OldFormatError, match="--overwrite"):
        read_manifest(tmp_path)
    assert read_manifest(tmp_path, any_format=True)["format"] != root["format"]  # a build replaces it


def test_a_manifest_pickles_with_its_indexes_unread(tmp_path):
    """DataLoader workers receive the store (and its manifest) pickled."""
    corpus(tmp_path, 200)
    again = pickle.loads(pickle.dumps(read_manifest(tmp_path)))
    assert again["systems"][group(199)] == ENTRY
