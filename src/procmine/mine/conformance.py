"""Conformance against a reference Detect-to-Correct model, per variant (not per case).

The reference BPMN (shipped: procmine/reference/d2c_reference.bpmn, tasks named after the
d2c stages; replace it with [mining] reference_model) is turned into a Petri net by pm4py,
and the net's reachability graph into an automaton. Each distinct label sequence (stage or
activity sequence of a variant) is then optimally aligned to it (standard costs: a log move
or a visible model move costs 1, synchronous and silent moves 0), by dynamic programming over
a prefix trie of all sequences, so shared prefixes are aligned once. Log moves are the steps
the model does not allow (deviation waste); model moves are steps the case skipped.

With stage labels, an event whose activity has no d2c stage (an unmapped activity, e.g. a
generic CSV without a stage table) is not judged: it is projected out of the label sequence,
so the variant's mapped steps are aligned as if it were not there (A, ?, B is judged as A, B)
and it is never a log move, hence never deviation waste. Each variant says how many of its
events were left unjudged (marts.conformance.unjudged_events); a variant with no mapped event
is not aligned at all (fitness NULL). With activity labels every event is judged.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import deque
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from procmine.errors import ConfigError
from procmine.mine.events import EventArrays
from procmine.mine.settings import MiningSettings
from procmine.mine.variants import Variants
from procmine.mine.waste import Instances, next_event

MAX_STATES = 50_000
INF = math.inf


def shipped_reference() -> Path:
    return Path(str(resources.files("procmine").joinpath("reference/d2c_reference.bpmn")))


def shipped_automaton_cache() -> Path:
    """The shipped model's automaton, precomputed (importing pm4py alone takes seconds)."""
    return shipped_reference().with_suffix(".automaton.json")


