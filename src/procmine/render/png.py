"""A PNG per chart, rendered with vl-convert only when its spec changed.

Each dashboards folder holds a manifest (`MANIFEST`) of its PNGs: for each file the digest of
the full Vega-Lite spec (inlined data included, with the renderer's version and scale) it was
rendered from, and the digest of the PNG's bytes. A chart whose spec digest equals a previous
folder's entry, and whose previous PNG still has the recorded bytes, is copied instead of
rendered; a mismatch of either (e.g. pages half moved into place by a killed run) renders again.

vl-convert holds the GIL while it renders, so charts are rendered in worker processes
(`_WORKER`: a small script that imports vl-convert only; one a core beside the process that
builds the pages, at most `PNG_WORKERS`), started with the first chart that needs one
(or earlier, `PngJobs.start`): a page's charts are rendered while the next pages are
queried and built (DuckDB releases the GIL), `PngJobs`. The workers draw text with the font vl-convert
bundles (render.fonts).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from procmine.render.fonts import fonts_tag, write_font_config
from procmine.render.html import VL_VERSION

if TYPE_CHECKING:
    from procmine.render.page import Chart

MANIFEST = ".png-manifest.json"
PNG_SCALE = 2
# Worker processes at most. While the pages are built one core is left to their queries: on
# two cores one worker draws the 16 charts of a nightly in ~2.4 s of CPU as the pages come;
# two took ~3 s of CPU (each starts a JavaScript runtime, ~1 s) and slowed the queries.
# Once the pages are built their core draws too, if `LATE_WORKER_CHARTS` charts still wait
# (~1 s of drawing: more than a start-up; e.g. 1M events, whose pages are built quickly).
PNG_WORKERS = 2
LATE_WORKER_CHARTS = 6

# A worker process (arguments: Vega-Lite version, scale): reads specs from stdin as frames
# (8-byte big-endian length + JSON text, handed to vl-convert as is), answers each with
# b"1" + length + PNG bytes (b"0" + length + error text).
# vl-convert starts its JavaScript runtime, compiles Vega-Lite and loads the fonts on its
# first chart (~1 s of CPU): the worker draws an empty chart first, as soon as it starts,
# so that this overlaps the caller's queries instead of delaying the first real chart.
# The protocol gets its own copy of stdout; anything vl-convert prints goes to stderr.
# Ctrl-C is the parent's to handle: it closes the worker's input, and the worker ends.
_WORKER = r"""
import os, signal, struct, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
import vl_convert
out = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
inp = sys.stdin.buffer
vl_version, scale = sys.argv[1], float(sys.argv[2])
try:
    vl_convert.vegalite_to_png({"data": {"values": []}, "mark": "point"},
                               vl_version=vl_version, scale=scale)
except Exception:
    pass   # the first real chart reports what is wrong
while len(head := inp.read(8)) == 8:
    spec = inp.read(struct.unpack(">Q", head)[0]).decode("utf-8")
    try:
        ok, data = b"1", vl_convert.vegalite_to_png(spec, vl_version=vl_version, scale=scale)
    except Exception as exc:
        ok, data = b"0", f"{type(exc).__name__}: {exc}".encode()
    out.write(ok + struct.pack(">Q", len(data)) + data)
    out.flush()
"""


@dataclass(frozen=True)
class Rendered:
    """A manifest entry: what a PNG was rendered from, and its bytes' digest."""

    spec: str
    png: str


@cache
def _renderer() -> str:
    try:
        return version("vl-convert-python")
    except PackageNotFoundError:
        return "unknown"


