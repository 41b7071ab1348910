/* procmine process map: a directly-follows map drawn with dagre (inlined before this script).
   Data: <script id="pm-data"> (render/pages/process_map.py). The simplification rules are
   those of render/dfg.py (the reference the browser test compares with): keep them equal. */
(function () {
  "use strict";
  var START = -1, END = -2;
  var data = JSON.parse(document.getElementById("pm-data").textContent);
  var svgNS = "http://www.w3.org/2000/svg";
  var $ = function (id) { return document.getElementById(id); };
  var DIMS = ["case_type", "priority", "sourcing", "period"];

  function cellKey() {
    return DIMS.map(function (d) { return $("pm-filter-" + d).value; }).join(".");
  }

  function keptActivities(nodes, coverage) {
    var ordered = nodes.slice().sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
    var total = 0, covered = 0, kept = [];
    nodes.forEach(function (n) { total += n[1]; });
    for (var i = 0; i < ordered.length; i++) {
      if (kept.length && covered >= coverage * total - 1e-9) break;
      kept.push(ordered[i][0]);
      covered += ordered[i][1];
    }
    return kept;
  }

  function edgeOrder(a, b) { return b[2] - a[2] || a[0] - b[0] || a[1] - b[1]; }

  function widestTree(nodes, edges, root, forward) {
    var best = new Map(), via = new Map(), done = new Set(), out = new Map();
    nodes.forEach(function (n) { best.set(n, 0); });
    best.set(root, Infinity);
    edges.forEach(function (e) {
      var k = forward ? e[0] : e[1];
      if (!out.has(k)) out.set(k, []);
      out.get(k).push(e);
    });
    for (;;) {
      var node = null;
      best.forEach(function (w, n) {
        if (done.has(n) || w <= 0) return;
        if (node === null || w > best.get(node) || (w === best.get(node) && n < node)) node = n;
      });
      if (node === null) break;
      done.add(node);
      (out.get(node) || []).forEach(function (e) {
        var other = forward ? e[1] : e[0];
        if (!best.has(other)) return;
        var width = Math.min(best.get(node), e[2]);
        if (width > best.get(other)) { best.set(other, width); via.set(other, e); }
      });
    }
    return Array.from(via.values());
  }

  function simplify(cell, coverage, share) {
    var kept = keptActivities(cell.n, coverage);
    var keep = new Set(kept);
    var candidates = cell.e.filter(function (e) {
      return (keep.has(e[0]) || e[0] === START) && (keep.has(e[1]) || e[1] === END);
    }).sort(edgeOrder);
    var chosen = new Set(candidates.slice(0, Math.ceil(share * candidates.length - 1e-9)));
    var nodes = [START, END].concat(kept);
    widestTree(nodes, candidates, START, true).forEach(function (e) { chosen.add(e); });
    widestTree(nodes, candidates, END, false).forEach(function (e) { chosen.add(e); });
    return {activities: kept, edges: Array.from(chosen).sort(edgeOrder),
            candidates: candidates.length};
  }

  function duration(s) {
    if (s === null || s === undefined) return "–";
    if (s < 90) return Math.round(s) + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    if (s < 172800) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  }
  function number(v) { return v === null || v === undefined ? "–" : v.toLocaleString("en-US"); }

  var MEASURES = {  // edge column, label, formatter
    cases: [3, "cases", number], count: [2, "times", number],
    median: [4, "median wait", duration], mean: [5, "mean wait", duration],
    total: [6, "total wait", duration]
  };

  function mix(from, to, t) {
    var a = parseInt(from.slice(1), 16), b = parseInt(to.slice(1), 16), out = 0;
    for (var shift = 16; shift >= 0; shift -= 8) {
      var x = (a >> shift) & 255, y = (b >> shift) & 255;
      out = out * 256 + Math.round(x + (y - x) * t);
    }
    return "#" + (0x1000000 + out).toString(16).slice(1);
  }

  function el(name, attrs, parent) {
    var node = document.createElementNS(svgNS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function label(index) {
    return index === START ? "▶ start" : index === END ? "■ end" : data.activities[index];
  }

  function details(lines) { $("pm-details").textContent = lines.join(" · "); }

  function draw() {
    var key = cellKey();
    var cell = data.cells[key];
    var svg = $("pm-svg");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var coverage = +$("pm-activities").value / 100, share = +$("pm-paths").value / 100;
    $("pm-activities-value").textContent = $("pm-activities").value + "%";
    $("pm-paths-value").textContent = $("pm-paths").value + "%";
    var filters = key.split(".").filter(function (v) { return v !== "-1"; }).length;
    if (!cell) {
      $("pm-summary").textContent = !data.sliced
        ? "This log is large: the map is drawn for the whole log only (no filters)."
        : filters > data.max_filters
        ? "This log is large: combine at most " + data.max_filters + " filters on the map."
        : "No cases in this slice.";
      svg.setAttribute("data-nodes", "0"); svg.setAttribute("data-edges", "0");
      svg.setAttribute("viewBox", "0 0 10 10"); svg.style.height = "40px";
      document.body.setAttribute("data-map", "ready");
      return;
    }
    var view = $("pm-measure").value, measure = MEASURES[view];
    var performance = measure[0] >= 4;
    var simple = simplify(cell, coverage, share);
    var nodeStats = new Map(cell.n.map(function (n) { return [n[0], n]; }));
    var deviations = new Map();
    if ($("pm-deviations").checked) {
      (cell.d || []).forEach(function (d) { deviations.set(d[0] + ">" + d[1], d); });
    }
    var cases = 0;
    cell.e.forEach(function (e) { if (e[0] === START) cases += e[2]; });
    var events = 0, keptEvents = 0, keepSet = new Set(simple.activities);
    cell.n.forEach(function (n) { events += n[1]; if (keepSet.has(n[0])) keptEvents += n[1]; });
    var drawn = new Set(simple.edges.map(function (e) { return e[0] + ">" + e[1]; }));
    var devTotal = 0, devHidden = 0, devPaths = 0;
    deviations.forEach(function (d, k) {
      devTotal += d[2]; devPaths += 1;
      if (!drawn.has(k)) devHidden += 1;
    });
    $("pm-summary").textContent = number(cases) + " cases · " + simple.activities.length +
      " of " + cell.n.length + " activities (" + Math.round(100 * keptEvents / (events || 1)) +
      "% of events) · " + simple.edges.length + " of " + simple.candidates + " paths" +
      (devPaths ? " · " + devPaths + " paths outside the reference model (" + number(devTotal) +
                  " times)" + (devHidden ? ", " + devHidden + " of them hidden by the sliders"
                                         : "") : "") +
      (view === "median" && filters > data.median_filters
        ? " · medians are computed for up to " + data.median_filters + " filters combined " +
          "on a log this size (mean and total wait are exact)" : "");

    var g = new dagre.graphlib.Graph();
    g.setGraph({rankdir: "TB", nodesep: 28, ranksep: 46, edgesep: 14, marginx: 12, marginy: 12});
    g.setDefaultEdgeLabel(function () { return {}; });
    var id = function (i) { return i === START ? "start" : i === END ? "end" : "a" + i; };
    g.setNode("start", {width: 80, height: 30});
    g.setNode("end", {width: 80, height: 30});
    simple.activities.forEach(function (a) {
      g.setNode(id(a), {width: Math.max(120, 7.2 * data.activities[a].length + 24), height: 44});
    });
    simple.edges.forEach(function (e) {
      g.setEdge(id(e[0]), id(e[1]), {width: 60, height: 16, labelpos: "c", edge: e});
    });
    dagre.layout(g);

    var values = simple.edges.map(function (e) { return e[measure[0]]; })
      .filter(function (v) { return v !== null && v !== undefined; });
    var maxValue = Math.max.apply(null, values.concat([1]));
    var nodeCol = view === "count" ? 1 : 2;
    var maxNode = Math.max.apply(null, simple.activities.map(function (a) {
      return nodeStats.get(a)[nodeCol]; }).concat([1]));
    var low = performance ? "#fdd0a2" : "#c6dbef", high = performance ? "#a63603" : "#08519c";

    var graph = g.graph();
    svg.setAttribute("viewBox", "0 0 " + Math.ceil(graph.width) + " " + Math.ceil(graph.height));
    var fit = Math.min(1, (svg.clientWidth || graph.width) / graph.width);
    svg.style.height = Math.ceil(graph.height * fit) + "px";
    var defs = el("defs", {}, svg);
    [["pm-arrow", "#52606d"], ["pm-arrow-dev", "#d62728"]].forEach(function (m) {
      var marker = el("marker", {id: m[0], viewBox: "0 0 10 10", refX: 9, refY: 5,
                                 markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse",
                                 orient: "auto-start-reverse"},
                      defs);
      el("path", {d: "M0,0L10,5L0,10z", fill: m[1]}, marker);
    });
    var edgeLayer = el("g", {"class": "pm-edges"}, svg);
    var nodeLayer = el("g", {"class": "pm-nodes"}, svg);

    g.edges().forEach(function (ref) {
      var info = g.edge(ref), e = info.edge, value = e[measure[0]];
      var dev = deviations.get(e[0] + ">" + e[1]);
      var t = value === null || value === undefined ? 0 : Math.sqrt(value / maxValue);
      var colour = value === null || value === undefined ? "#bcccdc" : mix(low, high, t);
      var group = el("g", {"class": "pm-edge" + (dev ? " pm-deviation" : ""),
                           "data-from": label(e[0]), "data-to": label(e[1]),
                           "data-count": e[2], "data-cases": e[3],
                           "data-median-s": e[4] === null ? "" : e[4],
                           "data-mean-s": e[5] === null ? "" : e[5],
                           "data-total-s": e[6] === null ? "" : e[6]}, edgeLayer);
      var d = info.points.map(function (p, i) { return (i ? "L" : "M") + p.x + "," + p.y; });
      el("path", {d: d.join(""), fill: "none", stroke: dev ? "#d62728" : colour,
                  "stroke-width": (1.2 + 7 * t).toFixed(2),
                  "stroke-dasharray": dev ? "7 4" : (value === null ? "4 3" : "none"),
                  "marker-end": "url(#" + (dev ? "pm-arrow-dev" : "pm-arrow") + ")"}, group);
      var text = value === null || value === undefined ? number(e[performance ? 2 : 3])
        : measure[2](value);
      if (dev) text += " ⚠ " + number(dev[2]);
      var tag = el("text", {x: info.x, y: info.y + 4, "text-anchor": "middle",
                            "font-size": 11, fill: dev ? "#b21f1f" : "#334e68",
                            stroke: "#fff", "stroke-width": 3, "paint-order": "stroke"}, group);
      tag.textContent = text;
      var lines = [label(e[0]) + " → " + label(e[1]), number(e[2]) + " times",
                   number(e[3]) + " cases", "median wait " + duration(e[4]),
                   "mean wait " + duration(e[5]), "total wait " + duration(e[6])];
      if (dev) lines.push("deviation from the reference model: " + number(dev[2]) +
                          " instances in " + number(dev[3]) + " cases, " +
                          number(Math.round(dev[4])) + " h");
      el("title", {}, group).textContent = lines.join("\n");
      group.addEventListener("click", function () { details(lines); });
    });

    g.nodes().forEach(function (name) {
      var box = g.node(name), index = name === "start" ? START : name === "end" ? END
        : +name.slice(1);
      var stats = nodeStats.get(index);
      var group = el("g", {"class": "pm-node", "data-activity": label(index),
                           transform: "translate(" + (box.x - box.width / 2) + "," +
                                      (box.y - box.height / 2) + ")"}, nodeLayer);
      var fill = "#e4e7eb", ink = "#102a43";
      if (stats) {
        var t = performance ? 0.15 : Math.sqrt(stats[nodeCol] / maxNode);
        fill = mix("#deebf7", "#2171b5", t);
        ink = t > 0.55 ? "#ffffff" : "#102a43";
        group.setAttribute("data-count", stats[1]);
        group.setAttribute("data-cases", stats[2]);
      }
      el("rect", {width: box.width, height: box.height, rx: stats ? 6 : 15,
                  fill: stats ? fill : "#243b53", stroke: "#486581"}, group);
      var title = el("text", {x: box.width / 2, y: stats ? 18 : 19, "text-anchor": "middle",
                              "font-size": 12, "font-weight": 600,
                              fill: stats ? ink : "#ffffff"}, group);
      title.textContent = label(index);
      var lines = [label(index)];
      if (stats) {
        var sub = el("text", {x: box.width / 2, y: 35, "text-anchor": "middle",
                              "font-size": 11, fill: ink}, group);
        sub.textContent = view === "count" ? number(stats[1]) + " events"
          : number(stats[2]) + " cases";
        lines.push(number(stats[1]) + " events", number(stats[2]) + " cases");
      }
      el("title", {}, group).textContent = lines.join("\n");
      group.addEventListener("click", function () { details(lines); });
    });
    svg.setAttribute("data-nodes", String(g.nodeCount()));
    svg.setAttribute("data-edges", String(g.edgeCount()));
    document.body.setAttribute("data-map", "ready");
  }

  ["pm-measure", "pm-activities", "pm-paths", "pm-deviations"].concat(
    DIMS.map(function (d) { return "pm-filter-" + d; })).forEach(function (name) {
      $(name).addEventListener("input", draw);
      $(name).addEventListener("change", draw);
    });
  if (!data.sliced) DIMS.forEach(function (d) { $("pm-filter-" + d).disabled = true; });
  try { draw(); } catch (err) {
    document.body.setAttribute("data-map", "error");
    throw err;
  }
})();
