"""Local image sources into the same store and record log: ``docker save`` archives, OCI layouts, a Docker daemon.

- OCI image layout (a folder, or the same layout inside a tar): manifests and blobs are copied as
  they are, raw bytes kept, so digests match the registry's.
- ``docker save`` archives: the legacy format (``manifest.json`` + ``<id>/layer.tar``) and the
  Docker 25+ format (an OCI layout whose ``index.json`` may list no manifests, with
  ``manifest.json`` naming ``blobs/sha256/...`` paths). Without a stored manifest, a Docker schema2
  manifest is synthesised over the uncompressed layer tars and stored like any other blob.
- A Docker daemon through the ``docker`` SDK: each image is saved (``GET /images/{name}/get``)
  to a temporary archive and imported as above.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tarfile
import tempfile
import time
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable, Optional

from common.errors import CrawlError
from common import mediatypes as mt
from crawler.archivelinks import member_path, resolve_member
from crawler.blobs import BlobLedger
from common.digest import Digest
from crawler.outcomes import ImageError, NotAnImage
from crawler.manifest import Descriptor, ImageIndex, ImageManifest, Platform, parse_manifest, select_platforms
from common.records import CrawlRecord, RecordLog
from crawler.reference import InvalidReference, parse_reference
from crawler.image_record import image_record, platform_of_config
from common.storage import CHUNK, BlobStore

log = logging.getLogger(__name__)

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


class LocalSourceError(CrawlError):
    """A local archive or layout that is not what it claims to be."""


@dataclass(frozen=True)
class ImportResult:
    """Records written by one local import."""

    records: tuple[CrawlRecord, ...]

    @property
    def ok(self) -> int:
        return sum(r.status == "ok" for r in self.records)


Opener = Callable[[str], BinaryIO]  # path inside the layout/archive -> readable file


def split_name(name: str) -> tuple[str, str]:
    """``[host/]repo/name:tag`` -> (repository, tag), normalised like a pull (``ubuntu`` -> ``library/ubuntu``).

    Docker 25+ archives name images ``docker.io/library/x:tag`` and older ones ``x:tag``: both give
    ``library/x``. Names the grammar rejects are kept as written; no tag means ``latest``.
    """
    try:
        ref = parse_reference(name)
        return ref.repository, ref.tag or "latest"
    except InvalidReference:
        head, colon, tail = name.rpartition(":")
        return (head, tail) if colon and "/" not in tail else (name, "latest")


class LocalImporter:
    """Copies images from local sources into ``store`` and appends their records to ``record_log``."""

    def __init__(self, store: BlobStore, record_log: RecordLog,
                 platforms: Optional[tuple[Platform, ...]] = None) -> None:
        self.store, self.log, self.platforms = store, record_log, platforms
        self.ledger = BlobLedger(store)

    # -- blob copying -------------------------------------------------------------------------
    def _copy(self, opener: Opener, path: str, digest: Digest, size: Optional[int]) -> None:
        def fetch() -> int:
            writer = self.store.writer(digest, size)
            try:
                with opener(path) as fh:
                    while chunk := fh.read(CHUNK):
                        writer.write(chunk)
                writer.commit()
            except BaseException:
                writer.abort()
                raise
            return writer.written

        self.ledger.ensure(digest, fetch, size)

    @staticmethod
    def _hash_member(opener: Opener, path: str) -> tuple[Digest, int]:
        h, size = hashlib.sha256(), 0
        with opener(path) as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
        return Digest(h.hexdigest()), size

    def _emit(self, record: CrawlRecord) -> CrawlRecord:
        self.log.append(record)
        if record.status == "error":
            log.warning("%s %s:%s: %s: %s", record.source, record.repository, record.tag, record.error_class,
                        record.error_message)
        return record

    # -- OCI layouts ----------------------------------------------------------------------------
    def _import_layout(self, opener: Opener, source: str, registry: str, default_repo: str,
                       index_doc: dict) -> list[CrawlRecord]:
        records = []
        for entry in index_doc.get("manifests") or []:
            started = time.time()
            annotations = entry.get("annotations") or {}
            name = annotations.get(CONTAINERD_NAME)
            if name:
                repository, tag = split_name(name)
            else:
                repository, tag = default_repo, annotations.get(REF_NAME) or "latest"
            try:
                desc = Descriptor.from_json(entry)
                records += self._import_manifest(opener, desc, source, registry, repository, tag, started)
            except Exception as exc:
                records.append(self._emit(image_record(registry=registry, repository=repository, tag=tag, source=source,
                                                       image=None, started_at=started, error=exc)))
        return records

    def _read_manifest(self, opener: Opener, desc: Descriptor):
        with opener(f"blobs/sha256/{desc.digest.hex}") as fh:
            raw = fh.read()
        manifest = parse_manifest(raw, desc.media_type)
        if manifest.digest != desc.digest:
            raise LocalSourceError(f"manifest blob {desc.digest} hashes to {manifest.digest}")
        self.ledger.put_bytes(manifest.digest, raw)
        return manifest

    def _import_manifest(self, opener: Opener, desc: Descriptor, source: str, registry: str, repository: str,
                         tag: str, started: float) -> list[CrawlRecord]:
        manifest = self._read_manifest(opener, desc)
        if isinstance(manifest, ImageManifest):
            return [self._import_image(opener, manifest, None, None, source, registry, repository, tag, started)]
        records = []
        for child in select_platforms(manifest, self.platforms):
            started = time.time()
            platform = str(child.platform) if child.platform else None
            try:
                image = self._read_manifest(opener, child)
                records.append(self._import_image(opener, image, manifest, platform, source, registry, repository,
                                                  tag, started))
            except Exception as exc:
                records.append(self._emit(image_record(registry=registry, repository=repository, tag=tag, source=source,
                                                       image=None, index=manifest, platform=platform,
                                                       started_at=started, error=exc)))
        return records

    def _import_image(self, opener: Opener, image: ImageManifest, index: Optional[ImageIndex],
                      platform: Optional[str], source: str, registry: str, repository: str, tag: str,
                      started: float, paths: Optional[dict] = None) -> CrawlRecord:
        """Copy config and layers; ``paths`` maps digests to archive paths when they are not ``blobs/sha256/<hex>``."""
        error = None
        reason = image.not_an_image()
        if reason:  # an artifact or attestation in a layout: recorded, nothing copied
            error = NotAnImage(f"{image.media_type} {image.digest} is not an image: {reason}")
        for blob in image.blobs() if error is None else ():
            if blob.foreign:
                continue
            try:
                path = (paths or {}).get(blob.digest) or f"blobs/sha256/{blob.digest.hex}"
                self._copy(opener, path, blob.digest, blob.size_bytes)
            except Exception as exc:
                error = error or exc
        if platform is None and image.config and self.store.exists(image.config.digest):
            platform = platform_of_config(self.store.read_bytes(image.config.digest))
        return self._emit(image_record(registry=registry, repository=repository, tag=tag, source=source, image=image,
                                       index=index, platform=platform, started_at=started, error=error))

    def import_oci_layout(self, path: str, repository: Optional[str] = None) -> ImportResult:
        """Every tagged manifest in an OCI image layout folder."""
        root = os.path.abspath(path)
        try:
            with open(os.path.join(root, "index.json"), encoding="utf-8") as fh:
                index_doc = json.load(fh)
        except (OSError, ValueError) as exc:
            raise LocalSourceError(f"{path} is not an OCI image layout: {exc}") from exc

        def opener(inner: str) -> BinaryIO:
            return open(os.path.join(root, inner), "rb")

        repo = repository or os.path.basename(root.rstrip("/"))
        return ImportResult(tuple(self._import_layout(opener, "oci-layout", "oci-layout", repo, index_doc)))

    # -- docker save archives --------------------------------------------------------------------
    def import_docker_archive_recorded(self, path: str) -> ImportResult:
        """``import_docker_archive``, with an archive that cannot be read at all recorded as one
        ``image_error`` item (repository: the archive's name) instead of raised."""
        started = time.time()
        try:
            return self.import_docker_archive(path)
        except (LocalSourceError, ImageError, OSError, tarfile.TarError, ValueError, KeyError, TypeError,
                AttributeError) as exc:
            error = exc if isinstance(exc, ImageError) else ImageError(f"{path}: {type(exc).__name__}: {exc}")
            return ImportResult((self._emit(image_record(
                registry="docker-archive", repository=os.path.basename(path), tag="", source="docker-archive",
                image=None, started_at=started, error=error)),))

    def import_docker_archive(self, path: str, source: str = "docker-archive",
                              registry: str = "docker-archive") -> ImportResult:
        """Every image in a ``docker save`` tarball (legacy or Docker 25+ OCI-based format)."""
        try:
            tf = tarfile.open(path, "r:*")
        except (OSError, tarfile.TarError) as exc:
            raise LocalSourceError(f"{path} is not a tar archive: {exc}") from exc
        with tf:
            members = {member_path(m.name): m for m in tf.getmembers()}
            names = {n for n, m in members.items() if m.isfile() or m.issym() or m.islnk()}

            def opener(inner: str) -> BinaryIO:
                return tf.extractfile(resolve_member(members, inner, path))

            def load(inner: str):
                with opener(inner) as fh:
                    return json.load(fh)

            index_doc = load("index.json") if "index.json" in names else {}
            if index_doc.get("manifests"):
                default_repo = os.path.splitext(os.path.basename(path))[0]
                return ImportResult(tuple(self._import_layout(opener, source, registry, default_repo, index_doc)))
            if "manifest.json" not in names:
                raise LocalSourceError(f"{path}: neither manifest.json nor an index.json listing manifests")
            records = []
            entries = load("manifest.json")
            if not isinstance(entries, list):
                raise ImageError(f"{path}: manifest.json is not a list of images")
            for entry in entries:
                records += self._import_save_entry_checked(opener, entry, source, registry)
            return ImportResult(tuple(records))

    def _import_save_entry_checked(self, opener: Opener, entry: object, source: str, registry: str) -> list[CrawlRecord]:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise ImageError(f"manifest.json entry is not an image: {entry!r}"[:300])
        return self._import_save_entry(opener, entry, source, registry)

    def _import_save_entry(self, opener: Opener, entry: dict, source: str, registry: str) -> list[CrawlRecord]:
        started = time.time()
        tags = entry.get("RepoTags") or []
        config_digest, config_size = self._hash_member(opener, entry["Config"])
        names = [split_name(t) for t in tags] or [("<none>", config_digest.hex[:12])]
        try:
            paths = {config_digest: entry["Config"]}
            layers = []
            for layer_path in entry.get("Layers") or []:
                digest, size = self._hash_member(opener, layer_path)
                paths[digest] = layer_path
                layers.append({"mediaType": mt.DOCKER_LAYER_TAR, "size": size, "digest": str(digest)})
            synthesized = json.dumps({
                "schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
                "config": {"mediaType": mt.DOCKER_CONFIG, "size": config_size, "digest": str(config_digest)},
                "layers": layers,
            }, indent=3).encode()
            image = parse_manifest(synthesized)
            self.ledger.put_bytes(image.digest, synthesized)
        except Exception as exc:
            return [self._emit(image_record(registry=registry, repository=r, tag=t, source=source, image=None,
                                            started_at=started, error=exc)) for r, t in names]
        return [self._import_image(opener, image, None, None, source, registry, r, t, started, paths)
                for r, t in names]

    # -- Docker daemon ---------------------------------------------------------------------------
    def import_docker_daemon(self, base_url: Optional[str] = None, images: Iterable[str] = ()) -> ImportResult:
        """Images from a Docker daemon (``DOCKER_HOST`` or ``base_url``): the named ones, or every tagged image."""
        import docker

        client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
        try:
            names = list(images) or sorted({t for image in client.images.list() for t in image.tags})
            records: list[CrawlRecord] = []
            for name in names:
                started = time.time()
                repository, tag = split_name(name)
                try:
                    image = client.images.get(name)
                    with tempfile.TemporaryDirectory(prefix="hubscope-daemon-") as tmp:
                        archive = os.path.join(tmp, "image.tar")
                        with open(archive, "wb") as fh:
                            for chunk in image.save(chunk_size=CHUNK, named=name):
                                fh.write(chunk)
                        records += self.import_docker_archive(archive, "docker-daemon", "docker-daemon").records
                except Exception as exc:
                    records.append(self._emit(image_record(registry="docker-daemon", repository=repository, tag=tag,
                                                           source="docker-daemon", image=None, started_at=started,
                                                           error=exc)))
            return ImportResult(tuple(records))
        finally:
            client.close()

