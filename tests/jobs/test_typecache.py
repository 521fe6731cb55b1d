"""The node-local type cache: workers on one machine never pay libmagic twice for one content."""
import magic

from jobs.filetype import FileTyper, shared_typer
from jobs.typecache import COMMIT_EVERY, SharedTypeCache, open_shared_cache

ELF_HEAD = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x03\0>\0" + b"\0" * 200
DIGEST = "sha256:" + "ab" * 32


def test_second_worker_reuses_the_first_workers_answer(tmp_path):
    version = str(magic.version())
    first = FileTyper(shared=SharedTypeCache(str(tmp_path), version))
    second = FileTyper(shared=SharedTypeCache(str(tmp_path), version))  # another process, same machine
    answer = first.type_of(DIGEST, ELF_HEAD)
    first.flush()
    assert second.type_of(DIGEST, b"ignored: the digest decides") == answer
    assert (first.calls, second.calls, second.hits) == (1, 0, 1)
    assert answer[2] == "executable"


def test_answers_stay_private_until_flushed_or_batch_full(tmp_path):
    version = str(magic.version())
    writer = SharedTypeCache(str(tmp_path), version)
    reader = SharedTypeCache(str(tmp_path), version)
    writer.put(DIGEST, "data", "application/octet-stream")
    assert reader.get(DIGEST) is None
    for i in range(COMMIT_EVERY - 1):
        writer.put(f"sha256:{i:064x}", "empty", "inode/x-empty")
    assert reader.get(DIGEST) == ("data", "application/octet-stream")


def test_one_cache_file_per_libmagic_version(tmp_path):
    a = SharedTypeCache(str(tmp_path), "544")
    b = SharedTypeCache(str(tmp_path), "545")
    a.put(DIGEST, "data", "application/octet-stream")
    a.flush()
    assert b.get(DIGEST) is None
    assert a.path != b.path


def test_off_disables_the_shared_cache(tmp_path, monkeypatch):
    assert open_shared_cache("544", "off") is None
    monkeypatch.setenv("HUBSCOPE_TYPE_CACHE", "off")
    assert open_shared_cache("544") is None
    monkeypatch.setenv("HUBSCOPE_TYPE_CACHE", str(tmp_path))
    assert open_shared_cache("544").path.startswith(str(tmp_path))


def test_unusable_cache_folder_falls_back_to_no_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert open_shared_cache("544", str(blocker / "sub")) is None


def test_shared_typer_follows_the_configured_folder(tmp_path):
    one = shared_typer(str(tmp_path / "a"))
    assert shared_typer(str(tmp_path / "a")) is one
    other = shared_typer(str(tmp_path / "b"))
    assert other is not one
    assert other.shared.path.startswith(str(tmp_path / "b"))
