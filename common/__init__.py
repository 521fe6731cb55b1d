"""The bottom layer every stage imports and that imports no stage.

The contracts between stages live here: the tables (``schemas``, ``tables`` for committing,
``table_read`` for reading), the crawl records (``records``), the blob store (``storage``,
``storage_s3``, ``stores``), digests, media types, the error classes and the trace formats
(``traces``). Nothing here imports ``crawler``, ``traces``, ``jobs``, ``analyze`` or ``hubscope``.
"""
