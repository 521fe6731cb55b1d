"""dive-compatible per-image waste: a pure function over the image's layers, as dive computes it.

Definition (``../shared/REFERENCE.md``, dive ``filetree/efficiency.go``): every layer is a file tree
(tar entries plus the parent directories they imply, which carry no size); each *leaf* of each
layer's tree is visited. A path's cumulative size is the sum of its sizes over every layer where it
is a leaf, its min size the smallest. A path visited in two or more layers is inefficient; wasted
bytes are the sum of the cumulative sizes of those paths (the surviving copy counts too).
A whiteout of a file adds its path again with size 0, so the deleted bytes become waste; a whiteout
of a directory is charged the removed subtree's size (from the layers below, stacked) once, which
lowers efficiency but is not waste by itself; opaque-directory markers are not nodes (their
directory is). Efficiency = sum of min sizes / sum of cumulative sizes (1.0 when nothing has size).
Image size = sum of layer sizes (tar header sizes), user size = image size minus layer 0.
A hardlink's tar header size is 0, whatever size the files table copies from its target.

Where dive's code errors (a whiteout of a path absent below), dive stops visiting that layer; we
charge size 0 and go on, so one odd entry cannot hide the rest of the layer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Optional, Sequence

from analyze.entries import Entry, ancestors, parent, under, whiteout_target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PathWaste:
    """One inefficient path: how many layers visit it and its cumulative size."""

    path: str
    count: int
    cumulative_bytes: int


@dataclass(frozen=True)
class DiveResult:
    """dive's image-level numbers."""

    efficiency: float
    wasted_bytes: int
    image_bytes: int
    user_bytes: int
    wasted_user_percent: Optional[float]
    inefficient: tuple[PathWaste, ...] = field(default_factory=tuple)


def header_size(e: Entry) -> int:
    """The entry's tar header size, which is what dive sums: 0 for hardlinks (the scan copies the
    target's size into ``size_bytes``), 0 when unknown."""
    return 0 if e.type == "hardlink" else (e.size_bytes or 0)


@dataclass
class _Node:
    size: int
    is_dir: bool
    whiteout: bool = False
    implied: bool = False

    @property
    def may_have_children(self) -> bool:
        return self.is_dir or self.implied


def _layer_tree(entries: Sequence[Entry]) -> dict[tuple[str, bool], _Node]:
    """dive's tree of one layer: ``(path, is_whiteout) -> node``; implied parents have size 0."""
    nodes: dict[tuple[str, bool], _Node] = {}

    def imply(path: str) -> None:
        for anc in ancestors(path):
            nodes.setdefault((anc, False), _Node(0, False, implied=True))

    for e in entries:
        if e.type == "opaque_whiteout":
            target = whiteout_target(e)
            imply(target + "/x")  # the marker's directory exists in the tree, the marker does not
            continue
        if e.type == "whiteout":
            target = whiteout_target(e)
            imply(target)
            nodes[(target, True)] = _Node(header_size(e), False, whiteout=True)
            continue
        imply(e.path)
        nodes[(e.path, False)] = _Node(header_size(e), e.type == "dir")
    return nodes


def _leaves(nodes: dict[tuple[str, bool], _Node]) -> list[tuple[str, _Node]]:
    has_children = {parent(path) for path, _ in nodes}
    return [(path, n) for (path, wh), n in nodes.items() if wh or path not in has_children]


def _stack(stacked: dict[str, _Node], nodes: dict[tuple[str, bool], _Node]) -> None:
    """dive's ``Stack``: whiteouts remove subtrees, every other node (implied ones too) is written over."""
    for (path, wh), _ in sorted(nodes.items()):
        if not wh or path not in stacked:
            continue
        if stacked.pop(path).may_have_children:
            for p in [p for p in stacked if under(p, path)]:
                del stacked[p]
    for (path, wh), n in nodes.items():
        if not wh:
            stacked[path] = _Node(n.size, n.is_dir, implied=n.implied)


def dive_waste(layers: Sequence[Sequence[Entry]]) -> DiveResult:
    """dive's efficiency, wasted bytes and inefficient paths for an image (layers base first)."""
    cumulative: dict[str, int] = {}
    minimum: dict[str, int] = {}
    count: dict[str, int] = {}
    stacked: dict[str, _Node] = {}
    layer_sizes = [sum(header_size(e) for e in layer) for layer in layers]
    for layer in layers:
        nodes = _layer_tree(layer)
        for path, node in _leaves(nodes):
            size = node.size
            if node.whiteout:
                below = stacked.get(path)
                if below is None:
                    log.debug("whiteout of %s, which no lower layer has", path)
                elif below.is_dir:
                    size = sum(n.size for p, n in stacked.items() if under(p, path))
            cumulative[path] = cumulative.get(path, 0) + size
            minimum[path] = min(minimum.get(path, size), size)
            count[path] = count.get(path, 0) + 1
        _stack(stacked, nodes)
    total_min, total_cum = sum(minimum.values()), sum(cumulative.values())
    inefficient = sorted(
        (PathWaste(p, count[p], cumulative[p]) for p in cumulative if count[p] >= 2),
        key=lambda w: (-w.cumulative_bytes, w.path),
    )
    wasted = sum(w.cumulative_bytes for w in inefficient)
    image_bytes = sum(layer_sizes)
    user_bytes = image_bytes - (layer_sizes[0] if layer_sizes else 0)
    return DiveResult(
        efficiency=total_min / total_cum if total_cum else 1.0,
        wasted_bytes=wasted,
        image_bytes=image_bytes,
        user_bytes=user_bytes,
        wasted_user_percent=(wasted / user_bytes) if user_bytes > 0 else None,
        inefficient=tuple(inefficient),
    )
