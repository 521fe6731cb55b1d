"""Registry crawler: repository sources, the Registry HTTP API v2 client, the image model and the blob store.

Never imports pyspark: the crawler must run on a laptop with nothing but Python.
"""
