"""Staging and publishing: the staged folder loads with the real `datasets` equal to the store,
passes its own verification (which catches tampering, broken links, folder limits and a leaked
token), and `publish`, the real huggingface_hub client against the loopback Hub (conftest `hub`),
uploads the staging, never shows the token, resumes an interrupted upload, sends nothing twice,
and uploads nothing from a store that fails verification."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from stores import raw_tiny

from chaosdata.cli import main as cli
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.export import config_name
from chaosdata.publish import Contents, PublishError, default_tag, parse_repo_id, publish, stage, staged_index, verify_staged
from chaosdata.publish.hub import git_blob_id
from chaosdata.publish.stage import STAGED_INDEX
from chaosdata.publish.verify import folder_entries, unstaged_files
from chaosdata.store import build, open_store
from chaosdata.store.config import HF_SPLITS, SPLITS, parse_config

# a flow, a delay equation and a map, one granularity (maps: iteration): the tiny store of
# tests/test_store.py with its own name and seed
CONFIG = raw_tiny(name="publish-test", seed=5, length=3, map_length=60,
                  granularities={"fine": {"timescale": "period", "points": 60}})
SYSTEMS = ("Lorenz", "Henon", "MackeyGlass")
TOKEN = "hf_TestTokenThatMustNeverAppear0123456789"
REPO = "someone/chaosdata-test"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("publish") / "store"
    assert build(parse_config(CONFIG, "publish-test"), out, progress=False, log=lambda m: None).ok
    return open_store(out)


@pytest.fixture(scope="module")
def staged(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("publish") / "staged"
    return stage(store, out, repo_id=REPO)


@pytest.fixture
def staged_copy(staged, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(staged.root, dst)
    return dst


@pytest.fixture
def token_env(monkeypatch, tmp_path):
    """HF_TOKEN set to the test token, and no login cache to fall back on."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    return TOKEN


# ---------------------------------------------------------------------- repo ids
@pytest.mark.parametrize("repo_id", ["owner/name", "my-user/chaosdata.quick_v1", "A1/b"])
def test_valid_repo_ids(repo_id):
    assert parse_repo_id(repo_id) == repo_id


@pytest.mark.parametrize("repo_id", ["name", "a/b/c", "bad repo/x", "own--er/x", "o/na..me", "o/name.git", "/x",
                                     "o/", "-o/x", "o/" + "x" * 97])
def test_malformed_repo_ids(repo_id):
    with pytest.raises(InvalidInputError, match="repo_id must be OWNER/NAME"):
        parse_repo_id(repo_id)


@pytest.mark.parametrize("repo_id", [None, 3])
def test_a_repo_id_that_is_not_a_string_is_a_type_error(repo_id):
    with pytest.raises(InvalidTypeError, match="repo_id must be a string"):
        parse_repo_id(repo_id)


# ---------------------------------------------------------------------- the staged folder
def test_staged_folder_passes_verification(staged):
    assert verify_staged(staged.root) == []


def test_staged_folder_holds_store_exports_cards_metadata(staged, store):
    root = staged.root
    for rel in ("README.md", "manifest.json", "Henon.zip", "metadata/catalogue.json", "metadata/invariants.json",
                "metadata/config.json", "metadata/config.toml", "metadata/manifest.json", "cards/img/gallery.png"):
        assert (root / rel).is_file(), rel
    assert open_store(root).systems == store.systems
    index = staged_index(root)
    assert index["config_hash"] == store.manifest["config_hash"]
    assert set(index["files"]) == {p.relative_to(root).as_posix() for p in root.rglob("*")
                                   if p.is_file()} - {STAGED_INDEX}


