"""Files replaced whole (`chaosdata.atomic`): the old file or the new one, never half of one."""

import os

import pytest

from chaosdata.atomic import TMP_MARK, replacing, temporary_name, write_text
from chaosdata.store.manifest import stale_temporaries


def test_replacing_renames_onto_the_target_and_makes_its_folder(tmp_path):
    target = tmp_path / "a" / "b" / "x.json"
    with replacing(target) as tmp:
        assert tmp.parent == target.parent and tmp.name == f".x.json{TMP_MARK}{os.getpid()}"
        tmp.write_text("new")
        assert not target.exists()  # nothing at the target until the writer is done
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json"]


@pytest.mark.parametrize("fsync", [False, True])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, fsync):
    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with replacing(target, fsync=fsync) as tmp:
            tmp.write_text("half of the ne")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_write_text_replaces_whole_and_is_utf8(tmp_path):
    target = tmp_path / "card.md"
    target.write_text("an older, longer card")
    write_text(target, "λ₁ = 0.906\n")
    assert target.read_bytes() == "λ₁ = 0.906\n".encode("utf-8")


def test_a_killed_manifest_write_is_found_as_stale(tmp_path):
    """A writer killed mid-write leaves its temporary name: the store's cleanup must find it."""
    left = temporary_name(tmp_path / "manifest.json")
    left.write_text("{")
    assert stale_temporaries(tmp_path) == [left]
