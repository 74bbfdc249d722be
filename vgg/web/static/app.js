// The page of a run: the best image so far, the loss curves, the progress, the inputs and settings, the items of a
// batch or video; "save now" and "stop". Everything comes from this page's own server (vgg/web/server.py): the
// event stream "events" (a snapshot, then messages: vgg/web/board.py) and the images "image/NAME.jpg".
"use strict";

// The page wakes at most once every REFRESH_INTERVAL ms: the progress, the chart and (when a newer one is known and
// its time has come) the best image all in that one refresh. On a machine whose cores the run keeps busy, every wake
// of the browser takes a core from the run's threads for a moment (benchmarks/web_alternate.py), and a browser
// without a GPU spends about 25 ms of CPU on each new 256x256 image (benchmarks/web_page_cpu.py). So while the run
// goes on, a new image is fetched at most every IMAGE_INTERVAL ms, or IMAGE_COST_FACTOR times what the last one
// took if that is longer (a large image, a slow machine), up to IMAGE_INTERVAL_MAX: "took" is from the request to
// the decoded pixels, the server's encoding and any wait included, so more than the CPU it cost. Once the run is
// finishing, the final image is fetched at once.
const REFRESH_INTERVAL = 2000;
const IMAGE_INTERVAL = 4000;
const IMAGE_COST_FACTOR = 100; // the images take at most about 1% of one core's time, less as "took" overstates it
const IMAGE_INTERVAL_MAX = 30000;
const MAX_POINTS = 20000; // beyond, every other older point is dropped
const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#111827", "#9333ea", "#ea580c", "#0891b2", "#a16207"];

const $ = (id) => document.getElementById(id);
const page = {
  points: [], terms: [], run: null, state: "starting",
  frame: { wanted: 0, shown: -1, loading: false, next: 0, timer: null },
  progress: null, refreshTimer: null, refreshLast: 0, stream: null,
};

function text(node, value) { node.textContent = value; }

function hms(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  if (h) return `${h} hr ${m} min`;
  return m ? `${m} min ${r} sec` : `${r} sec`;
}

// ---- one refresh, at most every REFRESH_INTERVAL: the progress, the chart, the best image if a newer one is known ----

function scheduleRefresh() {
  if (page.refreshTimer) return;
  const wait = Math.max(0, page.refreshLast + REFRESH_INTERVAL - Date.now());
  page.refreshTimer = setTimeout(() => {
    page.refreshTimer = null;
    page.refreshLast = Date.now();
    requestAnimationFrame(refresh);
  }, wait);
}

function refresh() {
  showProgress(page.progress);
  drawChart();
  pumpFrame();
}

function wantFrame(version) {
  page.frame.wanted = Math.max(page.frame.wanted, version);
  scheduleRefresh();
}

function pumpFrame() {
  const f = page.frame;
  if (f.loading || f.wanted <= f.shown) return;
  const live = page.state === "running" || page.state === "starting";
  if (live && Date.now() < f.next) {
    if (!f.timer) f.timer = setTimeout(() => { f.timer = null; scheduleRefresh(); }, f.next - Date.now());
    return;
  }
  f.loading = true;
  const img = $("frame"), wanted = f.wanted, asked = performance.now();
  const done = (shown) => {
    if (shown) {
      const took = performance.now() - asked;
      f.next = Date.now() + Math.min(IMAGE_INTERVAL_MAX, Math.max(IMAGE_INTERVAL, IMAGE_COST_FACTOR * took));
      f.shown = Math.max(f.shown, wanted);
      img.dataset.version = String(f.shown);
      img.dataset.took = took.toFixed(1); // ms, from the request to the decoded pixels
      text($("caption"), page.state === "ended" ? "the final image" : "the best image so far");
    }
    f.loading = false;
    afterFrame();
    if (f.wanted > f.shown) scheduleRefresh(); // a newer one came meanwhile: in a later refresh
  };
  img.src = `image/best.jpg?v=${wanted}`;
  img.decode().then(() => done(true), () => done(false)); // settled once the image is loaded and decoded (or not)
}

