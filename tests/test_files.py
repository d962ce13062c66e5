"""chaosdata.files: the one hash of a file's bytes."""

from __future__ import annotations

import hashlib

from chaosdata.files import BLOCK, file_entry, sha256_file


def test_a_file_longer_than_one_read_hashes_as_its_whole_bytes(tmp_path):
    data = bytes(range(256)) * (BLOCK // 256 * 2 + 3)  # two blocks and a part
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path) == sha256_file(str(path)) == hashlib.sha256(data).hexdigest()
    assert file_entry(path) == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_an_empty_file_hashes_as_no_bytes(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