@pytest.mark.parametrize("system", SYSTEMS)
def test_datasets_load_every_config_and_split_equal_to_the_store(staged, store, system, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    mismatches = []
    for gran in store.granularities(system):
        for split in SPLITS:
            ds = datasets.load_dataset(str(staged.root), config_name(system, gran), split=HF_SPLITS[split],
                                       cache_dir=str(tmp_path / "hf")).with_format("numpy")
            assert isinstance(ds.features["series"], datasets.Array2D)  # from the schema embedded in the files
            got = ds[:]["series"]
            want = store.array(system, gran, split)[...]
            if got.shape != want.shape or not np.array_equal(got, want, equal_nan=True):
                mismatches.append((gran, split, got.shape, want.shape))
            if list(ds["trajectory"]) != list(range(want.shape[0])):
                mismatches.append((gran, split, "trajectory ids"))
    assert mismatches == []


def test_card_configs_cover_every_system_and_granularity(staged, store):
    from huggingface_hub import DatasetCard

    data = DatasetCard.load(staged.root / "README.md").data.to_dict()
    names = [c["config_name"] for c in data["configs"]]
    assert names == [config_name(s, g) for s in store.systems for g in store.granularities(s)]
    assert [c["config_name"] for c in data["configs"] if c.get("default")] == ["Lorenz_fine"]
    assert "dataset_info" not in data  # off by default: the Parquet schema carries the features


def test_dataset_info_on_request_declares_the_features(staged, store):
    import yaml
    from huggingface_hub import DatasetCard

    from chaosdata.cards.render import header

    head = header(store, staged.configs, 12, dataset_info=True)
    data = DatasetCard("---\n" + yaml.safe_dump(head, sort_keys=False) + "---\n").data.to_dict()
    info = {i["config_name"]: i for i in data["dataset_info"]}
    assert sorted(info) == sorted(c["config_name"] for c in data["configs"])
    series = next(f for f in info["Lorenz_fine"]["features"] if f["name"] == "series")
    assert series["dtype"]["array2_d"] == {"dtype": "float32", "shape": [None, 3]}
    assert {s["name"]: s["num_examples"] for s in info["Lorenz_fine"]["splits"]} == {"train": 2, "validation": 1,
                                                                                     "test": 1}


def test_restaging_is_idempotent(staged, store, staged_copy):
    before = {p: hashlib.sha256((staged_copy / p).read_bytes()).hexdigest() for p in staged_index(staged_copy)["files"]}
    stage(store, staged_copy, repo_id=REPO, contents=Contents(systems=["Henon"]))  # a subset: the other systems' files go
    index = staged_index(staged_copy)
    assert index["systems"] == ["Henon"]
    assert not (staged_copy / "Lorenz.zip").exists() and not (staged_copy / "data" / "Lorenz").exists()
    assert all(before[p] == e["sha256"] for p, e in index["files"].items() if p.startswith(("Henon.zip", "data/Henon/")))
    assert verify_staged(staged_copy) == []


@pytest.mark.parametrize("option, value, error", [("hdf5", "yes", InvalidTypeError), ("dataset_info", 1, InvalidTypeError),
                                                   ("workers", 0, InvalidInputError), ("systems", [], InvalidInputError),
                                                   ("systems", 3, InvalidTypeError)])
def test_contents_are_checked_once_naming_the_setting(option, value, error):
    with pytest.raises(error, match=option):
        Contents(**{option: value})


def test_contents_take_one_system_name_or_a_list():
    assert Contents(systems="Henon").systems == ("Henon",) == Contents(systems=["Henon"]).systems


def test_stage_takes_contents_not_a_dict(store, tmp_path):
    with pytest.raises(InvalidTypeError, match="contents must be a Contents"):
        stage(store, tmp_path, repo_id=REPO, contents={"hdf5": True})


def test_stage_refuses_a_folder_that_is_not_a_staging(store, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(InvalidInputError, match="not empty"):
        stage(store, tmp_path, repo_id=REPO)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def _tamper_parquet(root: Path) -> str:
    path = next((root / "data" / "Lorenz" / "fine").glob("train-*.parquet"))
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    return f"{path.relative_to(root).as_posix()}: differs from {STAGED_INDEX}"


def _break_link(root: Path) -> str:
    (root / "cards" / "img" / "Henon_spectrum.png").unlink()
    return "broken link or image img/Henon_spectrum.png"


def _leak_token(root: Path) -> str:
    (root / "cards" / "Lorenz.md").write_text((root / "cards" / "Lorenz.md").read_text() + TOKEN)
    return "contains the Hugging Face token"


def _bad_card(root: Path) -> str:
    text = (root / "README.md").read_text().replace("path: data/Henon/iteration/test-", "path: data/Henon/iteration/tst-")
    (root / "README.md").write_text(text)
    return "config 'Henon_iteration' split 'test': no file"


@pytest.mark.parametrize("damage", [_tamper_parquet, _break_link, _leak_token, _bad_card])
def test_verification_catches(staged_copy, damage):
    expected = damage(staged_copy)
    problems = verify_staged(staged_copy, secrets=[TOKEN])
    assert any(expected in p for p in problems), problems


def test_folder_entries_are_counted(tmp_path):
    for i in range(12):
        (tmp_path / f"f{i}").touch()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x").touch()
    assert folder_entries(tmp_path) == {".": 13, "sub": 1}


def test_release_folder_entries_stay_under_the_hub_limit(staged):
    """The widest folders at the full release: the root (one folder per system, 158 + a few),
    cards/ (one page per system), cards/img (3 pictures per system + the gallery)."""
    counts = folder_entries(staged.root)
    per_system = {".": 1, "cards": 1, "cards/img": 3, "data": 1}
    n = len(staged_index(staged.root)["systems"])
    for folder, k in per_system.items():
        fixed = counts[folder] - k * n
        assert fixed >= 0 and fixed + k * 158 < 10_000


# ---------------------------------------------------------------------- publish to the loopback Hub
# `hub` (tests/conftest.py) is the Hub look-alike that HF_ENDPOINT names: `publish` runs the real
# huggingface_hub client against it (create, list, validate, preupload, commit, tag).
WRONG_TOKEN = "hf_WrongTokenThatMustNotAppearEither0123"
# the client's smallest commits (20 files), so that the staging goes up in more than one commit
SMALL_COMMITS = ("import sys, huggingface_hub._upload_pipeline as p; p.INITIAL_COMMIT_SIZE_INDEX = 0; "
                 "from chaosdata.cli import main; sys.exit(main(sys.argv[1:]))")


def _all_staged(root: Path) -> set[str]:
    return set(staged_index(root)["files"]) | {STAGED_INDEX}


def _on_hub(hub, repo_id: str = REPO) -> dict[str, bytes]:
    root = hub.repos[repo_id].root
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_publish_interrupted_then_resumed(hub, staged, store, token_env, capsys, caplog):
    """`chaosdata publish` killed while its second commit is in flight; a rerun sends only the rest."""
    caplog.set_level(logging.DEBUG)
    hub.token = TOKEN
    hub.fault("/commit/", "hang", after=1, times=None)  # every commit after the first hangs
    proc = subprocess.Popen([sys.executable, "-c", SMALL_COMMITS, "publish", str(store.path), "--repo-id", REPO,
                             "--staging", str(staged.root), "--no-restage", "--private"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while hub.counts["commit"] < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    out = proc.communicate()[0]
    assert hub.counts["commit"] == 2, out
    hub.faults.clear()
    hub.release()  # the held commit is dropped, never applied
    first = _on_hub(hub)
    assert 0 < len(first) < len(_all_staged(staged.root)), out

    hub.counts.clear()
    report = publish(store, REPO, staging=staged.root, restage=False, log=print)
    assert _on_hub(hub) == {p: (staged.root / p).read_bytes() for p in _all_staged(staged.root)}
    assert set(report.uploaded) == _all_staged(staged.root) - set(first)  # only what was missing
    assert report.skipped == len(first)
    assert hub.counts["commit"] == 1 and hub.repos[REPO].private
    repo = hub.repos[REPO]
    assert repo.tags == {default_tag(store): repo.commits[-1]} and store.manifest["config_hash"][:12] in report.tag

    captured = capsys.readouterr()
    assert TOKEN not in out + captured.out + captured.err + caplog.text
    assert verify_staged(staged.root, secrets=[TOKEN]) == []


@pytest.mark.parametrize("changed", [[], ["README.md", "cards/Lorenz.md"]])
def test_only_changed_files_are_uploaded_again(hub, staged, store, token_env, changed, tmp_path):
    hub.token = TOKEN
    remote = tmp_path / "remote"
    shutil.copytree(staged.root, remote)
    for p in changed:
        (remote / p).write_bytes((remote / p).read_bytes() + b" ")  # an older version on the Hub
    hub.serve(REPO, remote)
    report = publish(store, REPO, staging=staged.root, restage=False)
    assert sorted(report.uploaded) == changed
    assert hub.counts["commit"] == (1 if changed else 0)
    assert _on_hub(hub) == {p: (staged.root / p).read_bytes() for p in _all_staged(staged.root)}
    assert list(hub.repos[REPO].tags) == [default_tag(store)]
    assert publish(store, REPO, staging=staged.root, restage=False).uploaded == ()  # the tag exists: no error


def test_files_the_user_added_to_the_staging_are_kept_and_not_uploaded(hub, staged, store, token_env, tmp_path):
    # they failed verification ("not part of the staging"), so a LICENSE added after a dry run
    # stopped the publish that the dry run prepared; they are the user's: kept, named, not sent
    hub.token = TOKEN
    folder = tmp_path / "staging"
    shutil.copytree(staged.root, folder)
    (folder / "LICENSE").write_text("CC-BY-4.0, mine")
    (folder / "cards" / "notes.md").write_text("[a link to nowhere](nowhere.md) " + TOKEN)
    assert verify_staged(folder, secrets=[TOKEN]) == []
    assert unstaged_files(folder) == ["LICENSE", "cards/notes.md"]
    lines: list[str] = []
    report = publish(store, REPO, staging=folder, restage=False, log=lines.append)
    assert sorted(report.uploaded) == sorted(_all_staged(folder))
    assert "LICENSE" not in _on_hub(hub) and "cards/notes.md" not in _on_hub(hub)
    assert any(line.startswith("left out of the upload") and "LICENSE, cards/notes.md" in line for line in lines), lines
    assert (folder / "LICENSE").read_text() == "CC-BY-4.0, mine"


def test_git_blob_id_matches_git(tmp_path):
    (tmp_path / "f").write_bytes(b"hello\n")
    assert git_blob_id(tmp_path / "f") == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object`


def test_no_token(hub, store, staged, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    with pytest.raises(PublishError, match="no Hugging Face token: set HF_TOKEN"):
        publish(store, REPO, staging=staged.root, restage=False)
    assert sum(hub.counts.values()) == 0


def test_no_network_with_the_real_client(store, staged, token_env):
    from huggingface_hub import HfApi

    api = HfApi(endpoint="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(PublishError, match="cannot reach the Hugging Face Hub") as err:
        publish(store, REPO, staging=staged.root, restage=False, api=api)
    assert TOKEN not in str(err.value)


def test_a_refused_token_is_one_line_and_never_shown(hub, store, staged, token_env, monkeypatch, capsys):
    hub.token = TOKEN  # the Hub knows this one; the client sends another, as after a revoked token
    monkeypatch.setenv("HF_TOKEN", WRONG_TOKEN)
    code = cli(["publish", str(store.path), "--repo-id", REPO, "--staging", str(staged.root), "--no-restage"])
    out = capsys.readouterr()
    assert code == 2
    assert out.err.startswith("chaosdata: error: create_repo failed (HTTP 401)") and out.err.count("\n") == 1, out.err
    assert "token was refused" in out.err
    assert WRONG_TOKEN not in out.out + out.err and TOKEN not in out.out + out.err
    assert REPO not in hub.repos and hub.counts["commit"] == 0


def test_malformed_repo_id_uploads_nothing(hub, store, token_env):
    with pytest.raises(InvalidInputError, match="OWNER/NAME"):
        publish(store, "not a repo")
    assert sum(hub.counts.values()) == 0


def test_store_failing_verification_uploads_nothing(hub, store, token_env, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(store.path, damaged)
    (damaged / "Lorenz.zip").write_bytes(b"not the data")
    with pytest.raises(PublishError, match="fails verification.*nothing was staged or uploaded"):
        publish(damaged, REPO, staging=tmp_path / "staging")
    assert sum(hub.counts.values()) == 0
    assert not (tmp_path / "staging").exists()


def test_no_restage_refuses_another_release(hub, store, staged, token_env, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(staged.root, other)
    index = json.loads((other / STAGED_INDEX).read_text())
    index["config_hash"] = "0" * 64
    (other / STAGED_INDEX).write_text(json.dumps(index))
    with pytest.raises(PublishError, match="holds release config 000000000000"):
        publish(store, REPO, staging=other, restage=False)
    assert sum(hub.counts.values()) == 0


@pytest.mark.slow
def test_stage_with_hdf5(store, tmp_path):
    import h5py

    report = stage(store, tmp_path / "h5", repo_id=REPO, contents=Contents(systems=["Henon"], hdf5=True))
    h5 = [p for p in report.files if p.startswith("hdf5/")]
    assert sorted(h5) == [f"hdf5/Henon/iteration/{s}.h5" for s in ("test", "train", "validation")]
    with h5py.File(tmp_path / "h5" / "hdf5/Henon/iteration/train.h5") as f:
        np.testing.assert_array_equal(f["series"][...], store.array("Henon", "iteration", "train")[...])
    assert verify_staged(tmp_path / "h5") == []
    blob = bytearray((tmp_path / "h5" / h5[0]).read_bytes())
    (tmp_path / "h5" / h5[0]).write_bytes(bytes(blob[: len(blob) // 2]))
    assert any(p.startswith(f"{h5[0]}: differs") for p in verify_staged(tmp_path / "h5"))


def test_cli_publish_dry_run(store, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = cli(["publish", str(store.path), "--repo-id", REPO, "--dry-run", str(tmp_path / "dry"),
                    "--systems", "Henon"])
    assert code == 0, buf.getvalue()
    assert "dry run: nothing uploaded" in buf.getvalue()
    assert verify_staged(tmp_path / "dry") == []


def test_a_tag_git_refuses_is_refused_before_any_hub_call(hub, staged, store, token_env):
    """An explicit tag with a space used to fail at create_tag, after the whole upload."""
    with pytest.raises(InvalidInputError, match="'my release' is not a valid git tag name"):
        publish(store, REPO, staging=staged.root, restage=False, tag="my release")
    assert sum(hub.counts.values()) == 0


def test_the_default_tag_spells_a_free_text_config_name_as_a_valid_tag(store):
    named = SimpleNamespace(config=SimpleNamespace(name="my release: v2 (draft)"), manifest=store.manifest)
    tag = default_tag(named)
    assert tag.endswith("-my-release-v2-draft-" + store.manifest["config_hash"][:12])
    assert " " not in tag and ":" not in tag
    assert f"-{store.config.name}-" in default_tag(store)  # a plain name is kept as it is


# ---------------------------------------------------------------------- staging never loses a user's files (issue 20)
def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("chaosdata: "), err
    return err


def test_restaging_keeps_files_the_user_added(store, staged_copy, capsys):
    """Rerunning `publish --dry-run DIR` used to delete a LICENSE and a page added since."""
    (staged_copy / "LICENSE").write_text("CC-BY-4.0, mine")
    (staged_copy / "cards" / "notes.md").write_text("# my notes\n")
    lines = []
    stage(store, staged_copy, repo_id=REPO, log=lines.append)
    assert (staged_copy / "LICENSE").read_text() == "CC-BY-4.0, mine"
    assert (staged_copy / "cards" / "notes.md").read_text() == "# my notes\n"
    assert any("left 2 file(s)" in line and "LICENSE" in line for line in lines), lines


def test_restaging_refuses_to_overwrite_a_file_the_user_changed(store, staged_copy, tree):
    page = staged_copy / "cards" / "Lorenz.md"
    page.write_text(page.read_text() + "\nmy own paragraph\n")
    before = tree(staged_copy)
    with pytest.raises(InvalidInputError, match="cards/Lorenz.md"):
        stage(store, staged_copy, repo_id=REPO)
    assert tree(staged_copy) == before


@pytest.mark.parametrize("where", ["store", "."])
def test_staging_into_or_around_the_store_is_refused(store, tmp_path, monkeypatch, capsys, tree, where):
    shutil.copytree(store.path, tmp_path / "store")
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    assert cli(["publish", "store", "--repo-id", REPO, "--dry-run", where]) == 2
    assert "the store" in _one_line(capsys.readouterr().err)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("option, message", [(["--workers", "0"], "workers"),
                                             (["--results", "missing.csv"], "--results")])
def test_publish_dry_run_checks_its_options_before_staging(store, tmp_path, capsys, option, message):
    out = tmp_path / "staged"
    assert cli(["publish", str(store.path), "--repo-id", REPO, "--dry-run", str(out), *option]) == 2
    assert message in _one_line(capsys.readouterr().err)
    assert not out.exists()


def test_a_full_disk_during_staging_is_one_line_and_a_rerun_resumes(store, full_disk, capsys):
    out = full_disk.path / "staged"
    assert cli(["publish", str(store.path), "--repo-id", REPO, "--dry-run", str(out)]) == 1
    err = _one_line(capsys.readouterr().err)
    assert "No space left on device" in err and repr(str(out)) in err and str(store.path) not in err
    full_disk.free()
    assert cli(["publish", str(store.path), "--repo-id", REPO, "--dry-run", str(out)]) == 0
    assert verify_staged(out) == []


def test_an_interrupted_staging_is_resumed(store, tmp_path, monkeypatch, capsys):
    from chaosdata.export import parquet

    real = parquet.split_table

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(parquet, "split_table", interrupted)
    out = tmp_path / "staged"
    assert cli(["publish", str(store.path), "--repo-id", REPO, "--dry-run", str(out)]) == 130
    assert "interrupted" in _one_line(capsys.readouterr().err) and not (out / STAGED_INDEX).exists()
    monkeypatch.setattr(parquet, "split_table", real)
    assert cli(["publish", str(store.path), "--repo-id", REPO, "--dry-run", str(out)]) == 0
    assert verify_staged(out) == []


@pytest.mark.parametrize("text", ["{cut short", '{"config_hash": "x"}'])
def test_a_damaged_staging_record_is_one_line_naming_it(store, staged_copy, capsys, tree, text):
    (staged_copy / STAGED_INDEX).write_text(text)
    before = tree(staged_copy)
    assert cli(["publish", str(store.path), "--repo-id", REPO, "--dry-run", str(staged_copy)]) == 2
    assert STAGED_INDEX in _one_line(capsys.readouterr().err)
    assert tree(staged_copy) == before
