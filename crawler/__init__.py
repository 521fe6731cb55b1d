"""Registry crawler: repository sources, the Registry HTTP API v2 client, the image model; writes the blob store.

Imports only ``common`` (the store, records, digests, media types). Never imports pyspark: the
crawler must run on a laptop with nothing but Python.
"""
