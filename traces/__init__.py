"""Registry workload traces: the synthetic generator and the trace player (warmup, run).

A stage beside ``crawler/``: it talks to registries, reads only ``common/``, imports no other stage.
"""
