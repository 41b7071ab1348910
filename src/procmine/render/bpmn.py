"""The discovered model's BPMN file (written by the mining step) as nodes and flows, so the
dashboards can draw it without graphviz (render.dfg lays it out)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
KINDS = {"startEvent": "start", "endEvent": "end", "task": "task",
         "exclusiveGateway": "xor", "parallelGateway": "and", "inclusiveGateway": "or"}


@dataclass(frozen=True)
class Model:
    nodes: list[tuple[str, str, str]]   # (id, kind, name), in the file's order
    flows: list[tuple[str, str]]        # (source id, target id)


def parse(text: str) -> Model:
    """Tasks, events and gateways of the first process, and its sequence flows."""
    root = ET.fromstring(text)
    process = root.find(f"{NS}process")
    if process is None:
        return Model([], [])
    nodes = [(el.get("id", ""), KINDS[el.tag[len(NS):]], el.get("name") or "")
             for el in process if el.tag.startswith(NS) and el.tag[len(NS):] in KINDS]
    flows = [(el.get("sourceRef", ""), el.get("targetRef", ""))
             for el in process.iter(f"{NS}sequenceFlow")]
    return Model(nodes, flows)
