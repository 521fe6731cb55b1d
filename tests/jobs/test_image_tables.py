"""The image tables from crawl records: an unknown layer size stays unknown (null), never -1 summed in."""
from __future__ import annotations

import dataclasses

from common.records import CrawlRecord, LayerRef, RecordLog
from common.storage import LocalBlobStore, StoreConfig
from jobs.image_tables import build_index
from jobs_storekit import add_image, text_layer


def test_unknown_layer_size_is_null_in_both_tables(tmp_path):
    store = str(tmp_path)
    record = add_image(store, RecordLog(store), "demo/app", "v1", [text_layer("a", 3), text_layer("b", 2)])
    known = record.layers[0]
    # a schema1 image: the manifest lists no sizes, the crawl did not learn one for the second layer
    partial = dataclasses.replace(record, compressed_bytes=None,
                                  layers=(known, dataclasses.replace(record.layers[1], size_bytes=None)))
    index = build_index([partial], LocalBlobStore(StoreConfig(url=store)))
    assert index.images.column("compressed_bytes").to_pylist() == [None]
    assert index.image_layers.column("compressed_bytes").to_pylist() == [known.size_bytes, None]
    full = build_index([dataclasses.replace(record, compressed_bytes=None)], LocalBlobStore(StoreConfig(url=store)))
    assert full.images.column("compressed_bytes").to_pylist() == [sum(layer.size_bytes for layer in record.layers)]


def test_records_that_said_minus_one_read_as_unknown():
    line = CrawlRecord(registry="r", repository="x", tag="t", status="ok",
                       layers=(LayerRef("sha256:" + "a" * 64, "m", -1), LayerRef("sha256:" + "b" * 64, "m", 7))).to_json()
    assert [layer.size_bytes for layer in CrawlRecord.from_json(line).layers] == [None, 7]
