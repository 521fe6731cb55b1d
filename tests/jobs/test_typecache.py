"""The node-local type cache: workers on one machine never pay libmagic twice for one content."""
import magic
import pytest

from jobs.filetype import FileTyper, shared_typer
from jobs.layer_scanner import _Rows
from jobs.typecache import BUSY, CLAIMED, SharedTypeCache, open_shared_cache
from jobs_layerkit import gz, member, rows, scan, sha, tar_of

ELF_HEAD = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x03\0>\0" + b"\0" * 200
DIGEST = "sha256:" + "ab" * 32


def test_second_worker_reuses_the_first_workers_answer(tmp_path):
    version = str(magic.version())
    first = FileTyper(shared=SharedTypeCache(str(tmp_path), version))
    second = FileTyper(shared=SharedTypeCache(str(tmp_path), version))  # another process, same machine
    answer = first.type_of(DIGEST, ELF_HEAD)
    assert second.type_of(DIGEST, b"ignored: the digest decides") == answer
    assert (first.calls, second.calls, second.hits) == (1, 0, 1)
    assert answer[2] == "executable"


def test_first_claim_wins_and_the_answer_is_visible_at_once(tmp_path):
    version = str(magic.version())
    a, b = SharedTypeCache(str(tmp_path), version), SharedTypeCache(str(tmp_path), version)
    assert a.claim(DIGEST) == CLAIMED
    assert b.claim(DIGEST) == BUSY and a.claim(DIGEST) == BUSY  # a claim is a claim, whoever asks
    assert b.get(DIGEST) is None
    a.put(DIGEST, "data", "application/octet-stream")
    assert b.claim(DIGEST) == ("data", "application/octet-stream") == b.get(DIGEST)


def test_a_claim_left_by_a_killed_worker_is_typed_by_the_next_one(tmp_path):
    version = str(magic.version())
    SharedTypeCache(str(tmp_path), version).claim(DIGEST)  # the claimant dies before answering
    later = FileTyper(shared=SharedTypeCache(str(tmp_path), version))
    assert later.type_of(DIGEST, ELF_HEAD, defer=True) is None  # someone may still be on it
    answer = later.type_of(DIGEST, ELF_HEAD)  # no longer: type it here
    assert answer[2] == "executable" and (later.calls, later.deferred) == (1, 1)
    assert SharedTypeCache(str(tmp_path), version).get(DIGEST) == answer[:2]


def test_a_broken_cache_costs_time_never_the_answer(tmp_path):
    cache = SharedTypeCache(str(tmp_path), str(magic.version()))
    cache._db.close()  # any sqlite3 error from here on
    typer = FileTyper(shared=cache)
    assert typer.type_of(DIGEST, ELF_HEAD, defer=True)[2] == "executable"
    assert cache.get(DIGEST) is None and cache.claim(DIGEST) == CLAIMED


SCRIPT = b"#!/bin/sh\necho hi\n"
TEXT = b"plain words\n" * 20


def _layer() -> bytes:
    import tarfile

    return gz(tar_of([
        member("bin/run", SCRIPT, mode=0o755),
        member("doc/a.txt", TEXT),
        member("bin/run-again", type=tarfile.LNKTYPE, linkname="bin/run"),
        member("doc/b.txt", TEXT),
        member("lib/x.so", ELF_HEAD),
    ]))


COLUMNS = ("path", "content_sha256", "magic_description", "magic_mime", "type_class", "type_fine")


def test_contents_another_worker_is_typing_are_typed_before_the_rows_are_written(tmp_path, monkeypatch):
    version = str(magic.version())
    alone = scan(_layer(), typer=FileTyper()).files.select(COLUMNS)
    other = SharedTypeCache(str(tmp_path), version)  # a second worker, busy on two of the contents
    for content in (SCRIPT, TEXT):
        assert other.claim(sha(content)) == CLAIMED
    typer = FileTyper(shared=SharedTypeCache(str(tmp_path), version))
    answered = []

    def other_worker_answers(self):  # by the time rows are written, the other worker has answered
        for content in (SCRIPT, TEXT):
            other.put(sha(content), *alone_answer(alone, sha(content)))
        answered.append(len(self.deferred))
        return real_resolve(self)

    real_resolve = _Rows._resolve
    monkeypatch.setattr(_Rows, "_resolve", other_worker_answers)
    shared = scan(_layer(), typer=typer).files.select(COLUMNS)
    assert shared.equals(alone)
    # run, a.txt, the hardlink to run and b.txt waited; only x.so was typed here
    assert answered == [4] and typer.calls == 1 and typer.deferred >= 2


