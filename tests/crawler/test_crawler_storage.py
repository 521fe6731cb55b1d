"""The local store's part files: live ones are never touched, a dead process's one is adopted and verified."""
from __future__ import annotations

import os
import pickle

import pytest

from common.digest import Digest
from common.storage import DigestMismatch, LocalBlobStore, StoreConfig

DATA = open("/usr/share/common-licenses/GPL-3", "rb").read()
DIGEST = Digest.of_bytes(DATA)


def die(writer) -> None:
    """What SIGKILL leaves: the bytes written so far on disk, the lock released, the part file in place."""
    writer._fh.flush()
    writer._fh.close()


def store(tmp_path) -> LocalBlobStore:
    return LocalBlobStore(StoreConfig(str(tmp_path)))


def test_part_of_a_dead_writer_is_adopted_and_completed(tmp_path):
    s = store(tmp_path)
    first = s.writer(DIGEST, len(DATA))
    first.write(DATA[:10_000])
    die(first)
    second = s.writer(DIGEST, len(DATA), resume=True)
    assert second.resumed_from == second.written == 10_000 and second.temp_path == first.temp_path
    second.write(DATA[10_000:])
    second.commit()
    assert s.read_bytes(DIGEST) == DATA and os.listdir(tmp_path / "tmp") == []


def test_part_of_a_live_writer_is_left_alone(tmp_path):
    s = store(tmp_path)
    live = s.writer(DIGEST, len(DATA))
    live.write(DATA[:5_000])
    other = s.writer(DIGEST, len(DATA), resume=True)
    assert other.resumed_from == 0 and other.temp_path != live.temp_path
    other.write(DATA)
    other.commit()
    live.write(DATA[5_000:])
    live.commit()  # both verified: the same bytes land once
    assert list(s.digests()) == [DIGEST] and os.listdir(tmp_path / "tmp") == []


def test_adopted_part_with_wrong_bytes_fails_verification_and_publishes_nothing(tmp_path):
    s = store(tmp_path)
    first = s.writer(DIGEST, len(DATA))
    first.write(b"X" * 1_000)  # not the blob's first bytes
    die(first)
    second = s.writer(DIGEST, len(DATA), resume=True)
    second.write(DATA[1_000:])
    with pytest.raises(DigestMismatch):
        second.commit()
    assert not s.exists(DIGEST) and os.listdir(tmp_path / "tmp") == []


def test_part_files_are_never_blobs(tmp_path):
    s = store(tmp_path)
    writer = s.writer(DIGEST, len(DATA))
    writer.write(DATA[:100])
    assert list(s.digests()) == [] and not s.exists(DIGEST) and s.size(DIGEST) is None
    writer.abort()
    assert os.listdir(tmp_path / "tmp") == []


def test_local_store_pickles(tmp_path):
    s = store(tmp_path)
    s.put_bytes(DIGEST, DATA)
    assert pickle.loads(pickle.dumps(s)).read_bytes(DIGEST) == DATA
