"""One image, without Spark: its layers, sizes, file types, duplicates, dive-compatible waste, largest files.

The image is fetched with the crawler's own code (a registry reference, a ``docker save`` archive or
an OCI layout) into a temporary blob store and every layer is streamed through the scan's pure
``scan_layer`` (digest-verified, libmagic typing), so the numbers are the ones ``hubscope scan`` +
``stats`` would give for that image, but in seconds and with no JVM. Waste and efficiency come from
``analyze.waste.dive_waste``, the same function the stats job runs per image (dive's definition).
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Optional

from analyze.entries import Entry
from analyze.package_inventory import summarize_packages
from analyze.waste import dive_waste
from common.digest import Digest
from common.jsonout import schema_name
from common.records import CrawlRecord, latest_records
from common.storage import StoreConfig
from common.stores import open_store

INSPECT_SCHEMA = schema_name("inspect")


@dataclass(frozen=True)
class Source:
    """Where the image comes from: ``kind`` is registry, docker-archive or oci-layout."""

    kind: str
    location: str
    registry: Optional[str] = None

    @staticmethod
    def detect(text: str, registry: Optional[str]) -> "Source":
        """A folder with ``oci-layout`` is a layout, an existing file an archive, anything else a reference."""
        if os.path.isdir(text) and os.path.exists(os.path.join(text, "oci-layout")):
            return Source("oci-layout", text)
        if os.path.isfile(text):
            return Source("docker-archive", text)
        return Source("registry", text, registry)


def fetch(source: Source, workdir: str, platform=None) -> tuple[object, CrawlRecord]:
    """Copy the image into a blob store under ``workdir``; returns the store and the image's record."""
    from crawler.crawl import CrawlOptions, run_crawl
    from crawler.local_import import LocalImporter
    from common.records import RecordLog

    store = open_store(StoreConfig(workdir))
    platforms = (platform,) if platform else CrawlOptions().platforms
    if source.kind == "registry":
        from crawler.targets import parse_target

        host = source.registry.split("://", 1)[1]
        run_crawl(source.registry, store, [parse_target(source.location, host)], records_root=workdir,
                  options=CrawlOptions(platforms=platforms))
    else:
        importer = LocalImporter(store, RecordLog(workdir), platforms)
        if source.kind == "oci-layout":
            importer.import_oci_layout(source.location)
        else:
            importer.import_docker_archive(source.location)
    records = sorted(latest_records(workdir).values(), key=lambda r: (r.status != "ok", r.repository, r.tag))
    if not records:
        raise LookupError(f"no image found in {source.location}")
    return store, records[0]


def _config(store, record: CrawlRecord) -> dict:
    if not record.config_digest:
        return {}
    with store.open_read(Digest.parse(record.config_digest)) as fh:
        return json.load(fh)


def scan_image(store, record: CrawlRecord, typed: bool = True) -> tuple[list[dict], list]:
    """Every layer through the scan's ``scan_layer``: ``(layers rows, files tables)`` base first."""
    from jobs.filetype import FileTyper
    from jobs.layer_scanner import scan_layer

    config = _config(store, record)
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    history = [h for h in config.get("history") or [] if not h.get("empty_layer")]
    typer = FileTyper() if typed else None
    rows, files = [], []
    for index, ref in enumerate(record.layers):
        with store.open_read(Digest.parse(ref.digest)) as fh:
            result = scan_layer(fh, ref.digest, media_type=ref.media_type,
                                diff_id=diff_ids[index] if index < len(diff_ids) else None, typer=typer)
        row = dict(result.layer, layer_index=index,
                   created_by=history[index].get("created_by") if index < len(history) else None)
        rows.append(row)
        files.append(result.files)
    return rows, files


class _ChunkFile:
    """The decompressed tar stream (chunks) as a read-only file for ``tarfile``'s stream mode."""

    def __init__(self, chunks) -> None:
        self.chunks, self.buffer = chunks, b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buffer) < n:
            chunk = next(self.chunks, b"")
            if not chunk:
                break
            self.buffer += chunk
        data, self.buffer = (self.buffer, b"") if n < 0 else (self.buffer[:n], self.buffer[n:])
        return data


MAX_PACKAGE_DB_BYTES = 256 << 20  # a package database larger than this is not read (memory bound)


def read_files(store, digest: str, paths: set[str]) -> dict[str, bytes]:
    """The contents of ``paths`` (normalised, leading ``/``) in one layer blob, streamed once."""
    import posixpath
    import tarfile

    from jobs.decompress import HashingReader, sniff_compression, tar_chunks

    out = {}
    with store.open_read(Digest.parse(digest)) as raw:
        reader = HashingReader(raw)
        chunks = tar_chunks(reader, sniff_compression(reader.peek(512)))
        with tarfile.open(fileobj=_ChunkFile(chunks), mode="r|") as tf:
            for member in tf:
                path = posixpath.normpath("/" + member.name.lstrip("/"))
                if member.isreg() and path in paths and member.size <= MAX_PACKAGE_DB_BYTES:
                    out[path] = tf.extractfile(member).read()
    return out