def spec_digest(spec: dict[str, Any]) -> str:
    """Digest of a chart's full spec as vl-convert would render it."""
    payload = json.dumps([spec, VL_VERSION, PNG_SCALE, _renderer(), fonts_tag()],
                         sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict[str, Rendered]:
    """PNG file name → entry; empty when the folder has no (readable) manifest."""
    try:
        entries = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {name: Rendered(**entry) for name, entry in entries.items()}
    except (OSError, ValueError, TypeError, AttributeError):  # missing or not ours: render
        return {}


def manifest_text(entries: dict[str, Rendered]) -> str:
    """The manifest's content: sorted, so the same PNGs give the same bytes."""
    return json.dumps({name: asdict(entries[name]) for name in sorted(entries)},
                      sort_keys=True, indent=1) + "\n"


def _previous_png(manifests: list[tuple[Path, dict[str, Rendered]]], name: str,
                  spec: str) -> bytes | None:
    """The bytes of a PNG a folder rendered from the same spec, if they are still intact."""
    for folder, entries in manifests:
        entry = entries.get(name)
        if entry is None or entry.spec != spec:
            continue
        try:
            data = (folder / name).read_bytes()
        except OSError:
            continue
        if _digest(data) == entry.png:
            return data
    return None


class PngWorker:
    """One vl-convert worker process; `render` sends a spec and waits for its PNG.
    `font_config`: the fontconfig file it loads fonts by (render.fonts), else the host's."""

    def __init__(self, font_config: Path | None = None) -> None:
        env = {**os.environ, "FONTCONFIG_FILE": str(font_config)} if font_config else None
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-c", _WORKER, VL_VERSION, str(PNG_SCALE)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def render(self, spec: dict[str, Any]) -> bytes:
        payload = json.dumps(spec, allow_nan=False).encode("utf-8")
        stdin, stdout = self._pipes()
        try:
            stdin.write(struct.pack(">Q", len(payload)) + payload)
            stdin.flush()
            head = _read(stdout, 9)
            data = _read(stdout, struct.unpack(">Q", head[1:])[0])
        except (OSError, EOFError) as exc:
            raise RuntimeError(f"the PNG worker process stopped (exit code "
                               f"{self.proc.poll()}): {exc}") from exc
        if head[:1] != b"1":
            raise RuntimeError(f"vl-convert could not render a chart: {data.decode()}")
        return data

    def _pipes(self) -> tuple[BinaryIO, BinaryIO]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        return self.proc.stdin, self.proc.stdout

    def close(self) -> None:
        stdin, stdout = self._pipes()
        with contextlib.suppress(OSError):
            stdin.close()  # the worker ends at the end of its input
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        stdout.close()


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("unexpected end of the PNG worker's output")
    return data


class PngJobs:
    """PNGs of charts as they are added: copied where one of the `previous` folders rendered
    the same spec, otherwise rendered by worker processes (started with the first `add`
    unless `start()` is called earlier) while the caller goes on; when the caller asks for
    the `results`, one more worker may join. Use as a context manager."""

    def __init__(self, previous: Iterable[Path], workers: int = PNG_WORKERS) -> None:
        self._manifests = [(folder, read_manifest(folder)) for folder in dict.fromkeys(previous)]
        cores = os.cpu_count() or 1
        self._size = max(1, min(workers, cores - 1))   # while the caller works
        self._most = max(1, min(workers, cores))       # once it waits for the results
        self._tasks: queue.SimpleQueue[tuple[dict[str, Any], Future[bytes]] | None] = (
            queue.SimpleQueue())
        self._workers: list[tuple[PngWorker, threading.Thread]] = []
        self._pngs: dict[str, bytes | Future[bytes]] = {}
        self._digests: dict[str, str] = {}
        self._fonts: Path | None = None   # the workers' fontconfig file and font links
        self._font_config: Path | None = None

    def start(self) -> None:
        """Start the worker processes now (their start-up then overlaps the caller's work)."""
        if self._fonts is None:
            self._fonts = Path(tempfile.mkdtemp(prefix="procmine-png-fonts-"))
            self._font_config = write_font_config(self._fonts)
            for _ in range(self._size):
                self._add_worker()

    def _add_worker(self) -> None:
        """A worker process and the thread that feeds it charts from the shared queue."""
        worker = PngWorker(self._font_config)
        thread = threading.Thread(target=self._serve, args=(worker,), daemon=True,
                                  name="procmine-png")
        self._workers.append((worker, thread))
        thread.start()

    def _serve(self, worker: PngWorker) -> None:
        while (task := self._tasks.get()) is not None:
            spec, future = task
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(worker.render(spec))
                except BaseException as exc:  # handed to the caller by future.result()
                    future.set_exception(exc)

    def add(self, charts: Iterable[Chart]) -> None:
        for chart in charts:
            name = f"{chart.slug}.png"
            spec = chart.full_spec()
            self._digests[name] = spec_digest(spec)
            previous = _previous_png(self._manifests, name, self._digests[name])
            if previous is not None:
                self._pngs[name] = previous
            else:
                self.start()
                future: Future[bytes] = Future()
                self._tasks.put((spec, future))
                self._pngs[name] = future

    def results(self) -> tuple[dict[str, bytes], dict[str, Rendered]]:
        """File name → PNG bytes of every chart added, and their manifest entries."""
        if self._tasks.qsize() >= LATE_WORKER_CHARTS and len(self._workers) < self._most:
            self._add_worker()   # the caller's core is free now; the queue repays a start-up
        images = {name: data if isinstance(data, bytes) else data.result()
                  for name, data in self._pngs.items()}
        return images, {name: Rendered(self._digests[name], _digest(data))
                        for name, data in images.items()}

    def close(self) -> None:
        """Cancel the charts not yet drawn, end the workers (after their current chart)."""
        with contextlib.suppress(queue.Empty):
            while (task := self._tasks.get_nowait()) is not None:
                task[1].cancel()
        for _ in self._workers:
            self._tasks.put(None)
        for worker, thread in self._workers:
            thread.join()
            worker.close()
        self._workers = []
        if self._fonts is not None:
            shutil.rmtree(self._fonts, ignore_errors=True)
            self._fonts = None

    def __enter__(self) -> PngJobs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

