"""notebooks/explore.ipynb runs clean on the hand-built corpus, and is stored without outputs."""
from __future__ import annotations

import os

import nbformat
from nbclient import NotebookClient

NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "notebooks", "explore.ipynb")


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_notebook_runs_on_the_corpus(corpus_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOPE_TABLES", corpus_dir)
    monkeypatch.setenv("HUBSCOPE_SPARK_MASTER", "local[1]")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the two figures
    # the SQL dedup query on the corpus: 7 files, 4 unique, 110 of 265 bytes removable
    table = nb.cells[9].outputs[-1]["data"]["text/plain"]
    assert "7" in table and "0.415094" in table