def packages_of(store, record: CrawlRecord, entries: list[list[Entry]]) -> list[dict]:
    """The image's package inventory: package databases and metadata read from the layer that put them last."""
    from analyze.finalfs import final_tree
    from analyze.package_inventory import inventory, wanted_paths

    tree = final_tree(entries)
    owner = {e.path: i for i, layer in enumerate(entries) for e in layer}
    by_layer: dict[int, set[str]] = defaultdict(set)
    for path in wanted_paths(tree):
        by_layer[owner[path]].add(path)
    contents: dict[str, bytes] = {}
    for index, paths in sorted(by_layer.items()):
        contents.update(read_files(store, record.layers[index].digest, paths))
    return inventory(tree, contents)


def summarize(record: CrawlRecord, layer_rows: list[dict], file_tables: list, top: int = 10,
              packages: Optional[list[dict]] = None) -> dict:
    """The one-image report (``INSPECT_SCHEMA``) from the scanned layers."""
    layers_out, entries, regular = [], [], []
    for row, table in zip(layer_rows, file_tables):
        files = table.to_pylist() if table is not None else []
        entries.append([Entry(f["path"], f["type"], f["size_bytes"] or 0, f["content_sha256"]) for f in files])
        regular += [dict(f, layer_index=row["layer_index"]) for f in files if f["type"] == "reg"]
        layers_out.append({
            "index": row["layer_index"], "digest": row["layer_digest"], "status": row["status"],
            "error": row.get("error_class"), "compression": row.get("compression"),
            "compressed_bytes": row.get("compressed_bytes"), "uncompressed_bytes": row.get("uncompressed_bytes"),
            "files": sum(f["type"] == "reg" for f in files), "created_by": row.get("created_by"),
        })
    waste = dive_waste(entries)
    by_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in regular:
        slot = by_class[f.get("type_class") or "unknown"]
        slot[0] += 1
        slot[1] += f["size_bytes"] or 0
    copies = Counter(f["content_sha256"] for f in regular if f["content_sha256"])
    size_of = {f["content_sha256"]: f["size_bytes"] or 0 for f in regular}
    dup_contents = {d: n for d, n in copies.items() if n > 1}
    largest = sorted(regular, key=lambda f: (-(f["size_bytes"] or 0), f["path"]))[:top]
    return {
        "schema": INSPECT_SCHEMA,
        "image": {"repository": record.repository, "tag": record.tag, "source": record.source,
                  "platform": record.platform, "manifest_digest": record.manifest_digest,
                  "status": record.status, "error": record.error_message},
        "layers": layers_out,
        "totals": {
            "layers": len(layers_out), "layers_error": sum(r["status"] != "ok" for r in layers_out),
            "compressed_bytes": sum(r["compressed_bytes"] or 0 for r in layers_out),
            "uncompressed_bytes": sum(r["uncompressed_bytes"] or 0 for r in layers_out),
            "files": len(regular), "file_bytes": sum(f["size_bytes"] or 0 for f in regular),
        },
        "file_types": [{"type_class": k, "files": v[0], "bytes": v[1]}
                       for k, v in sorted(by_class.items(), key=lambda kv: (-kv[1][1], kv[0]))],
        "duplicates": {
            "contents": len(dup_contents), "extra_copies": sum(n - 1 for n in dup_contents.values()),
            "extra_bytes": sum((n - 1) * size_of[d] for d, n in dup_contents.items()),
        },
        "dive": {"efficiency": waste.efficiency, "wasted_bytes": waste.wasted_bytes, "image_bytes": waste.image_bytes,
                 "user_bytes": waste.user_bytes, "wasted_user_percent": waste.wasted_user_percent,
                 "inefficient_paths": [{"path": w.path, "count": w.count, "cumulative_bytes": w.cumulative_bytes}
                                       for w in waste.inefficient[:top]]},
        "largest_files": [{"path": f["path"], "bytes": f["size_bytes"], "layer_index": f["layer_index"],
                           "type_class": f.get("type_class")} for f in largest],
        "packages": sorted(packages or [], key=lambda p: (p["ecosystem"], p["name"] or "", p["version"] or "")),
        "package_ecosystems": summarize_packages(packages or []),
    }


def inspect(text: str, registry: Optional[str] = None, typed: bool = True, platform=None, top: int = 10) -> dict:
    """Fetch, scan and summarize one image; the temporary store is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hubscope-inspect-") as workdir:
        store, record = fetch(Source.detect(text, registry), workdir, platform)
        if record.status != "ok":
            return summarize(record, [], [], top)
        rows, files = scan_image(store, record, typed)
        entries = [[Entry(f["path"], f["type"], f["size_bytes"] or 0, f["content_sha256"])
                    for f in (t.to_pylist() if t is not None else [])] for t in files]
        return summarize(record, rows, files, top, packages_of(store, record, entries))


def ci_failures(report: dict, min_efficiency: Optional[float], max_waste_bytes: Optional[int]) -> list[str]:
    """The ``dive --ci`` style checks that failed, as sentences (empty when all passed)."""
    dive, out = report["dive"], []
    if min_efficiency is not None and dive["efficiency"] < min_efficiency:
        out.append(f"efficiency {dive['efficiency']:.2%} is below {min_efficiency:.2%}")
    if max_waste_bytes is not None and dive["wasted_bytes"] > max_waste_bytes:
        out.append(f"wasted {dive['wasted_bytes']:,} bytes, more than {max_waste_bytes:,}")
    return out
