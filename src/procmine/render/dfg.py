"""The process map's simplification (the activities and paths sliders) and a layered layout.

The page's script (assets/process_map.js) simplifies the map in the browser with the same
rules; this module is their reference: the static picture (PNG/SVG for slides) is drawn from
it, and the browser test compares the map drawn in Chromium with it.

Rules, as Disco's sliders: the activities slider keeps the most frequent activities (events,
then name) until they cover the chosen share of the slice's events (at least one); the paths
slider keeps the chosen share of the pairs among them, most frequent first, and then, so that
the map stays connected from start to end where the data allow it, the widest path (largest
smallest count) from the start to every kept activity and from it to the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

START, END = -1, -2   # the start and end nodes' indices (activities are 0, 1, ...)


@dataclass(frozen=True)
class Edge:
    source: int          # activity index, or START
    target: int          # activity index, or END
    count: int


@dataclass
class Simplified:
    activities: list[int]                 # kept activity indices, most frequent first
    edges: list[Edge] = field(default_factory=list)

    @property
    def node_count(self) -> int:
        """Nodes drawn: the kept activities, the start and the end."""
        return len(self.activities) + 2


def kept_activities(events: dict[int, int], coverage: float) -> list[int]:
    """The most frequent activities until they hold `coverage` (0..1) of the events."""
    ordered = sorted(events, key=lambda a: (-events[a], a))
    total = sum(events.values())
    kept: list[int] = []
    covered = 0
    for activity in ordered:
        if kept and covered >= coverage * total - 1e-9:
            break
        kept.append(activity)
        covered += events[activity]
    return kept


def _edge_order(edge: Edge) -> tuple[int, int, int]:
    return (-edge.count, edge.source, edge.target)


def _widest_tree(nodes: list[int], edges: list[Edge], root: int,
                 forward: bool) -> list[Edge]:
    """For every node, the edge by which the widest path from `root` reaches it (forward)
    or by which it reaches `root` (backward)."""
    best: dict[int, float] = {n: 0.0 for n in nodes}
    best[root] = math.inf
    via: dict[int, Edge] = {}
    done: set[int] = set()
    out: dict[int, list[Edge]] = {}
    for edge in edges:
        out.setdefault(edge.source if forward else edge.target, []).append(edge)
    while True:
        pending = [n for n in best if n not in done and best[n] > 0]
        if not pending:
            break
        node = min(pending, key=lambda n: (-best[n], n))
        done.add(node)
        for edge in out.get(node, []):
            other = edge.target if forward else edge.source
            if other not in best:
                continue
            width = min(best[node], edge.count)
            if width > best[other]:
                best[other] = width
                via[other] = edge
    return [via[n] for n in sorted(via)]


def simplify(events: dict[int, int], edges: list[Edge], activity_coverage: float,
             path_share: float) -> Simplified:
    """The map at the sliders' positions (both 0..1). `events`: events per activity."""
    kept = kept_activities(events, activity_coverage)
    keep = set(kept)
    candidates = sorted(
        (e for e in edges
         if (e.source in keep or e.source == START) and (e.target in keep or e.target == END)),
        key=_edge_order)
    chosen = set(candidates[:math.ceil(path_share * len(candidates) - 1e-9)])
    nodes = [START, END, *kept]
    chosen.update(_widest_tree(nodes, candidates, START, forward=True))
    chosen.update(_widest_tree(nodes, candidates, END, forward=False))
    return Simplified(kept, sorted(chosen, key=_edge_order))


@dataclass(frozen=True)
class Placed:
    """Node centres (x, y in pixels) of a layered drawing: start on top, end at the bottom."""

    x: dict[int, float]
    y: dict[int, float]
    width: float
    height: float


def layered_layout(activities: list[int], edges: list[Edge], *, node_width: float = 170,
                   layer_height: float = 84, gap: float = 24) -> Placed:
    """Layers by the longest path from the start once the edges that close a loop are set
    aside (depth-first from the start, most frequent paths first; the end one layer below
    the deepest); order within a layer by the mean position of the nodes that lead to it."""
    successors: dict[int, list[int]] = {}
    for edge in sorted(edges, key=_edge_order):
        if edge.target != END and edge.source != edge.target:
            successors.setdefault(edge.source, []).append(edge.target)
    forward: list[tuple[int, int]] = []
    state: dict[int, int] = {}            # 1: on the depth-first path, 2: finished
    order: list[int] = []                 # finishing order (reverse: topological)
    for root in [START, *activities]:
        if root in state:
            continue
        stack = [(root, iter(successors.get(root, [])))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                order.append(node)
                stack.pop()
            elif child not in state:
                forward.append((node, child))
                state[child] = 1
                stack.append((child, iter(successors.get(child, []))))
            elif state[child] == 2:
                forward.append((node, child))
    layer = dict.fromkeys([START, *activities], 0)
    incoming: dict[int, list[int]] = {}
    for source, target in forward:
        incoming.setdefault(target, []).append(source)
    for node in reversed(order):
        for source in incoming.get(node, []):
            layer[node] = max(layer[node], layer[source] + 1)
    layer[END] = max(layer.values()) + 1
    rows: dict[int, list[int]] = {}
    for node in [START, *activities, END]:
        rows.setdefault(layer[node], []).append(node)
    x: dict[int, float] = {}
    predecessors: dict[int, list[int]] = {}
    for edge in edges:
        if layer[edge.source] < layer[edge.target]:
            predecessors.setdefault(edge.target, []).append(edge.source)
    widest = max(len(r) for r in rows.values())
    width = widest * (node_width + gap)
    for depth in sorted(rows):
        row = rows[depth]
        row.sort(key=lambda n: (sum(x.get(p, width / 2) for p in predecessors.get(n, []))
                                / max(1, len(predecessors.get(n, []))), n))
        left = (width - len(row) * (node_width + gap)) / 2
        for i, node in enumerate(row):
            x[node] = left + (i + 0.5) * (node_width + gap)
    y = {node: (layer[node] + 0.5) * layer_height for node in x}
    return Placed(x, y, width, (max(layer.values()) + 1) * layer_height)
