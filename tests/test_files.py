"""A file rnnlab rewrites is replaced whole or not at all."""

from __future__ import annotations

import pytest

from rnnlab.files import write_atomically, write_text_atomically


@pytest.mark.parametrize("durable", [True, False])
def test_the_new_content_replaces_the_old_and_no_temp_file_is_left(tmp_path, durable):
    path = tmp_path / "metrics.jsonl"
    path.write_text("old\n")
    write_text_atomically(path, "new\n", durable=durable)
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]


def test_a_write_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "last.npz"
    path.write_bytes(b"old")

    def half_then_fail(f):
        f.write(b"ne")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as raised:
        write_atomically(path, half_then_fail, durable=True)
    assert raised.value.filename == str(path)  # storage_error names the file
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["last.npz"]