@dataclass
class Automaton:
    """The reachability graph of a (bounded) Petri net: labelled moves between markings."""

    initial: int
    finals: frozenset[int]
    sync: list[dict[str, list[int]]]            # state -> label -> targets
    closure: list[list[tuple[int, int, str | None]]]  # state -> (target, cost, label|None)
    labels: frozenset[str]

    @property
    def size(self) -> int:
        return len(self.sync)

    def to_json(self, source_sha256: str) -> str:
        return json.dumps({
            "source_sha256": source_sha256, "initial": self.initial,
            "finals": sorted(self.finals), "sync": self.sync,
            "closure": [[list(move) for move in moves] for moves in self.closure],
        }, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> tuple[str, Automaton]:
        data = json.loads(text)
        closure = [[(int(t), int(c), label) for t, c, label in moves]
                   for moves in data["closure"]]
        sync = [{label: [int(t) for t in targets] for label, targets in moves.items()}
                for moves in data["sync"]]
        labels = frozenset(label for moves in sync for label in moves)
        return data["source_sha256"], cls(int(data["initial"]), frozenset(data["finals"]),
                                          sync, closure, labels)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_reference(settings: MiningSettings) -> tuple[Path, Automaton]:
    """The reference model (configured or shipped) as an automaton; the shipped model's is
    read from its precomputed cache when the BPMN file is unchanged."""
    path = settings.reference_model or shipped_reference()
    if not path.is_file():
        raise ConfigError(f"[mining] reference_model {path} does not exist")
    cache = shipped_automaton_cache()
    if path.resolve() == shipped_reference().resolve() and cache.is_file():
        sha, automaton = Automaton.from_json(cache.read_text(encoding="utf-8"))
        if sha == _sha256(path):
            return path, automaton
    return path, build_automaton(path)


def build_automaton(path: Path) -> Automaton:
    """A BPMN model's reachability graph, via pm4py's BPMN → Petri net conversion."""
    import pm4py
    from pm4py.objects.petri_net import semantics

    try:
        net, initial, final = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
    except Exception as exc:  # pm4py raises many kinds on a malformed file
        raise ConfigError(f"[mining] reference_model {path} is not a readable BPMN model "
                          f"({type(exc).__name__}: {exc})") from exc
    index = {initial: 0}
    markings = [initial]
    sync: list[dict[str, list[int]]] = []
    closure: list[list[tuple[int, int, str | None]]] = []
    labels: set[str] = set()
    queue = deque([0])
    while queue:
        state = queue.popleft()
        while len(sync) <= state:
            sync.append({})
            closure.append([])
        for transition in sorted(semantics.enabled_transitions(net, markings[state]),
                                 key=lambda t: (t.label or "", t.name)):
            target_marking = semantics.execute(transition, net, markings[state])
            if target_marking not in index:
                if len(markings) >= MAX_STATES:
                    raise ConfigError(f"[mining] reference_model {path}: more than "
                                      f"{MAX_STATES} reachable states (is it unbounded?)")
                index[target_marking] = len(markings)
                markings.append(target_marking)
                queue.append(index[target_marking])
            target = index[target_marking]
            if transition.label is None:
                closure[state].append((target, 0, None))
            else:
                labels.add(transition.label)
                sync[state].setdefault(transition.label, []).append(target)
                closure[state].append((target, 1, transition.label))
    while len(sync) < len(markings):
        sync.append({})
        closure.append([])
    finals = frozenset(i for i, m in enumerate(markings) if m == final)
    if not finals:
        raise ConfigError(f"[mining] reference_model {path}: its end is not reachable")
    return Automaton(0, finals, sync, closure, frozenset(labels))


def write_shipped_cache() -> Path:
    """Recompute the shipped model's automaton cache (run after editing the BPMN file)."""
    path = shipped_reference()
    cache = shipped_automaton_cache()
    cache.write_text(build_automaton(path).to_json(_sha256(path)) + "\n", encoding="utf-8")
    return cache


@dataclass
class Alignment:
    cost: float
    fitness: float
    log_moves: list[int] = field(default_factory=list)          # positions in the trace
    model_moves: list[tuple[int, str]] = field(default_factory=list)  # (position, label)


class _Trie:
    """Prefix trie of label sequences with one DP vector (cost per automaton state) per node.

    A node's vector is stored normalised (its minimum subtracted, kept as `base`): the step
    from a normalised vector by a label is then cached, so each distinct (vector, label) is
    computed once, however many variants and positions share it.
    """

    def __init__(self, automaton: Automaton) -> None:
        self.automaton = automaton
        self.parent: list[int] = [-1]
        self.label: list[str] = [""]
        self.depth: list[int] = [0]
        self.children: list[dict[str, int]] = [{}]
        start = [INF] * automaton.size
        start[automaton.initial] = 0.0
        closed, close = self._close(start)
        vector, base = _normalise(closed)
        self.vector: list[tuple[float, ...]] = [vector]
        self.base: list[float] = [base]
        self.layer_ptr: list[list[tuple[str, int]] | None] = [None]
        self.close_ptr = [close]
        self._steps: dict[tuple[tuple[float, ...], str], tuple[
            tuple[float, ...], float, list[tuple[str, int]],
            list[tuple[int, str | None] | None]]] = {}

    def _close(self, cost: list[float]) -> tuple[list[float], list[tuple[int, str | None] | None]]:
        """Relax silent (0) and model (1) moves until nothing improves (Bellman-Ford)."""
        cost = list(cost)
        ptr: list[tuple[int, str | None] | None] = [None] * len(cost)
        changed = True
        while changed:
            changed = False
            for state, c in enumerate(cost):
                if c == INF:
                    continue
                for target, move_cost, label in self.automaton.closure[state]:
                    if c + move_cost < cost[target]:
                        cost[target] = c + move_cost
                        ptr[target] = (state, label)
                        changed = True
        return cost, ptr

    def _step(self, vector: tuple[float, ...], label: str) -> tuple[
            tuple[float, ...], float, list[tuple[str, int]], list[tuple[int, str | None] | None]]:
        """(normalised vector, its offset, layer and closure pointers) after one label."""
        key = (vector, label)
        found = self._steps.get(key)
        if found is not None:
            return found
        cost = [c + 1 for c in vector]                                 # log move: stay
        layer: list[tuple[str, int]] = [("log", s) for s in range(len(vector))]
        for state, c in enumerate(vector):
            if c == INF:
                continue
            for target in self.automaton.sync[state].get(label, ()):
                if c <= cost[target]:                                   # sync wins ties
                    cost[target] = c
                    layer[target] = ("sync", state)
        closed, close = self._close(cost)
        normal, offset = _normalise(closed)
        self._steps[key] = result = (normal, offset, layer, close)
        return result

    def child(self, node: int, label: str) -> int:
        found = self.children[node].get(label)
        if found is not None:
            return found
        vector, offset, layer, close = self._step(self.vector[node], label)
        new = len(self.parent)
        self.parent.append(node)
        self.label.append(label)
        self.depth.append(self.depth[node] + 1)
        self.children.append({})
        self.children[node][label] = new
        self.vector.append(vector)
        self.base.append(self.base[node] + offset)
        self.layer_ptr.append(layer)
        self.close_ptr.append(close)
        return new

    def cost(self, node: int, state: int) -> float:
        return self.base[node] + self.vector[node][state]

    def align(self, labels: list[str]) -> Alignment:
        node = 0
        for label in labels:
            node = self.child(node, label)
        finals = self.automaton.finals
        best = min(finals, key=lambda s: (self.cost(node, s), s))
        cost = self.cost(node, best)
        empty = min(self.cost(0, s) for s in finals)
        if cost == INF:
            return Alignment(INF, 0.0)
        log_moves: list[int] = []
        model_moves: list[tuple[int, str]] = []
        state = best
        while True:
            while (ptr := self.close_ptr[node][state]) is not None:
                previous, label = ptr
                if label is not None:
                    model_moves.append((self.depth[node], label))
                state = previous
            if node == 0:
                break
            kind, previous = self.layer_ptr[node][state]  # type: ignore[misc]
            if kind == "log":
                log_moves.append(self.depth[node] - 1)
            state, node = previous, self.parent[node]
        fitness = 1.0 - cost / max(len(labels) + empty, 1)
        return Alignment(cost, max(fitness, 0.0), sorted(log_moves), sorted(model_moves))


def _normalise(cost: list[float]) -> tuple[tuple[float, ...], float]:
    finite = [c for c in cost if c != INF]
    low = min(finite) if finite else 0.0
    return tuple(c - low for c in cost), low


@dataclass
class Traces:
    """Per variant: the label sequence aligned, the position in the variant of each label
    (unmapped events projected out) and how many events were left unjudged."""

    labels: list[list[str]]
    positions: list[list[int]]
    unjudged: list[int]


def trace_labels(events: EventArrays, variants: Variants, settings: MiningSettings) -> Traces:
    """The label sequence of each variant: d2c stages, without the events that have none
    (see the module docstring), or activities, per [mining] reference_labels."""
    vocab = events.vocab
    by_activity = settings.reference_labels == "activity"
    stage_names = vocab.stages
    labels: list[list[str]] = []
    positions: list[list[int]] = []
    unjudged: list[int] = []
    for case in variants.representative:
        lo, hi = events.starts[case], events.ends[case]
        if by_activity:
            labels.append([str(vocab.activities[a]) for a in events.a[lo:hi]])
            positions.append(list(range(hi - lo)))
            unjudged.append(0)
            continue
        stages = [stage_names[s] for s in events.st[lo:hi]]
        kept = [p for p, s in enumerate(stages) if s is not None]
        labels.append([str(stages[p]) for p in kept])
        positions.append(kept)
        unjudged.append(len(stages) - len(kept))
    return Traces(labels, positions, unjudged)


@dataclass
class Conformance:
    """Per variant: fitness, deviation descriptions, log-move positions in the variant (None =
    not checked: beyond [mining] conformance_max_variants, or no mapped event), the events
    left unjudged (unmapped activities)."""

    model_path: Path
    fitness: list[float | None]
    deviations: list[list[str] | None]
    log_moves: list[list[int]]
    model_moves: list[int]
    checked: int
    unjudged: list[int] = field(default_factory=list)
    # per log move, the position of the judged event before it (-1: none), its evidence
    log_move_after: list[list[int]] = field(default_factory=list)


def check(events: EventArrays, variants: Variants, settings: MiningSettings) -> Conformance:
    path, automaton = load_reference(settings)
    traces = trace_labels(events, variants, settings)
    trie = _Trie(automaton)
    fitness: list[float | None] = []
    deviations: list[list[str] | None] = []
    log_moves: list[list[int]] = []
    model_moves: list[int] = []
    after: list[list[int]] = []
    limit = settings.conformance_max_variants
    checked = 0
    for v, (trace, where) in enumerate(zip(traces.labels, traces.positions, strict=True)):
        if v >= limit or not trace:
            fitness.append(None)
            deviations.append(None)
            log_moves.append([])
            after.append([])
            model_moves.append(0)
            continue
        checked += 1
        alignment = trie.align(trace)
        fitness.append(alignment.fitness)
        described = [f"{trace[p]} not allowed after {trace[p - 1] if p else 'start'}"
                     for p in alignment.log_moves]
        described += [f"skipped {label}" for _, label in alignment.model_moves]
        deviations.append(list(dict.fromkeys(described)))
        log_moves.append([where[p] for p in alignment.log_moves])
        after.append([where[p - 1] if p else -1 for p in alignment.log_moves])
        model_moves.append(len(alignment.model_moves))
    return Conformance(path, fitness, deviations, log_moves, model_moves, checked,
                       traces.unjudged, after)


def deviation_instances(events: EventArrays, variants: Variants, conformance: Conformance
                        ) -> Instances:
    """One deviation instance per case and log move of its variant (cost grows with the
    variants aligned; expanding to the cases is vectorised). Its evidence: the activity and
    the judged activity before it (or none)."""
    dev_variant = np.array([v for v, moves in enumerate(conformance.log_moves) for _ in moves],
                           dtype=np.int64)
    dev_pos = np.array([p for moves in conformance.log_moves for p in moves], dtype=np.int64)
    dev_after = np.array([p for moves in conformance.log_move_after for p in moves],
                         dtype=np.int64)
    if not len(dev_variant):
        return Instances.make(events, np.zeros(0, np.int64), "deviation", np.zeros(0))
    by_variant = np.argsort(variants.case_variant, kind="stable")
    first = np.searchsorted(variants.case_variant[by_variant], np.arange(variants.size))
    counts = variants.counts[dev_variant]
    total = int(counts.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    cases = by_variant[np.repeat(first[dev_variant], counts) + offsets]
    ev = events.starts[cases] + np.repeat(dev_pos, counts)
    after = np.repeat(dev_after, counts)   # the previous judged event (unmapped ones skipped)
    previous = np.where(after >= 0, events.a[events.starts[cases] + np.maximum(after, 0)], 0)
    return Instances.make(events, ev, "deviation", events.dwell_us[ev] / 3.6e9, e1=previous,
                          e2=events.a[ev], until=next_event(events, ev))
