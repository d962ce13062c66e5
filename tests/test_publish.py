"""Staging and publishing: the staged folder loads with the real `datasets` equal to the store,
passes its own verification (which catches tampering, broken links, folder limits and a leaked
token), and `publish` against an `HfApi` test double makes the right calls, never shows the
token, resumes an interrupted upload, and uploads nothing from a store that fails verification."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from chaosdata.cli import main as cli
from chaosdata.errors import InvalidInputError
from chaosdata.export import config_name
from chaosdata.publish import PublishError, default_tag, parse_repo_id, publish, stage, staged_index, verify_staged
from chaosdata.publish.hub import git_blob_id
from chaosdata.publish.stage import STAGED_INDEX
from chaosdata.publish.verify import folder_entries
from chaosdata.store import build, open_store
from chaosdata.store.config import SPLITS, parse_config
from test_store import raw_tiny

# a flow, a delay equation and a map, one granularity (maps: iteration): the tiny store of
# tests/test_store.py with its own name and seed
CONFIG = raw_tiny(name="publish-test", seed=5, length=3, map_length=60,
                  granularities={"fine": {"timescale": "period", "points": 60}})
SYSTEMS = ("Lorenz", "Henon", "MackeyGlass")
HF = {"train": "train", "val": "validation", "test": "test"}
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
                                     "o/", "-o/x", "o/" + "x" * 97, None, 3])
def test_malformed_repo_ids(repo_id):
    with pytest.raises(InvalidInputError, match="repo_id must be OWNER/NAME"):
        parse_repo_id(repo_id)


# ---------------------------------------------------------------------- the staged folder
def test_staged_folder_passes_verification(staged):
    assert verify_staged(staged.root) == []


def test_staged_folder_holds_store_exports_cards_metadata(staged, store):
    root = staged.root
    for rel in ("README.md", "manifest.json", "zarr.json", "metadata/catalogue.json", "metadata/invariants.json",
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
            ds = datasets.load_dataset(str(staged.root), config_name(system, gran), split=HF[split],
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
    stage(store, staged_copy, repo_id=REPO, systems=["Henon"])  # a subset: the other systems' files go
    index = staged_index(staged_copy)
    assert index["systems"] == ["Henon"]
    assert not (staged_copy / "Lorenz").exists() and not (staged_copy / "data" / "Lorenz").exists()
    assert all(before[p] == e["sha256"] for p, e in index["files"].items() if p.startswith(("Henon/", "data/Henon/")))
    assert verify_staged(staged_copy) == []


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


def _extra_file(root: Path) -> str:
    (root / "notes.txt").write_text("x")
    return "notes.txt: not part of the staging"


def _bad_card(root: Path) -> str:
    text = (root / "README.md").read_text().replace("path: data/Henon/iteration/test-", "path: data/Henon/iteration/tst-")
    (root / "README.md").write_text(text)
    return "config 'Henon_iteration' split 'test': no file"


@pytest.mark.parametrize("damage", [_tamper_parquet, _break_link, _leak_token, _extra_file, _bad_card])
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


# ---------------------------------------------------------------------- publish against a test double
class FakeHub:
    """An `HfApi` double: records every call and keeps the repo's files; `fail_after` makes
    upload_folder commit that many files, then raise as a dropped connection would."""

    def __init__(self, fail_after: int | None = None, fail: Exception | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.remote: dict[str, bytes] = {}
        self.tags: list[str] = []
        self.fail_after = fail_after
        self.fail = fail

    def _record(self, name, **kwargs):
        self.calls.append((name, kwargs))
        if self.fail is not None:
            raise self.fail

    def names(self):
        return [c[0] for c in self.calls]

    def create_repo(self, repo_id, **kwargs):
        self._record("create_repo", repo_id=repo_id, **kwargs)
        return f"https://huggingface.co/datasets/{repo_id}"

    def list_repo_tree(self, repo_id, **kwargs):
        self._record("list_repo_tree", repo_id=repo_id, **kwargs)
        for path, blob in self.remote.items():
            lfs = SimpleNamespace(sha256=hashlib.sha256(blob).hexdigest()) if path.endswith(".parquet") else None
            yield SimpleNamespace(path=path, size=len(blob), lfs=lfs,
                                  blob_id=hashlib.sha1(b"blob %d\0" % len(blob) + blob).hexdigest())

    def upload_folder(self, **kwargs):
        self._record("upload_folder", **kwargs)
        root = Path(kwargs["folder_path"])
        for i, rel in enumerate(sorted(kwargs["allow_patterns"])):
            if self.fail_after is not None and i >= self.fail_after:
                self.fail_after = None
                raise ConnectionError("connection reset by peer")
            self.remote[rel] = (root / rel).read_bytes()

    def create_tag(self, repo_id, **kwargs):
        self._record("create_tag", repo_id=repo_id, **kwargs)
        self.tags.append(kwargs["tag"])


def _all_staged(root: Path) -> set[str]:
    return set(staged_index(root)["files"]) | {STAGED_INDEX}


def test_publish_interrupted_then_resumed(staged, store, token_env, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    hub = FakeHub(fail_after=40)
    with pytest.raises(PublishError, match="cannot reach the Hugging Face Hub.*Rerun to resume"):
        publish(store, REPO, staging=staged.root, restage=False, api=hub, log=print)
    assert len(hub.remote) == 40
    first = dict(hub.remote)

    report = publish(store, REPO, staging=staged.root, restage=False, api=hub, log=print, private=True)
    assert set(hub.remote) == _all_staged(staged.root)
    assert all(hub.remote[p] == (staged.root / p).read_bytes() for p in hub.remote)
    uploads = [kw for name, kw in hub.calls if name == "upload_folder"]
    assert set(uploads[1]["allow_patterns"]) == _all_staged(staged.root) - set(first)  # only what was missing
    assert report.skipped == 40 and len(report.uploaded) == len(_all_staged(staged.root)) - 40

    create = [kw for name, kw in hub.calls if name == "create_repo"][-1]
    assert create["repo_id"] == REPO and create["repo_type"] == "dataset" and create["exist_ok"] is True
    assert create["private"] is True and create["token"] == TOKEN
    assert uploads[1]["repo_type"] == "dataset" and uploads[1]["folder_path"] == str(staged.root)
    assert hub.tags == [default_tag(store)] and store.manifest["config_hash"][:12] in hub.tags[0]

    assert [kw for name, kw in hub.calls if name == "create_tag"][-1]["exist_ok"] is True

    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err + caplog.text
    assert verify_staged(staged.root, secrets=[TOKEN]) == []


@pytest.mark.parametrize("changed", [[], ["README.md", "cards/Lorenz.md"]])
def test_only_changed_files_are_uploaded_again(staged, store, token_env, changed):
    hub = FakeHub()
    hub.remote = {p: (staged.root / p).read_bytes() for p in _all_staged(staged.root)}
    for p in changed:
        hub.remote[p] = hub.remote[p] + b" "  # an older version on the Hub
    report = publish(store, REPO, staging=staged.root, restage=False, api=hub)
    uploads = [kw for name, kw in hub.calls if name == "upload_folder"]
    assert [sorted(kw["allow_patterns"]) for kw in uploads] == ([changed] if changed else [])
    assert sorted(report.uploaded) == changed
    assert hub.tags == [default_tag(store)]


def test_git_blob_id_matches_git(tmp_path):
    (tmp_path / "f").write_bytes(b"hello\n")
    assert git_blob_id(tmp_path / "f") == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object`


def test_no_token(store, staged, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    hub = FakeHub()
    with pytest.raises(PublishError, match="no Hugging Face token: set HF_TOKEN"):
        publish(store, REPO, staging=staged.root, restage=False, api=hub)
    assert hub.calls == []


def test_no_network_with_the_real_client(store, staged, token_env):
    from huggingface_hub import HfApi

    api = HfApi(endpoint="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(PublishError, match="cannot reach the Hugging Face Hub") as err:
        publish(store, REPO, staging=staged.root, restage=False, api=api)
    assert TOKEN not in str(err.value)


def test_refused_token_is_not_shown(store, staged, token_env):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    response = httpx2.Response(401, request=httpx2.Request("POST", "https://huggingface.co/api/repos/create"))
    hub = FakeHub(fail=HfHubHTTPError(f"401 Unauthorized for token {TOKEN}", response=response))
    with pytest.raises(PublishError, match="token was refused") as err:
        publish(store, REPO, staging=staged.root, restage=False, api=hub)
    assert TOKEN not in str(err.value)


def test_malformed_repo_id_uploads_nothing(store, token_env):
    hub = FakeHub()
    with pytest.raises(InvalidInputError, match="OWNER/NAME"):
        publish(store, "not a repo", api=hub)
    assert hub.calls == []


def test_store_failing_verification_uploads_nothing(store, token_env, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(store.path, damaged)
    manifest = json.loads((damaged / "manifest.json").read_text())
    rel = sorted(manifest["systems"]["Lorenz"]["files"])[-1]
    (damaged / "Lorenz" / rel).write_bytes(b"not the data")
    hub = FakeHub()
    with pytest.raises(PublishError, match="fails verification.*nothing was staged or uploaded"):
        publish(damaged, REPO, staging=tmp_path / "staging", api=hub)
    assert hub.calls == []
    assert not (tmp_path / "staging").exists()


def test_no_restage_refuses_another_release(store, staged, token_env, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(staged.root, other)
    index = json.loads((other / STAGED_INDEX).read_text())
    index["config_hash"] = "0" * 64
    (other / STAGED_INDEX).write_text(json.dumps(index))
    with pytest.raises(PublishError, match="holds release config 000000000000"):
        publish(store, REPO, staging=other, restage=False, api=FakeHub())


@pytest.mark.slow
def test_stage_with_hdf5(store, tmp_path):
    import h5py

    report = stage(store, tmp_path / "h5", repo_id=REPO, systems=["Henon"], hdf5=True)
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


def test_a_tag_git_refuses_is_refused_before_any_hub_call(staged, store, token_env):
    """An explicit tag with a space used to fail at create_tag, after the whole upload."""
    hub = FakeHub()
    with pytest.raises(InvalidInputError, match="'my release' is not a valid git tag name"):
        publish(store, REPO, staging=staged.root, restage=False, api=hub, tag="my release")
    assert hub.calls == []


def test_the_default_tag_spells_a_free_text_config_name_as_a_valid_tag(store):
    named = SimpleNamespace(config=SimpleNamespace(name="my release: v2 (draft)"), manifest=store.manifest)
    tag = default_tag(named)
    assert tag.endswith("-my-release-v2-draft-" + store.manifest["config_hash"][:12])
    assert " " not in tag and ":" not in tag
    assert f"-{store.config.name}-" in default_tag(store)  # a plain name is kept as it is
