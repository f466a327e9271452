// The burndown chart, drawn as SVG from the snapshot's `burndown` ({total, start, end, days: [{date,
// remaining, ideal}]}): points left at the end of each day against the ideal line. No library.
"use strict";

(function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 760, H = 300, L = 44, R = 14, T = 14, B = 30;

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A round gridline step (1, 2, 5 x 10^n) giving about `lines` lines up to `total`.
  function niceStep(total, lines) {
    const raw = Math.max(total, 1e-9) / lines;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  // `value` to `digits` decimals as Python formats it, so the page reads as the reports and `orchestra metrics`:
  // toFixed rounds an exact tie up (2.25 to 2.3), Python to the even digit (2.2).
  function fixed(value, digits) {
    const magnitude = Math.abs(value);
    const exact = magnitude.toFixed(digits + 25);
    const point = exact.indexOf(".");
    const down = exact.slice(0, digits ? point + 1 + digits : point);
    const tie = /^50*$/.test(exact.slice(point + 1 + digits));
    const text = tie && Number(down.slice(-1)) % 2 === 0 ? down : magnitude.toFixed(digits);
    return (value < 0 && Number(text) !== 0 ? "-" : "") + text;
  }

  // `fixed` without trailing zeros; an integer as it is
  function decimals(value, digits) {
    if (Number.isInteger(value)) return String(value);
    const text = fixed(value, digits);
    return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }

  // points to 2 decimals, as the report's burndown table gives them
  function fmt(value) {
    return decimals(value, 2);
  }

  function burndown(container, data) {
    container.replaceChildren();
    if (!data || !data.days || data.days.length === 0) {
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "No sprint to chart yet.";
      container.append(empty);
      return;
    }
    const days = data.days;
    const total = Number(data.total) || 0;
    const top = total || 1;  // the axis of a sprint of no points still runs 0 to 1; its lines start at 0
    const n = days.length;
    const x = (i) => L + (W - L - R) * i / n;
    const y = (points) => T + (H - T - B) * (1 - points / top);
    const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, role: "img",
                           "aria-label": `Burndown: ${fmt(total)} points from ${data.start} to ${data.end}`});

    const defs = el("defs");
    const gradient = el("linearGradient", {id: "burn-fill", x1: 0, y1: 0, x2: 0, y2: 1});
    gradient.append(el("stop", {offset: "0%", "stop-color": "#60a5fa", "stop-opacity": 0.35}),
                    el("stop", {offset: "100%", "stop-color": "#60a5fa", "stop-opacity": 0}));
    defs.append(gradient);
    svg.append(defs);

    const step = niceStep(top, 4);
    for (let level = 0; level <= top + 1e-9; level += step) {
      svg.append(el("line", {class: "grid-line", x1: L, x2: W - R, y1: y(level), y2: y(level)}),
                 el("text", {class: "axis", x: L - 8, y: y(level) + 4, "text-anchor": "end"}, fmt(level)));
    }
    const every = Math.max(1, Math.ceil(n / 10));
    days.forEach((day, i) => {
      if (i % every === 0 || i === n - 1) {
        svg.append(el("text", {class: "axis", x: x(i + 1), y: H - 10, "text-anchor": "middle"}, day.date.slice(5)));
      }
    });

    const ideal = [[x(0), y(total)], ...days.map((d, i) => [x(i + 1), y(d.ideal)])];
    svg.append(el("polyline", {class: "ideal", points: ideal.map((p) => p.join(",")).join(" ")}));

    const known = days.map((d, i) => [i, d]).filter(([, d]) => d.remaining !== null && d.remaining !== undefined);
    if (known.length === 0) {
      const note = el("g", {class: "note-box"});
      note.append(el("rect", {x: L + 12, y: T + 8, width: 330, height: 28, rx: 6}),
                  el("text", {class: "note", x: L + 24, y: T + 27}, `The sprint starts ${data.start}: nothing burned yet.`));
      svg.append(note);
    } else {
      const actual = [[x(0), y(total)], ...known.map(([i, d]) => [x(i + 1), y(d.remaining)])];
      const last = actual[actual.length - 1];
      const area = [...actual, [last[0], y(0)], [x(0), y(0)]];
      svg.append(el("polygon", {class: "area", points: area.map((p) => p.join(",")).join(" ")}));
      svg.append(el("polyline", {class: "actual", points: actual.map((p) => p.join(",")).join(" ")}));
      const [todayIndex] = known[known.length - 1];
      if (todayIndex < n - 1) {
        svg.append(el("line", {class: "today", x1: last[0], x2: last[0], y1: T, y2: H - B}));
      }
      known.forEach(([i, d]) => {
        const dot = el("circle", {class: "point", cx: x(i + 1), cy: y(d.remaining), r: 3.5});
        dot.append(el("title", {}, `${d.date}: ${fmt(d.remaining)} points left (ideal ${fmt(d.ideal)})`));
        svg.append(dot);
      });
    }
    container.append(svg);
  }

  window.OrchestraCharts = {burndown, decimals};  // app.js formats its numbers with `decimals` too
})();
