"""The discovered process model of a run: pm4py's inductive miner (IMf) on the most frequent
variants covering [mining] model_coverage of the cases, each weighted by its case count,
saved as BPMN and, when graphviz's `dot` is installed, as SVG."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from procmine.mine.settings import MiningSettings
from procmine.mine.variants import Variants

BPMN_NAME = "discovered_model.bpmn"
SVG_NAME = "discovered_model.svg"
NOTE_NAME = "NOTE.txt"
NO_DOT_NOTE = (
    "The discovered model's picture (discovered_model.svg) was not drawn: graphviz's `dot` "
    "program is not installed on this machine (Debian/Ubuntu: apt-get install -y graphviz; "
    "macOS: brew install graphviz). discovered_model.bpmn is complete (without a diagram "
    "layout); open it in any BPMN tool, or install graphviz and run `procmine mine` again.\n"
)


@dataclass
class ModelResult:
    variants: int          # variants mined
    cases: int             # cases they cover
    coverage: float
    bpmn: Path
    svg: Path | None
    note: str = ""


def top_variants(variants: Variants, coverage: float) -> int:
    """How many of the most frequent variants reach `coverage` of the cases (at least one)."""
    total = int(variants.counts.sum())
    covered, taken = 0, 0
    for count in variants.counts:
        if taken and covered >= coverage * total:
            break
        covered += int(count)
        taken += 1
    return taken


def discover_model(variants: Variants, settings: MiningSettings, out_dir: Path
                   ) -> ModelResult | None:
    """Mine, save and (if graphviz is there) draw the model; None when there are no cases."""
    if variants.size == 0:
        return None
    import pm4py
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
    from pm4py.algo.discovery.inductive.variants.imf import IMFUVCL
    from pm4py.objects.process_tree.utils.generic import fold, tree_sort

    taken = top_variants(variants, settings.model_coverage)
    # the variants with their case counts (what pm4py's UVCL is); pm4py's own entry point
    # does not accept a ready-made one, so call the IMf implementation as it does
    log: Counter[tuple[str, ...]] = Counter()
    for activities, count in zip(variants.activities[:taken], variants.counts[:taken],
                                 strict=True):
        log[tuple(activities)] += int(count)
    parameters = {"noise_threshold": settings.model_noise_threshold}
    tree = fold(IMFUVCL(parameters).apply(IMDataStructureUVCL(log), parameters))
    tree_sort(tree)
    bpmn = pm4py.convert_to_bpmn(tree)
    out_dir.mkdir(parents=True, exist_ok=True)
    has_dot = shutil.which("dot") is not None
    bpmn_path, svg_path, note_path = out_dir / BPMN_NAME, out_dir / SVG_NAME, out_dir / NOTE_NAME
    pm4py.write_bpmn(bpmn, str(bpmn_path), auto_layout=has_dot)
    cases = int(variants.counts[:taken].sum())
    share = cases / max(int(variants.counts.sum()), 1)
    if has_dot:
        pm4py.save_vis_bpmn(bpmn, str(svg_path))
        note_path.unlink(missing_ok=True)
        return ModelResult(taken, cases, share, bpmn_path, svg_path)
    svg_path.unlink(missing_ok=True)
    note_path.write_text(NO_DOT_NOTE, encoding="utf-8")
    return ModelResult(taken, cases, share, bpmn_path, None, NO_DOT_NOTE.split(":")[0])
