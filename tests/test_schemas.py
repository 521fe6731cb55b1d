"""The table contract: names, types and the version marker every writer and reader relies on."""
import pyarrow as pa
import pytest

from common import schemas


def test_four_tables_are_defined():
    assert set(schemas.TABLES) == {"images", "image_layers", "layers", "files"}


@pytest.mark.parametrize("name", sorted(schemas.TABLES))
def test_every_table_carries_the_schema_version(name):
    assert schemas.TABLES[name].metadata[b"hubscope.schema_version"] == schemas.SCHEMA_VERSION.encode()


@pytest.mark.parametrize("name", sorted(schemas.TABLES))
def test_sizes_are_int64_and_named_bytes(name):
    for field in schemas.TABLES[name]:
        if field.name.endswith("_bytes"):
            assert field.type == pa.int64(), field.name


def test_files_table_keys_and_digest_columns():
    files = schemas.FILES
    assert not files.field("layer_digest").nullable
    assert not files.field("entry_index").nullable
    assert files.field("path_raw").type == pa.binary()
    assert files.field("content_sha256").type == pa.string()


def test_spark_ddl_lists_every_column_in_order():
    ddl = schemas.spark_ddl("layers")
    names = [part.strip().split(" ")[0].strip("`") for part in ddl.split(",")]
    assert names == schemas.LAYERS.names
    assert "`compressed_bytes` bigint" in ddl
    assert "`scanned_at` timestamp" in ddl


def test_spark_ddl_parses_in_spark(spark):
    from pyspark.sql.types import StructType

    for name in schemas.TABLES:
        struct = StructType.fromDDL(schemas.spark_ddl(name))
        assert [f.name for f in struct.fields] == schemas.TABLES[name].names


def test_empty_table_has_the_schema():
    table = schemas.empty_table("images")
    assert table.num_rows == 0
    assert table.schema.equals(schemas.IMAGES, check_metadata=True)
