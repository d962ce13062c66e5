"""chaosdata.owned: a command replaces or deletes only the files it can prove it wrote."""

from __future__ import annotations

import errno
import json

import pytest

from chaosdata.errors import InvalidInputError
from chaosdata.owned import RECORD, Ledger, refuse_overlap


def _write(ledger: Ledger, rel: str, text: str) -> None:
    with ledger.writing(rel) as tmp:
        tmp.write_text(text)


def test_the_record_is_written_last_and_lists_size_and_checksum(tmp_path):
    ledger = Ledger(tmp_path)
    _write(ledger, "a/one.txt", "1")
    assert not (tmp_path / RECORD).exists() and ledger.journal.endswith(".journal")
    ledger.commit(note="x")
    record = json.loads((tmp_path / RECORD).read_text())
    assert record["note"] == "x" and record["files"]["a/one.txt"]["size"] == 1
    assert not (tmp_path / ledger.journal).exists()


def test_a_stopped_run_is_resumed_from_its_journal(tmp_path):
    first = Ledger(tmp_path)
    _write(first, "one.txt", "1")  # then stopped: no commit
    with (tmp_path / first.journal).open("a") as fh:
        fh.write('["half', )  # a line cut short by a kill
    second = Ledger(tmp_path)
    assert second.exists and second.is_owned("one.txt")
    _write(second, "one.txt", "2")
    assert (tmp_path / "one.txt").read_text() == "2"


def test_a_file_not_written_by_chaosdata_is_refused_by_name(tmp_path):
    (tmp_path / "README.md").write_text("mine")
    with pytest.raises(InvalidInputError, match="README.md would be overwritten, but chaosdata did not write it"):
        Ledger(tmp_path).claim("README.md", "new.txt")
    assert (tmp_path / "README.md").read_text() == "mine"


def test_a_file_changed_since_it_was_written_is_the_users(tmp_path):
    ledger = Ledger(tmp_path)
    _write(ledger, "one.txt", "1")
    ledger.commit()
    (tmp_path / "one.txt").write_text("edited")
    with pytest.raises(InvalidInputError, match="changed since"):
        Ledger(tmp_path).claim("one.txt")


def test_prune_deletes_only_what_an_earlier_run_wrote_unchanged(tmp_path):
    ledger = Ledger(tmp_path)
    for name in ("old.txt", "edited.txt", "kept.txt"):
        _write(ledger, f"d/{name}", name)
    ledger.commit()
    (tmp_path / "d/edited.txt").write_text("changed by the user")
    (tmp_path / "d/mine.txt").write_text("never written by chaosdata")
    (tmp_path / "d/.kept.txt.tmp-999999999").write_text("a killed run's temporary file")
    again = Ledger(tmp_path)
    _write(again, "d/kept.txt", "kept")
    assert again.prune("d") == ["d/.kept.txt.tmp-999999999", "d/old.txt"]
    assert again.left == ["d/edited.txt", "d/mine.txt"]
    record = again.commit()
    assert sorted(record["files"]) == ["d/kept.txt"]
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["edited.txt", "kept.txt", "mine.txt"]


def test_a_record_that_is_not_json_is_refused_by_name(tmp_path):
    (tmp_path / RECORD).write_text("{not json")
    with pytest.raises(InvalidInputError, match=RECORD):
        Ledger(tmp_path)


@pytest.mark.parametrize("text", ['["a list"]', '{"files": []}', '{"note": "x"}'])
def test_a_record_without_a_files_object_is_refused_by_name(tmp_path, text):
    (tmp_path / RECORD).write_text(text)
    with pytest.raises(InvalidInputError, match=f"{RECORD} holds no `files` object"):
        Ledger(tmp_path)


@pytest.mark.parametrize("out, where", [("store", "is"), ("store/Lorenz", "lies inside"), (".", "contains")])
def test_an_output_folder_overlapping_the_store_is_refused(tmp_path, out, where):
    (tmp_path / "store" / "Lorenz").mkdir(parents=True)
    with pytest.raises(InvalidInputError, match=f"{where} the store"):
        refuse_overlap(tmp_path / out, tmp_path / "store")
    refuse_overlap(tmp_path / "exports", tmp_path / "store")  # a sibling is fine


def test_a_full_disk_names_the_output_folder(tmp_path):
    ledger = Ledger(tmp_path)
    with (pytest.raises(OSError, match="No space left on device writing a.txt under the output folder") as err,
          ledger.writing("a.txt")):
        raise OSError(errno.ENOSPC, "No space left on device", "/the/source/store/file")
    assert err.value.filename == str(tmp_path) and err.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