def alone_answer(table, digest) -> tuple:
    """(description, mime) of ``digest`` in a files table."""
    for d, desc, mime in zip(*(table.column(c).to_pylist() for c in ("content_sha256", "magic_description", "magic_mime"))):
        if d == digest:
            return desc, mime
    raise KeyError(digest)


@pytest.mark.parametrize("batch_rows", [1, 2, 1 << 16])
def test_deferred_contents_resolve_in_every_batch_and_across_batches(tmp_path, monkeypatch, batch_rows):
    """A deferred content whose claimant never answers is typed here; a hardlink to it in a later
    batch still gets its typing."""
    version = str(magic.version())
    alone = scan(_layer(), typer=FileTyper()).files.select(COLUMNS)
    stuck = SharedTypeCache(str(tmp_path), version)
    stuck.claim(sha(SCRIPT))  # and never answers
    monkeypatch.setattr(_Rows, "BATCH_ROWS", batch_rows)
    typer = FileTyper(shared=SharedTypeCache(str(tmp_path), version))
    assert scan(_layer(), typer=typer).files.select(COLUMNS).equals(alone)
    assert typer.calls == 3 and stuck.get(sha(SCRIPT)) == alone_answer(alone, sha(SCRIPT))


def test_one_cache_file_per_libmagic_version(tmp_path):
    a = SharedTypeCache(str(tmp_path), "544")
    b = SharedTypeCache(str(tmp_path), "545")
    a.put(DIGEST, "data", "application/octet-stream")
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


def test_each_head_size_has_its_own_shared_cache(tmp_path):
    """An answer depends on how much of the file libmagic saw: a cache filled with 2 KiB heads must not
    answer a scan that types 16 KiB heads."""
    small = shared_typer(str(tmp_path), 2048)
    large = shared_typer(str(tmp_path), 16384)
    assert (small.head_bytes, large.head_bytes) == (2048, 16384)
    assert small.shared.path != large.shared.path and large.shared.path.endswith("-head16384.sqlite")
    line = b"a" * 3000 + b"\n"  # one line longer than the 2 KiB head
    result_small = scan(gz(tar_of([member("long.txt", line)])), typer=FileTyper(head_bytes=2048))
    result_large = scan(gz(tar_of([member("long.txt", line)])), typer=FileTyper(head_bytes=16384))
    [(desc_small, cls_small)] = rows(result_small, "magic_description", "type_class")
    [(desc_large, cls_large)] = rows(result_large, "magic_description", "type_class")
    assert desc_small == "ASCII text, with very long lines (2048), with no line terminators"
    assert desc_large == "ASCII text, with very long lines (3000)"
    assert cls_small == cls_large == "document"


def _open_in_child(directory: str, start, results) -> None:
    start.wait()
    try:
        SharedTypeCache(directory, "544").claim(DIGEST)
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
        results.put(repr(exc))


def test_workers_opening_a_new_cache_together_all_get_it(tmp_path):
    """SQLite refuses all but one concurrent switch of a new file to WAL; without retries about a
    fifth of workers starting together ran without the shared cache."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    outcomes = []
    for round_ in range(20):
        (tmp_path / str(round_)).mkdir()
        start = ctx.Event()
        procs = [ctx.Process(target=_open_in_child, args=(str(tmp_path / str(round_)), start, results)) for _ in range(3)]
        for proc in procs:
            proc.start()
        start.set()
        outcomes += [results.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join()
    assert outcomes == ["ok"] * 60


def test_a_write_lock_held_by_another_worker_is_waited_out(tmp_path):
    import sqlite3
    import threading

    version = str(magic.version())
    cache = SharedTypeCache(str(tmp_path), version)
    holder = sqlite3.connect(cache.path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another worker mid-write
    threading.Timer(0.2, holder.execute, args=("COMMIT",)).start()
    assert cache.claim(DIGEST) == CLAIMED  # waited, then claimed
    assert cache._db is not None


def test_a_lock_held_too_long_drops_the_cache_not_the_scan(tmp_path, monkeypatch):
    import sqlite3

    import jobs.typecache as typecache

    monkeypatch.setattr(typecache, "BUSY_GIVE_UP_S", 0.05)
    cache = SharedTypeCache(str(tmp_path), str(magic.version()))
    holder = sqlite3.connect(cache.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    typer = FileTyper(shared=cache)
    assert typer.type_of(DIGEST, ELF_HEAD, defer=True)[2] == "executable"
    assert cache._db is None  # typed without the cache from here on
    holder.execute("COMMIT")
