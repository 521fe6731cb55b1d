"""Spark jobs (index, scan, stats), the pure-Python layer scanner and the table contract."""