function afterFrame() {
  // once the run has ended and its last image is shown, the page needs nothing more: the server may go
  if (page.state === "ended" && page.frame.shown >= page.frame.wanted && page.stream) {
    page.stream.close();
    page.stream = null;
  }
}

// ---- the loss curves ----

function addPoint(p) {
  for (const term of Object.keys(p.losses)) if (!page.terms.includes(term)) page.terms.push(term);
  page.points.push(p);
  if (page.points.length > MAX_POINTS) {
    const half = Math.floor(page.points.length / 2);
    page.points = page.points.slice(0, half).filter((_, k) => k % 2 === 0).concat(page.points.slice(half));
  }
  scheduleRefresh();
}

function setProgress(p) {
  page.progress = p;
  scheduleRefresh();
}

function chartBounds(points, terms) {
  let lo = Infinity, hi = -Infinity;
  for (const p of points) for (const t of terms) {
    const v = p.losses[t];
    if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  if (!Number.isFinite(lo)) return null;
  const top = Math.ceil(Math.log10(hi) + 1e-9), bottom = Math.floor(Math.log10(lo));
  return { x0: points[0].i, x1: Math.max(points[points.length - 1].i, points[0].i + 1), y0: bottom, y1: Math.max(top, bottom + 1) };
}

function drawChart() {
  const canvas = $("chart"), ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1, w = canvas.clientWidth || 560, h = Math.round(w * 0.46);
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio); // a new buffer: only on a resize
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  canvas.dataset.points = String(page.points.length);
  const b = page.points.length ? chartBounds(page.points, page.terms) : null;
  const box = { l: 52, r: w - 10, t: 10, b: h - 26 };
  ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#6b7280"; ctx.strokeStyle = "#d9dde3";
  ctx.strokeRect(box.l, box.t, box.r - box.l, box.b - box.t);
  if (!b) { ctx.fillText("the losses come here", box.l + 10, box.t + 20); drawLegend(); return; }
  const X = (i) => box.l + (i - b.x0) / (b.x1 - b.x0) * (box.r - box.l);
  const Y = (v) => box.b - (Math.log10(v) - b.y0) / (b.y1 - b.y0) * (box.b - box.t);
  drawAxes(ctx, b, box, X, Y);
  page.terms.forEach((term, k) => {
    ctx.strokeStyle = PALETTE[k % PALETTE.length]; ctx.lineWidth = term === "total" ? 2 : 1.25;
    ctx.beginPath();
    let drawing = false;
    for (const p of page.points) {
      const v = p.losses[term];
      if (!(v > 0 && Number.isFinite(v))) { drawing = false; continue; }
      if (drawing) ctx.lineTo(X(p.i), Y(v)); else ctx.moveTo(X(p.i), Y(v));
      drawing = true;
    }
    ctx.stroke();
  });
  ctx.lineWidth = 1;
  drawLegend();
}

