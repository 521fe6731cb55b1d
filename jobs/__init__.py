"""The Spark jobs, each a thin extract -> transform -> load: ``scan`` (blobs -> tables, over the pure
layer scanner), ``stats`` (tables -> results, over ``analyze``) and the sampled ``content_pass``.

Imports ``common`` and ``analyze``'s transforms, never ``crawler`` or ``hubscope``.
"""