function drawAxes(ctx, b, box, X, Y) {
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  const step = Math.max(1, Math.ceil((b.y1 - b.y0) / 6));
  for (let e = b.y0; e <= b.y1; e += step) {
    const y = Y(10 ** e);
    ctx.strokeStyle = "#eceef1"; ctx.beginPath(); ctx.moveTo(box.l, y); ctx.lineTo(box.r, y); ctx.stroke();
    ctx.fillText(`1e${e}`, box.l - 6, y);
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  ctx.fillText(String(b.x0), box.l, box.b + 6); ctx.fillText(String(b.x1), box.r - 10, box.b + 6);
  ctx.fillText("iteration", (box.l + box.r) / 2, box.b + 6);
  let stage = page.points[0].stage;
  ctx.strokeStyle = "#9ca3af"; ctx.setLineDash([4, 4]);
  for (const p of page.points) {
    if (p.stage === stage) continue;
    stage = p.stage;
    ctx.beginPath(); ctx.moveTo(X(p.i), box.t); ctx.lineTo(X(p.i), box.b); ctx.stroke();
  }
  ctx.setLineDash([]);
}

function drawLegend() {
  const legend = $("legend");
  if (legend.childElementCount === page.terms.length) return;
  legend.replaceChildren(...page.terms.map((term, k) => {
    const span = document.createElement("span");
    span.style.setProperty("--swatch", PALETTE[k % PALETTE.length]);
    span.textContent = term;
    return span;
  }));
}

// ---- progress, status, items, inputs, settings, notes ----

function showProgress(p) {
  if (!p) return;
  text($("iteration"), `iteration ${p.i} / ${p.n}`);
  text($("scale"), p.stages > 1 ? `scale ${p.stage + 1} / ${p.stages}` : "");
  text($("elapsed"), `${hms(p.elapsed)} elapsed`);
  text($("left"), p.i < p.n && page.state === "running" ? `about ${hms(p.left)} left` : "");
  $("bar").style.width = `${(100 * p.i / p.n).toFixed(1)}%`;
}

function showStatus(s) {
  page.state = s.state;
  const words = { starting: "starting", running: "running", finishing: "finishing", stopping: "stopping", ended: "the run has ended" };
  text($("status"), s.message ? `${words[s.state] || s.state}: ${s.message}` : words[s.state] || s.state);
  $("status").dataset.state = s.state;
  const active = s.state === "running" || s.state === "starting";
  $("save").disabled = !active; $("stop").disabled = !active;
  if (!active) { text($("left"), ""); scheduleRefresh(); } // the final image: no longer waits for IMAGE_INTERVAL
  if (s.state === "ended") { text($("caption"), "the final image"); afterFrame(); }
}

function showRun(run) {
  page.run = run;
  page.points = []; page.terms = [];
  scheduleRefresh();
  if (!run) return;
  const inputs = $("inputs");
  inputs.replaceChildren(...run.inputs.map((input) => {
    const fig = document.createElement("figure"), cap = document.createElement("figcaption");
    if (input.image) { const img = document.createElement("img"); img.src = `image/${input.image}.jpg`; img.alt = input.name; fig.append(img); }
    cap.textContent = `${input.name}: ${input.file}`;
    fig.append(cap);
    return fig;
  }));
  $("settings").replaceChildren(...Object.entries(run.settings).map(([name, value]) => {
    const row = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
    a.textContent = `--${name.replaceAll("_", "-")}`; b.textContent = value;
    row.append(a, b);
    return row;
  }));
}

function showItems(items) {
  $("items-box").hidden = !items.length;
  $("items").replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.dataset.state = item.state;
    li.textContent = `${item.name}: ${item.state}${item.note ? ` (${item.note})` : ""}`;
    return li;
  }));
  const list = $("items"), running = list.querySelector('[data-state="running"]');
  if (running) list.scrollTop = running.offsetTop - list.clientHeight / 2; // a long video's frame in view
}

function addNote(line) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${line}`;
  const notes = $("notes");
  notes.append(li);
  notes.scrollTop = notes.scrollHeight; // the newest in view, without scrolling the page

}

// ---- the event stream ----

function snapshot(s) {
  showStatus(s.status);
  showRun(s.run);
  for (const p of s.points) addPoint(p);
  setProgress(s.progress);
  showItems(s.items);
  $("notes").replaceChildren();
  for (const line of s.notes) addNote(line);
  wantFrame(s.frame);
}

function connect() {
  const es = new EventSource("events");
  page.stream = es;
  const on = (kind, handle) => es.addEventListener(kind, (e) => handle(JSON.parse(e.data)));
  on("snapshot", snapshot);
  on("run", showRun);
  on("losses", addPoint);
  on("progress", setProgress);
  on("frame", (m) => wantFrame(m.version));
  on("items", (m) => showItems(m.items));
  on("status", showStatus);
  on("note", (m) => addNote(m.text));
  es.onerror = () => {
    if (page.state === "ended" || es.readyState === EventSource.CLOSED) {
      if (page.state !== "ended") text($("status"), "the run's server has gone");
      es.close();
    }
  };
}

async function act(name) {
  try {
    const r = await fetch(name, { method: "POST", cache: "no-store" });
    addNote(r.ok ? (await r.json()).message : `${name}: refused (${r.status})`);
  } catch (e) {
    addNote(`${name}: the run's server cannot be reached`);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("save").addEventListener("click", () => act("save"));
  $("stop").addEventListener("click", () => act("stop"));
  window.addEventListener("resize", scheduleRefresh);
  connect();
  drawChart();
});
