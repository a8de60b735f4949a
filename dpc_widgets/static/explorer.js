// Generated from js/src by 'npm run build'; do not edit.

// src/keys.js
var ROOT = ".dpc-explorer";
var MARK = "data-lm-suppress-shortcuts";
var installed = false;
function markInExplorer(element) {
  if (!element?.closest?.(ROOT)) return false;
  if (!element.hasAttribute(MARK)) element.setAttribute(MARK, "true");
  return true;
}
function guardShortcuts(doc = document) {
  if (installed) return;
  installed = true;
  doc.addEventListener("focusin", (event) => markInExplorer(event.target), true);
}

// src/colormaps.js
var PALETTE = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
  [0, 128, 128],
  [220, 190, 255],
  [170, 110, 40],
  [255, 250, 200],
  [128, 0, 0],
  [170, 255, 195]
];
var TWO_PI = 2 * Math.PI;
var LOG_RANGE = 1e3;
function toByte(t) {
  if (!(t > 0)) return 0;
  if (t >= 1) return 255;
  return Math.floor(255 * t + 0.5);
}
var SEQUENTIAL = [
  [0, 0, 0],
  [11, 11, 11],
  [19, 19, 19],
  [26, 26, 26],
  [32, 32, 32],
  [39, 39, 39],
  [45, 45, 45],
  [52, 52, 52],
  [59, 59, 59],
  [66, 66, 66],
  [73, 73, 73],
  [81, 81, 81],
  [88, 88, 88],
  [96, 96, 96],
  [103, 103, 103],
  [111, 111, 111],
  [118, 118, 118],
  [126, 126, 126],
  [134, 134, 134],
  [142, 142, 142],
  [150, 150, 150],
  [159, 159, 159],
  [167, 167, 167],
  [175, 175, 175],
  [184, 184, 184],
  [192, 192, 192],
  [201, 201, 201],
  [210, 210, 210],
  [219, 219, 219],
  [227, 228, 228],
  [236, 236, 236],
  [245, 245, 245],
  [254, 255, 255]
];
var DIVERGING = [
  [23, 41, 113],
  [26, 49, 137],
  [28, 58, 161],
  [31, 68, 185],
  [40, 78, 207],
  [59, 89, 221],
  [81, 100, 230],
  [101, 113, 237],
  [118, 124, 243],
  [135, 137, 249],
  [152, 150, 252],
  [168, 164, 252],
  [184, 179, 250],
  [198, 193, 248],
  [212, 208, 245],
  [226, 221, 241],
  [238, 226, 231],
  [245, 218, 213],
  [250, 201, 190],
  [252, 182, 168],
  [252, 164, 145],
  [251, 144, 124],
  [248, 125, 103],
  [241, 107, 85],
  [232, 90, 70],
  [222, 73, 54],
  [212, 53, 39],
  [200, 30, 25],
  [184, 6, 15],
  [164, 0, 11],
  [143, 3, 9],
  [122, 5, 6],
  [102, 7, 2]
];
function lutOf(points) {
  const n = points.length;
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i * (n - 1) / 255;
    const k = Math.min(Math.floor(x), n - 2);
    const f = x - k;
    for (let c = 0; c < 3; c++) {
      const a = points[k][c];
      const b = points[k + 1][c];
      out[3 * i + c] = Math.floor(a + (b - a) * f + 0.5);
    }
  }
  return out;
}
var SEQUENTIAL_LUT = lutOf(SEQUENTIAL);
var DIVERGING_LUT = lutOf(DIVERGING);
function symmetricRange(vmin, vmax) {
  const m = Math.max(Math.abs(vmin), Math.abs(vmax));
  return Number.isFinite(m) ? [-m, m] : [0, 0];
}
var LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
var packed = /* @__PURE__ */ new WeakMap();
function packedOf(lut) {
  let table = packed.get(lut);
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      table[i] = (lut[3 * i] | lut[3 * i + 1] << 8 | lut[3 * i + 2] << 16 | 255 << 24) >>> 0;
    }
    packed.set(lut, table);
  }
  return table;
}
function lutRGBA(data, offset, count, vmin, vmax, lut, out) {
  const span = vmax - vmin;
  const flat = !(span > 0);
  const table = packedOf(lut);
  const empty = 0;
  const whole = LITTLE_ENDIAN && out.byteOffset % 4 === 0;
  const pixels = whole ? new Uint32Array(out.buffer, out.byteOffset, count) : new Uint32Array(count);
  for (let k = 0; k < count; k++) {
    const v = data[offset + k];
    let colour = empty;
    if (v - v === 0) {
      const t = flat ? 0.5 : (v - vmin) / span;
      colour = table[t > 0 ? t >= 1 ? 255 : Math.floor(255 * t + 0.5) : 0];
    }
    pixels[k] = colour;
  }
  if (!whole) {
    for (let k = 0; k < count; k++) {
      out[4 * k] = pixels[k] & 255;
      out[4 * k + 1] = pixels[k] >>> 8 & 255;
      out[4 * k + 2] = pixels[k] >>> 16 & 255;
      out[4 * k + 3] = pixels[k] >>> 24;
    }
  }
  return out;
}
function barRGBA(width, lut, out) {
  for (let c = 0; c < width; c++) {
    const at = 3 * toByte(width > 1 ? c / (width - 1) : 0.5);
    out[4 * c] = lut[at];
    out[4 * c + 1] = lut[at + 1];
    out[4 * c + 2] = lut[at + 2];
    out[4 * c + 3] = 255;
  }
  return out;
}
function logLevel(v, vmax) {
  if (!(vmax > 0) || !Number.isFinite(v)) return 0;
  return toByte(Math.log1p(Math.max(v, 0) * (LOG_RANGE / vmax)) / Math.log1p(LOG_RANGE));
}
var PATTERN_SCALES = ["log", "linear", "gamma"];
function patternLevel(v, vmax, scale, gamma) {
  if (scale !== "linear" && scale !== "gamma") return logLevel(v, vmax);
  if (!(vmax > 0) || !Number.isFinite(v)) return 0;
  const t = Math.max(v, 0) / vmax;
  return toByte(scale === "gamma" ? t ** gamma : t);
}
function patternRGBA(data, count, vmax, scale, gamma, out) {
  for (let k = 0; k < count; k++) {
    const g = patternLevel(data[k], vmax, scale, gamma);
    out[4 * k] = g;
    out[4 * k + 1] = g;
    out[4 * k + 2] = g;
    out[4 * k + 3] = 255;
  }
  return out;
}
function hsvInto(h2, s, v, out, at) {
  const h6 = (h2 - Math.floor(h2)) * 6;
  const i = Math.floor(h6);
  const f = h6 - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  let r = v, g = t, b = p;
  switch (i % 6) {
    case 1:
      r = q;
      g = v;
      b = p;
      break;
    case 2:
      r = p;
      g = v;
      b = t;
      break;
    case 3:
      r = p;
      g = q;
      b = v;
      break;
    case 4:
      r = t;
      g = p;
      b = v;
      break;
    case 5:
      r = v;
      g = p;
      b = q;
      break;
    default:
      break;
  }
  out[at] = toByte(r);
  out[at + 1] = toByte(g);
  out[at + 2] = toByte(b);
}
function vectorInto(x, y, vmax, out, at) {
  if (!Number.isFinite(x) || !Number.isFinite(y)) {
    out[at] = out[at + 1] = out[at + 2] = 0;
    return;
  }
  const mag = Math.sqrt(x * x + y * y);
  const value = vmax > 0 ? Math.min(mag / vmax, 1) : 0;
  hsvInto(Math.atan2(y, x) / TWO_PI + 1, 1, value, out, at);
}
function complexRGBA(com, count, vmax, out) {
  for (let k = 0; k < count; k++) {
    const x = com[k];
    const y = com[count + k];
    vectorInto(x, y, vmax, out, 4 * k);
    out[4 * k + 3] = x - x === 0 && y - y === 0 ? 255 : 0;
  }
  return out;
}
function segmentRGBA(labels, out) {
  for (let k = 0; k < labels.length; k++) {
    const label = labels[k];
    if (label < 0) {
      out[4 * k] = out[4 * k + 1] = out[4 * k + 2] = out[4 * k + 3] = 0;
    } else {
      const [r, g, b] = PALETTE[label % PALETTE.length];
      out[4 * k] = r;
      out[4 * k + 1] = g;
      out[4 * k + 2] = b;
      out[4 * k + 3] = 255;
    }
  }
  return out;
}
function wheelRGBA(size, out) {
  const c = (size - 1) / 2;
  const radius = size / 2;
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const k = 4 * (row * size + col);
      const x = (row - c) / radius;
      const y = (col - c) / radius;
      if (x * x + y * y > 1) {
        out[k] = out[k + 1] = out[k + 2] = out[k + 3] = 0;
        continue;
      }
      vectorInto(x, y, 1, out, k);
      out[k + 3] = 255;
    }
  }
  return out;
}

// src/geometry.js
var TWO_PI2 = 2 * Math.PI;
function pyMod(a, m) {
  const r = a % m;
  if (r === 0) return 0;
  return r < 0 !== m < 0 ? r + m : r;
}
function segmentOf(dx, dy, sampling, inner, outer, n, rotationRad) {
  const radius = Math.sqrt(dx * dx + dy * dy) * sampling;
  if (!(radius >= inner && radius < outer)) return -1;
  const theta = pyMod(Math.atan2(dy, dx) + rotationRad, TWO_PI2);
  return Math.min(Math.max(Math.trunc(theta * (n / TWO_PI2)), 0), n - 1);
}
function detectorLabels({ rows, cols, center, sampling, inner, outer, segments, rotationDeg }) {
  const out = new Int16Array(rows * cols);
  const rot = rotationDeg * Math.PI / 180;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      out[i * cols + j] = segmentOf(i - center[0], j - center[1], sampling, inner, outer, segments, rot);
    }
  }
  return out;
}
var MAX_ZOOM = 64;
var FIT_DISC_RADII = 3;
var FIT_OUTER_MARGIN = 1.15;
var SMALL_DISC = 1 / 8;
function asView(t) {
  return typeof t === "number" ? { s: t, ox: 0, oy: 0 } : t;
}
function clampZoom(zoom) {
  return Number.isFinite(zoom) ? Math.min(Math.max(zoom, 1), MAX_ZOOM) : 1;
}
function clampFocus(rows, cols, zoom, focus) {
  const clamp = (f, n) => {
    const half = n / (2 * zoom);
    return Number.isFinite(f) ? Math.min(Math.max(f, half), n - half) : n / 2;
  };
  return [clamp(focus?.[0], rows), clamp(focus?.[1], cols)];
}
function viewTransform(rows, cols, s0, zoom, focus) {
  const z = clampZoom(zoom);
  const [fu, fv] = clampFocus(rows, cols, z, focus);
  const s = s0 * z;
  return { s, ox: cols * s0 / 2 - fv * s, oy: rows * s0 / 2 - fu * s, zoom: z, focus: [fu, fv] };
}
function fitView(rows, cols, center, discPx, outerPx) {
  const n = Math.min(rows, cols);
  if (!(discPx > 0) || discPx >= n * SMALL_DISC) return { zoom: 1, focus: [rows / 2, cols / 2] };
  const outer = Number.isFinite(outerPx) ? outerPx : 0;
  const half = Math.max(FIT_DISC_RADII * discPx, FIT_OUTER_MARGIN * outer, 1);
  const zoom = clampZoom(n / (2 * half));
  return { zoom, focus: clampFocus(rows, cols, zoom, [center[0] + 0.5, center[1] + 0.5]) };
}
function zoomAt(t, rows, cols, left, top, factor) {
  const u = (top - t.oy) / t.s;
  const v = (left - t.ox) / t.s;
  const zoom = clampZoom(t.zoom * factor);
  const k = t.zoom / zoom;
  const focus = [u - (u - t.focus[0]) * k, v - (v - t.focus[1]) * k];
  return { zoom, focus: clampFocus(rows, cols, zoom, focus) };
}
function panBy(t, rows, cols, dx, dy) {
  const focus = [t.focus[0] - dy / t.s, t.focus[1] - dx / t.s];
  return { zoom: t.zoom, focus: clampFocus(rows, cols, t.zoom, focus) };
}
function elementAt(left, top, t, rows, cols) {
  const { s, ox, oy } = asView(t);
  const i = Math.floor((top - oy) / s);
  const j = Math.floor((left - ox) / s);
  return i >= 0 && i < rows && j >= 0 && j < cols ? [i, j] : null;
}
function centerOnScreen(center, t) {
  const { s, ox, oy } = asView(t);
  return [(center[1] + 0.5) * s + ox, (center[0] + 0.5) * s + oy];
}
function radiusAt(left, top, center, t, sampling) {
  const [x0, y0] = centerOnScreen(center, t);
  return Math.hypot(left - x0, top - y0) / asView(t).s * sampling;
}
function hitRing(left, top, center, t, sampling, radii, tol) {
  const r = radiusAt(left, top, center, t, sampling);
  const s = asView(t).s;
  let best = null;
  let bestDistance = tol;
  for (const [name, radius] of Object.entries(radii)) {
    if (!Number.isFinite(radius)) continue;
    const distance = Math.abs(r - radius) / sampling * s;
    if (distance <= bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}
function hitCenter(left, top, center, s, tol) {
  const [x0, y0] = centerOnScreen(center, s);
  return Math.hypot(left - x0, top - y0) <= tol;
}
function dragCenter(startCenter, startPointer, pointer, t, rows, cols) {
  const s = asView(t).s;
  const clamp = (v, hi) => Math.min(Math.max(v, 0), Math.max(hi, 0));
  const qx = startCenter[0] + (pointer[1] - startPointer[1]) / s;
  const qy = startCenter[1] + (pointer[0] - startPointer[0]) / s;
  return [clamp(qx, rows - 1), clamp(qy, cols - 1)];
}
function scaleBarLength(pixelSize, nPixels) {
  const target = pixelSize * nPixels / 4;
  if (!(target > 0)) return 0;
  const decade = 10 ** Math.floor(Math.log10(target));
  for (const m of [5, 2, 1]) {
    if (m * decade <= target * (1 + 1e-9)) return m * decade;
  }
  return decade;
}
function quiverArrows(com, rows, cols, step) {
  const n = rows * cols;
  const arrows = [];
  for (let i0 = 0; i0 < rows; i0 += step) {
    for (let j0 = 0; j0 < cols; j0 += step) {
      let u = 0;
      let v = 0;
      let count = 0;
      for (let i = i0; i < Math.min(i0 + step, rows); i++) {
        for (let j = j0; j < Math.min(j0 + step, cols); j++) {
          u += com[i * cols + j];
          v += com[n + i * cols + j];
          count += 1;
        }
      }
      const bi = Math.min(step, rows - i0);
      const bj = Math.min(step, cols - j0);
      arrows.push({ row: i0 + bi / 2, col: j0 + bj / 2, u: u / count, v: v / count });
    }
  }
  return arrows;
}
function quiverStep(rows, cols) {
  return Math.max(1, Math.round(Math.max(rows, cols) / 16));
}

// src/flow.js
var RequestGate = class {
  /**
   * @param {(value: object, seq: number) => void} send  sends one request to the kernel
   * @param {{now?: () => number, staleMs?: number, depth?: number}} options
   */
  constructor(send, { now = () => Date.now(), staleMs = 1e4, depth = 2 } = {}) {
    this.send = send;
    this.now = now;
    this.staleMs = staleMs;
    this.depth = depth;
    this.seq = 0;
    this.inFlight = [];
    this.wanted = null;
    this.wantedDepth = depth;
  }
  /** The unanswered requests that still take a slot (not stale). */
  pending() {
    const t = this.now();
    this.inFlight = this.inFlight.filter((request) => t - request.sentAt < this.staleMs);
    return this.inFlight.length;
  }
  /** True while a request waits for its answer. */
  get busy() {
    return this.pending() > 0;
  }
  /**
   * Ask for value: sent now when fewer than `depth` requests are in flight, else kept
   * (replacing older wanted values).
   */
  request(value, depth = this.depth) {
    this.wanted = value;
    this.wantedDepth = Math.min(depth, this.depth);
    if (this.pending() < this.wantedDepth) this.flush();
  }
  /** The kernel answered request seq (and so every earlier one): send the newest wanted value. */
  answer(seq) {
    this.inFlight = this.inFlight.filter((request) => request.seq > seq);
    if (this.wanted !== null && this.pending() < this.wantedDepth) this.flush();
  }
  flush() {
    const value = this.wanted;
    this.wanted = null;
    this.seq += 1;
    this.inFlight.push({ seq: this.seq, sentAt: this.now() });
    this.send(value, this.seq);
  }
};

// src/checksum.js
function fnv1a(bytes) {
  let hash = 2166136261;
  for (let k = 0; k < bytes.length; k++) {
    hash ^= bytes[k];
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

// src/dom.js
function h(tag, className, attrs = {}) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}
function checksumOf(array) {
  return fnv1a(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
}
function resize(canvas, width, height) {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}
var images = /* @__PURE__ */ new WeakMap();
function drawRGBA(canvas, rows, cols, fill) {
  resize(canvas, cols, rows);
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  let image = images.get(canvas);
  if (!image || image.width !== cols || image.height !== rows) {
    image = ctx.createImageData(cols, rows);
    images.set(canvas, image);
  }
  fill(image.data);
  ctx.putImageData(image, 0, 0);
}
function setSize(width, height, ...elements) {
  for (const el of elements) {
    el.style.width = `${width}px`;
    el.style.height = `${height}px`;
  }
}
function fmt(value) {
  if (!Number.isFinite(value)) return String(value);
  const a = Math.abs(value);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}
var BLANK = "\xA0";
function makePanel(name, title) {
  const root = h("div", "dpc-panel", { "data-panel": name });
  const titleEl = h("div", "dpc-title");
  titleEl.textContent = title;
  const stack = h("div", "dpc-stack");
  const scalebar = h("div", "dpc-scalebar");
  const bar = h("div", "dpc-scalebar-bar");
  const label = h("span", "dpc-scalebar-label");
  scalebar.append(bar, label);
  const readout = h("div", "dpc-readout");
  readout.textContent = BLANK;
  root.append(titleEl, stack, scalebar, readout);
  return { root, titleEl, stack, scalebar, bar, label, readout, readoutText: null };
}
function setText(el, text) {
  const node = el.firstChild;
  if (node !== null && node.nodeType === 3 && node.nextSibling === null && text !== "") {
    if (node.data !== text) node.data = text;
  } else if (el.textContent !== text) {
    el.textContent = text;
  }
}
function setScaleBar(panel, pixelSize, units, nPixels, s) {
  const length = scaleBarLength(pixelSize, nPixels);
  panel.scalebar.setAttribute("data-length", String(length));
  panel.bar.style.width = `${length / pixelSize * s}px`;
  setText(panel.label, `${fmt(length)} ${units}`);
}
function showReadout(panel, text) {
  panel.readoutText = text;
  refreshReadout(panel);
}
function refreshReadout(panel) {
  const line = panel.readoutText ? panel.readoutText() : null;
  setText(panel.readout, line ?? BLANK);
  if (panel.readout.title !== (line ?? "")) panel.readout.title = line ?? "";
}
function clearReadout(panel) {
  panel.readoutText = null;
  refreshReadout(panel);
}

// src/tiles.js
var TILE_GAP = 4;
var TILE_FRAME = 2;
var EMPTY_CELL_GAIN = 1.25;
function tileLayout(n, size) {
  const count = Math.max(1, n);
  const cap = count === 1 ? size : size / 2;
  let full = null;
  let any = null;
  for (let columns = count; columns >= 1; columns--) {
    const rows = Math.ceil(count / columns);
    const box = Math.min((size - (columns - 1) * TILE_GAP) / columns, (size - (rows - 1) * TILE_GAP) / rows, cap);
    const tile = Math.max(1, Math.floor(box) - 2 * TILE_FRAME);
    const empty = rows * columns - count;
    const layout = { columns, rows, tile, empty };
    if (empty === 0 && (full === null || tile > full.tile)) full = layout;
    if (any === null || tile > any.tile || tile === any.tile && empty < any.empty) any = layout;
  }
  return any.tile >= EMPTY_CELL_GAIN * full.tile ? any : full;
}
function segmentColor(k) {
  const [r, g, b] = PALETTE[k % PALETTE.length];
  return `rgb(${r}, ${g}, ${b})`;
}
function labelInk(k) {
  const [r, g, b] = PALETTE[k % PALETTE.length];
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#000" : "#fff";
}
function labelSpots(n, rotationRad, r) {
  const spots = [];
  for (let k = 0; k < n; k++) {
    const phi = 2 * Math.PI * (k + 0.5) / n - rotationRad;
    spots.push([r * Math.sin(phi), r * Math.cos(phi)]);
  }
  return spots;
}
var LABEL_ARC = 16;
function labelRadius(n, inner, outer) {
  if (!(n > 0) || !(outer > inner)) return null;
  const middle = 0.5 * (inner + outer);
  if (2 * Math.PI * middle / n >= LABEL_ARC) return middle;
  const outside = outer + 9;
  return 2 * Math.PI * outside / n >= LABEL_ARC ? outside : null;
}
function drawSegmentIndices(ctx, n, rotationRad, x0, y0, scale, inner, outer) {
  const r = labelRadius(n, inner * scale, outer * scale);
  if (r === null) return;
  const font = 10;
  ctx.save();
  ctx.font = `bold ${font}px sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  const half = font * 0.7;
  labelSpots(n, rotationRad, r).forEach(([dx, dy], k) => {
    const x = x0 + dx;
    const y = y0 + dy;
    ctx.fillStyle = segmentColor(k);
    ctx.fillRect(x - half, y - half, 2 * half, 2 * half);
    ctx.fillStyle = labelInk(k);
    ctx.fillText(String(k), x, y + 0.5);
  });
  ctx.restore();
}

// src/detector.js
var RING_TOLERANCE = 8;
var CENTER_TOLERANCE = 8;
var RINGS = ["inner", "outer"];
var ZOOM_STEP = 1.5;
var WHEEL_STEP = 1.0015;
var SAVE_MS = 120;
var RING_WIDTH = 1.5;
var BORDER_WIDTH = 1;
var CACHE_WIDTH = 1;
var CACHE_COLOUR = "rgba(255, 179, 0, 0.9)";
var CACHE_DASH = [1, 3];
function button(text, name, title) {
  const el = h("button", "dpc-zoom-button", { type: "button", "data-zoom": name, title });
  el.textContent = text;
  return el;
}
var DetectorPanel = class {
  /**
   * @param model  the anywidget model
   * @param onChange called after the overlay was redrawn (e.g. to update data attributes)
   */
  constructor(model, onChange) {
    this.model = model;
    this.onChange = onChange;
    this.panel = makePanel("detector", "mean diffraction and detector");
    this.toolbar = this.makeToolbar();
    this.panel.root.insertBefore(this.toolbar, this.panel.stack);
    this.legend = h("div", "dpc-cache-legend", {
      "data-testid": "cache-legend",
      title: "the detector cache covers radii inside the dotted amber ring"
    });
    const swatch = h("span", "dpc-cache-swatch");
    const text = h("span", "");
    text.textContent = "cache: answers at once inside";
    this.legend.append(swatch, text);
    this.panel.scalebar.after(this.legend);
    this.image = h("canvas", "dpc-image", { "data-testid": "detector-image" });
    this.labels = h("canvas", "dpc-segments", { "data-testid": "detector-segments" });
    this.rings = h("canvas", "dpc-rings", { "data-testid": "detector-rings" });
    this.handles = {};
    for (const name of RINGS) {
      this.handles[name] = h("div", "dpc-handle", {
        "data-ring": name,
        "data-testid": `ring-handle-${name}`,
        title: `drag to change the ${name} radius`
      });
    }
    this.centerHandle = h("div", "dpc-handle dpc-center-handle", {
      "data-ring": "center",
      "data-testid": "center-handle",
      title: "drag to move the detector centre"
    });
    this.panel.stack.append(
      this.image,
      this.labels,
      this.rings,
      ...Object.values(this.handles),
      this.centerHandle
    );
    this.pattern = new Float32Array(0);
    this.local = null;
    this.dragging = null;
    this.dragStart = null;
    this.saveTimer = null;
    this.placed = null;
    this.gate = new RequestGate((value, seq) => model.send({ seq, ...value }));
    this.listen();
  }
  /** The geometry to draw: the model's, with radii being dragged on top. */
  geometry() {
    const m = this.model;
    const [rows, cols] = m.get("detector_shape");
    const size = m.get("panel_size");
    const s0 = size / Math.max(rows, cols, 1);
    return {
      rows,
      cols,
      s0,
      s: s0,
      // CSS px per pixel of the whole detector
      view: viewTransform(rows, cols, s0, m.get("detector_zoom"), m.get("detector_focus")),
      center: m.get("center"),
      sampling: m.get("detector_sampling"),
      units: m.get("detector_units"),
      inner: m.get("inner"),
      outer: m.get("outer"),
      segments: m.get("segments"),
      rotationDeg: m.get("rotation"),
      comMask: m.get("com_mask"),
      cacheRadius: m.get("cache_radius"),
      discRadius: m.get("disc_radius"),
      ...this.local
    };
  }
  /** Draw the mean pattern { values, raw } (see codes.js) on the chosen scale (patternLevel). */
  drawPattern({ values: data, raw }) {
    const g = this.geometry();
    const m = this.model;
    this.pattern = data;
    const vmax = m.get("pattern_vmax");
    const scale = m.get("pattern_scale");
    const gamma = m.get("pattern_gamma");
    const n = g.rows * g.cols;
    drawRGBA(this.image, g.rows, g.cols, (out) => patternRGBA(data, n, vmax, scale, gamma, out));
    this.image.setAttribute("data-checksum", checksumOf(raw));
    this.image.setAttribute("data-vmax", String(vmax));
    this.image.setAttribute("data-scale", scale);
    this.scaleSelect.value = scale;
    if (document.activeElement !== this.gammaInput) this.gammaInput.value = String(gamma);
    this.gammaInput.style.visibility = scale === "gamma" ? "visible" : "hidden";
    setSize(g.cols * g.s0, g.rows * g.s0, this.panel.stack, this.image, this.labels, this.rings);
    this.placeView(g);
  }
  /** Place the native-size canvases and the scale bar for the current zoom and focus. */
  placeView(g = this.geometry()) {
    const { s, ox, oy, zoom, focus } = g.view;
    const key = [s, ox, oy, g.cols, g.sampling, g.units].join(" ");
    if (key === this.placed) return;
    this.placed = key;
    const transform = `translate(${ox}px, ${oy}px) scale(${zoom})`;
    for (const canvas of [this.image, this.labels]) {
      canvas.style.transformOrigin = "0 0";
      canvas.style.transform = transform;
    }
    setScaleBar(this.panel, g.sampling, g.units, g.cols / zoom, s);
    const stack = this.panel.stack;
    stack.setAttribute("data-zoom", String(zoom));
    stack.setAttribute("data-focus", focus.join(","));
    stack.setAttribute("data-scale", String(s));
    stack.setAttribute("data-offset", `${ox},${oy}`);
  }
  /** Set the view {zoom, focus} locally at once and send it to the kernel soon. */
  setView({ zoom, focus }) {
    this.model.set("detector_zoom", zoom);
    this.model.set("detector_focus", focus);
    if (this.saveTimer === null) {
      this.saveTimer = setTimeout(() => {
        this.saveTimer = null;
        this.model.save_changes();
      }, SAVE_MS);
    }
  }
  makeToolbar() {
    const bar = h("div", "dpc-zoom-bar", { "data-testid": "detector-toolbar" });
    const zoomBy = (factor) => () => {
      const g = this.geometry();
      const [w, hgt] = [g.cols * g.s0, g.rows * g.s0];
      this.setView(zoomAt(g.view, g.rows, g.cols, w / 2, hgt / 2, factor));
    };
    const buttons = [
      [button("+", "in", "zoom in (or turn the mouse wheel over the image)"), zoomBy(ZOOM_STEP)],
      [button("\u2212", "out", "zoom out"), zoomBy(1 / ZOOM_STEP)],
      [button("fit disc", "fit", "frame the bright-field disc and the detector rings"), () => {
        const g = this.geometry();
        const outerPx = g.outer / g.sampling;
        this.setView(fitView(g.rows, g.cols, g.center, g.discRadius, outerPx));
      }],
      [button("whole", "whole", "show the whole detector"), () => {
        const g = this.geometry();
        this.setView({ zoom: 1, focus: [g.rows / 2, g.cols / 2] });
      }]
    ];
    for (const [el, action] of buttons) {
      el.addEventListener("click", action);
      bar.append(el);
    }
    this.scaleSelect = h("select", "dpc-scale-select", {
      "data-testid": "pattern-scale",
      title: "intensity scale of the diffraction image: log, linear or gamma (v/vmax)^\u03B3"
    });
    for (const name of PATTERN_SCALES) {
      const option = h("option", "", { value: name });
      option.textContent = name === "gamma" ? "\u03B3" : name;
      this.scaleSelect.append(option);
    }
    this.gammaInput = h("input", "dpc-gamma-input", {
      type: "number",
      min: 0.05,
      max: 5,
      step: 0.05,
      "data-testid": "pattern-gamma",
      title: "\u03B3 of the gamma scale (below 1 brightens faint signal)"
    });
    this.scaleSelect.addEventListener("change", () => {
      this.model.set("pattern_scale", this.scaleSelect.value);
      this.model.save_changes();
    });
    this.gammaInput.addEventListener("change", () => {
      const gamma = Number(this.gammaInput.value);
      if (!(gamma > 0 && Number.isFinite(gamma))) return;
      this.model.set("pattern_gamma", gamma);
      this.model.save_changes();
    });
    const scale = h("span", "dpc-scale-choice");
    scale.append(this.scaleSelect, this.gammaInput);
    this.panel.scalebar.append(scale);
    return bar;
  }
  drawOverlay() {
    const g = this.geometry();
    const labels = detectorLabels(g);
    drawRGBA(this.labels, g.rows, g.cols, (out) => segmentRGBA(labels, out));
    this.placeView(g);
    this.drawRings(g);
    this.onChange(g);
  }
  /** Redraw what the zoom and focus move: the canvases' placement, rings and handles. */
  drawView() {
    const g = this.geometry();
    this.placeView(g);
    this.drawRings(g);
  }
  drawRings(g) {
    const width = Math.round(g.cols * g.s0);
    const height = Math.round(g.rows * g.s0);
    const ratio = globalThis.devicePixelRatio || 1;
    resize(this.rings, Math.round(width * ratio), Math.round(height * ratio));
    const t = g.view;
    const [x0, y0] = centerOnScreen(g.center, t);
    const toScreen = (r) => r / g.sampling * t.s;
    for (const name of RINGS) {
      const style = this.handles[name].style;
      style.left = `${x0 + toScreen(g[name])}px`;
      style.top = `${y0}px`;
    }
    this.centerHandle.style.left = `${x0}px`;
    this.centerHandle.style.top = `${y0}px`;
    this.legend.style.visibility = g.cacheRadius > 0 ? "visible" : "hidden";
    const ctx = this.rings.getContext("2d");
    if (!ctx) return;
    ctx.setTransform?.(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const circle = (r, colour, dash, lineWidth = RING_WIDTH) => {
      if (!Number.isFinite(r)) return;
      ctx.beginPath();
      ctx.setLineDash(dash);
      ctx.strokeStyle = colour;
      ctx.lineWidth = lineWidth;
      ctx.arc(x0, y0, toScreen(r), 0, 2 * Math.PI);
      ctx.stroke();
    };
    if (g.cacheRadius > 0) circle(g.cacheRadius, CACHE_COLOUR, CACHE_DASH, CACHE_WIDTH);
    if (g.segments > 1 && g.outer > g.inner) {
      ctx.setLineDash([]);
      ctx.strokeStyle = "rgba(255, 255, 255, 0.7)";
      ctx.lineWidth = BORDER_WIDTH;
      ctx.beginPath();
      const rotation = g.rotationDeg * Math.PI / 180;
      for (let k = 0; k < g.segments; k++) {
        const angle = 2 * Math.PI * k / g.segments - rotation;
        const [down, right] = [Math.cos(angle), Math.sin(angle)];
        ctx.moveTo(x0 + right * toScreen(g.inner), y0 + down * toScreen(g.inner));
        ctx.lineTo(x0 + right * toScreen(g.outer), y0 + down * toScreen(g.outer));
      }
      ctx.stroke();
    }
    circle(g.inner, "rgba(255, 255, 255, 0.95)", []);
    circle(g.outer, "rgba(255, 255, 255, 0.95)", []);
    if (g.comMask && g.comMask.length === 2) {
      circle(g.comMask[0], "rgba(0, 255, 255, 0.9)", [4, 3]);
      circle(g.comMask[1], "rgba(0, 255, 255, 0.9)", [4, 3]);
    }
    ctx.setLineDash([]);
    drawSegmentIndices(ctx, g.segments, g.rotationDeg * Math.PI / 180, x0, y0, t.s, g.inner / g.sampling, g.outer / g.sampling);
  }
  /** The kernel answered request seq. */
  answer(seq) {
    this.gate.answer(seq);
    this.settle();
  }
  /** Drop the dragged radii once the drag has ended and every request was answered. */
  settle() {
    if (this.dragging === null && !this.gate.busy && this.local !== null) {
      this.local = null;
      this.drawOverlay();
    }
  }
  /** Pointer position in CSS px relative to the top-left of the image. */
  position(event) {
    const rect = this.panel.stack.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }
  listen() {
    const stack = this.panel.stack;
    stack.addEventListener("pointerdown", (event) => {
      const g = this.geometry();
      const [left, top] = this.position(event);
      const name = event.target.dataset?.ring ?? (hitCenter(left, top, g.center, g.view, CENTER_TOLERANCE) ? "center" : null) ?? hitRing(left, top, g.center, g.view, g.sampling, { inner: g.inner, outer: g.outer }, RING_TOLERANCE);
      if (!name) {
        this.dragging = "pan";
        this.dragStart = { view: g.view, pointer: [left, top] };
        this.rings.style.cursor = "grabbing";
        event.target.setPointerCapture?.(event.pointerId);
        event.preventDefault();
        return;
      }
      this.dragging = name;
      this.local = { inner: g.inner, outer: g.outer, center: g.center };
      this.dragStart = { center: g.center, pointer: [left, top] };
      event.target.setPointerCapture?.(event.pointerId);
      event.preventDefault();
    });
    stack.addEventListener("pointermove", (event) => {
      const g = this.geometry();
      const [left, top] = this.position(event);
      if (this.dragging === "pan") {
        const { view, pointer } = this.dragStart;
        this.setView(panBy(view, g.rows, g.cols, left - pointer[0], top - pointer[1]));
        return;
      }
      if (this.dragging === "center") {
        const { center, pointer } = this.dragStart;
        const [qx, qy] = dragCenter(center, pointer, [left, top], g.view, g.rows, g.cols);
        this.local = { ...this.local, center: [qx, qy] };
        this.drawOverlay();
        this.gate.request({ type: "center", qx, qy }, 1);
        return;
      }
      if (this.dragging !== null) {
        this.local = { ...this.local, [this.dragging]: radiusAt(left, top, g.center, g.view, g.sampling) };
        this.drawOverlay();
        this.gate.request({ type: "geometry", inner: this.local.inner, outer: this.local.outer });
        return;
      }
      const onCenter = hitCenter(left, top, g.center, g.view, CENTER_TOLERANCE);
      const near = hitRing(left, top, g.center, g.view, g.sampling, { inner: g.inner, outer: g.outer }, RING_TOLERANCE);
      this.rings.style.cursor = onCenter ? "move" : near ? "ew-resize" : g.view.zoom > 1 ? "grab" : "crosshair";
      showReadout(this.panel, () => {
        const now = this.geometry();
        const element = elementAt(left, top, now.view, now.rows, now.cols);
        if (element) this.panel.readout.setAttribute("data-pixel", element.join(","));
        else this.panel.readout.removeAttribute("data-pixel");
        return element ? this.readout(now, ...element) : null;
      });
    });
    stack.addEventListener("pointerleave", () => {
      clearReadout(this.panel);
      this.panel.readout.removeAttribute("data-pixel");
    });
    stack.addEventListener("wheel", (event) => {
      const g = this.geometry();
      const [left, top] = this.position(event);
      const step = event.deltaMode === 1 ? 40 : event.deltaMode === 2 ? 800 : 1;
      const next = zoomAt(g.view, g.rows, g.cols, left, top, WHEEL_STEP ** (-event.deltaY * step));
      if (next.zoom === g.view.zoom && next.focus.every((f, k) => f === g.view.focus[k])) return;
      this.setView(next);
      event.preventDefault();
    }, { passive: false });
    const end = (event) => {
      if (this.dragging === null) return;
      if (this.dragging === "pan") {
        if (event.type === "pointerup") {
          const { view, pointer } = this.dragStart;
          const [left, top] = this.position(event);
          const g = this.geometry();
          this.setView(panBy(view, g.rows, g.cols, left - pointer[0], top - pointer[1]));
        }
        this.dragging = null;
        this.dragStart = null;
        return;
      }
      this.dragging = null;
      this.dragStart = null;
      this.settle();
    };
    stack.addEventListener("pointerup", end);
    stack.addEventListener("pointercancel", end);
  }
  readout(g, i, j) {
    const dx = i - g.center[0];
    const dy = j - g.center[1];
    const u = g.units;
    const r = Math.sqrt(dx * dx + dy * dy) * g.sampling;
    return `q ${fmt(dx * g.sampling)}, ${fmt(dy * g.sampling)} ${u}, r ${fmt(r)}: ${fmt(this.pattern[i * g.cols + j])}`;
  }
};

// src/colorbar.js
var BAR_PIXELS = 256;
var gradients = /* @__PURE__ */ new Map();
function barGradient(lut) {
  let css = gradients.get(lut);
  if (css === void 0) {
    const rgba = barRGBA(BAR_PIXELS, lut, new Uint8ClampedArray(4 * BAR_PIXELS));
    const hex = (v) => v.toString(16).padStart(2, "0");
    const stops = [];
    for (let c = 0; c < BAR_PIXELS; c++) {
      stops.push(`#${hex(rgba[4 * c])}${hex(rgba[4 * c + 1])}${hex(rgba[4 * c + 2])}`);
    }
    css = `linear-gradient(to right, ${stops.join(", ")})`;
    gradients.set(lut, css);
  }
  return css;
}
function makeColorBar(name, lut) {
  const root = h("div", "dpc-colorbar", { "data-testid": `${name}-colorbar` });
  const gradient = h("div", "dpc-colorbar-bar", { "data-testid": `${name}-colorbar-gradient` });
  gradient.style.backgroundImage = barGradient(lut);
  const ticks = h("div", "dpc-colorbar-ticks");
  const low = h("span", "dpc-colorbar-low");
  const middle = h("span", "dpc-colorbar-mid");
  const high = h("span", "dpc-colorbar-high");
  ticks.append(low, middle, high);
  root.append(gradient, ticks);
  return { root, gradient, low, middle, high };
}
function barUnit(units) {
  return units || "arb.";
}
function setColorBar(bar, low, high, units, middle, width) {
  setText(bar.low, typeof low === "number" ? fmt(low) : low);
  setText(bar.middle, middle);
  setText(bar.high, `${typeof high === "number" ? fmt(high) : high} ${barUnit(units)}`);
  const css = `${width}px`;
  if (bar.root.style.width !== css) bar.root.style.width = css;
  bar.root.setAttribute("data-units", barUnit(units));
}

// src/panels.js
var WHEEL_SIZE = 64;
function scanInfo(model, size, bin = 1) {
  const [scanRows, scanCols] = model.get("scan_shape");
  const rows = Math.floor(scanRows / bin);
  const cols = Math.floor(scanCols / bin);
  const s = size / Math.max(scanRows, scanCols, 1) * bin;
  const pixel = model.get("scan_sampling") * bin;
  const units = model.get("scan_units");
  const block = bin > 1 ? ` (${bin}\xD7${bin} mean)` : "";
  const where = (i, j) => `x ${fmt(i * pixel)} ${units}, y ${fmt(j * pixel)} ${units}${block}`;
  return { rows, cols, s, pixel, units, where, bin };
}
function hover(target, panel, getScan, at) {
  target.addEventListener("pointermove", (event) => {
    const { offsetX, offsetY } = event;
    showReadout(panel, () => {
      const { rows, cols, s } = getScan();
      const i = Math.floor(offsetY / s);
      const j = Math.floor(offsetX / s);
      return i >= 0 && i < rows && j >= 0 && j < cols ? at(i, j) : null;
    });
  });
  target.addEventListener("pointerleave", () => clearReadout(panel));
}
var ImagePanel = class {
  constructor(name, title, getScan, signed = false) {
    this.panel = makePanel(name, title);
    this.title = title;
    this.signed = signed;
    this.lut = signed ? DIVERGING_LUT : SEQUENTIAL_LUT;
    this.canvas = h("canvas", "dpc-image", { "data-testid": `${name}-image`, "data-map": signed ? "diverging" : "sequential" });
    this.panel.stack.append(this.canvas);
    this.bar = makeColorBar(name, this.lut);
    this.panel.root.insertBefore(this.bar.root, this.panel.scalebar);
    this.data = new Float32Array(0);
    this.units = "";
    this.getScan = getScan;
    hover(this.canvas, this.panel, getScan, (i, j) => {
      const { cols, where } = getScan();
      return `${where(i, j)}: ${fmt(this.data[i * cols + j])} ${this.units}`;
    });
  }
  /**
   * Draw images { values, raw } (see codes.js) between range[0] and range[1] (a signed panel:
   * between -m and m, m the larger magnitude of the two), and label the colour bar in units.
   */
  draw({ values, raw }, range, units) {
    const scan = this.getScan();
    const { rows, cols, s } = scan;
    this.data = values;
    this.units = units;
    const [vmin, vmax] = this.signed ? symmetricRange(range[0], range[1]) : range;
    drawRGBA(this.canvas, rows, cols, (out) => lutRGBA(values, 0, rows * cols, vmin, vmax, this.lut, out));
    this.canvas.setAttribute("data-checksum", checksumOf(raw));
    this.canvas.setAttribute("data-bin", String(scan.bin));
    this.canvas.setAttribute("data-vmin", String(vmin));
    this.canvas.setAttribute("data-vmax", String(vmax));
    setSize(cols * s, rows * s, this.panel.stack, this.canvas);
    setColorBar(this.bar, vmin, vmax, units, this.signed ? "0" : "", cols * s);
    if (!this.signed) setText(this.panel.titleEl, `${this.title} (${barUnit(units)})`);
    setScaleBar(this.panel, scan.pixel, scan.units, cols, s);
  }
};
var SegmentsPanel = class {
  constructor(getScan) {
    this.panel = makePanel("segments", "segment images");
    this.grid = h("div", "dpc-grid");
    this.panel.stack.append(this.grid);
    this.bar = makeColorBar("segments", SEQUENTIAL_LUT);
    this.panel.root.insertBefore(this.bar.root, this.panel.scalebar);
    this.getScan = getScan;
    this.canvases = [];
    this.data = new Float32Array(0);
    this.scale = 1;
  }
  /** A tile: its segment's colour as a frame, the index in a badge, the image canvas. */
  makeTile(k) {
    const tile = h("div", "dpc-tile", { "data-testid": `segment-tile-${k}`, "data-index": k });
    tile.style.borderColor = segmentColor(k);
    const badge = h("span", "dpc-tile-index", { "data-testid": `segment-index-${k}` });
    badge.textContent = String(k);
    badge.style.background = segmentColor(k);
    badge.style.color = labelInk(k);
    const canvas = h("canvas", "dpc-image", { "data-index": k, "data-testid": `segment-image-${k}`, "data-map": "sequential" });
    hover(canvas, this.panel, () => ({ ...this.getScan(), s: this.scale }), (i, j) => {
      const scan = this.getScan();
      const value = this.data[(k * scan.rows + i) * scan.cols + j];
      return `segment ${k}, ${scan.where(i, j)}: ${fmt(value)}`;
    });
    tile.append(canvas, badge);
    return { tile, canvas };
  }
  /** Draw the N images { values, raw } (see codes.js), image k between ranges[k]. */
  draw({ values: data, raw }, ranges, size) {
    const { rows, cols, pixel, units, bin } = this.getScan();
    this.data = data;
    const n = rows * cols > 0 ? Math.floor(data.length / (rows * cols)) : 0;
    const layout = tileLayout(n, size);
    const s = layout.tile / Math.max(rows, cols, 1);
    if (this.canvases.length !== n) {
      this.grid.replaceChildren();
      this.canvases = [];
      for (let k = 0; k < n; k++) {
        const { tile, canvas } = this.makeTile(k);
        this.grid.append(tile);
        this.canvases.push(canvas);
      }
    }
    this.scale = s;
    this.grid.style.gridTemplateColumns = `repeat(${layout.columns}, min-content)`;
    this.grid.style.gap = `${TILE_GAP}px`;
    this.grid.setAttribute("data-columns", String(layout.columns));
    this.canvases.forEach((canvas, k) => {
      const [vmin, vmax] = ranges[k] ?? [0, 0];
      const image = data.subarray(k * rows * cols, (k + 1) * rows * cols);
      drawRGBA(canvas, rows, cols, (out) => lutRGBA(image, 0, rows * cols, vmin, vmax, SEQUENTIAL_LUT, out));
      canvas.setAttribute("data-checksum", checksumOf(raw.subarray(k * rows * cols, (k + 1) * rows * cols)));
      canvas.setAttribute("data-bin", String(bin));
      canvas.setAttribute("data-vmin", String(vmin));
      canvas.setAttribute("data-vmax", String(vmax));
      setSize(cols * s, rows * s, canvas);
    });
    const gridWidth = layout.columns * (cols * s + 2 * TILE_FRAME) + (layout.columns - 1) * TILE_GAP;
    setColorBar(this.bar, "tile min", "tile max", "counts", "", gridWidth);
    setScaleBar(this.panel, pixel, units, 2 * cols, s);
  }
};
var ComPanel = class {
  constructor(getScan) {
    this.panel = makePanel("com-color", "CoM (colour wheel)");
    this.canvas = h("canvas", "dpc-image", { "data-testid": "com-color-image" });
    this.quiver = h("canvas", "dpc-quiver", { "data-testid": "com-quiver" });
    this.wheel = h("canvas", "dpc-wheel", { "data-testid": "com-wheel" });
    this.panel.stack.append(this.canvas, this.quiver);
    const legend = h("div", "dpc-legend");
    const axes = h("span", "dpc-legend-axes");
    axes.textContent = "x \u2193  y \u2192";
    this.saturation = h("span", "dpc-legend-saturation", { "data-testid": "com-saturation" });
    const words = h("div", "dpc-legend-words");
    words.append(axes, this.saturation);
    legend.append(this.wheel, words);
    this.panel.root.insertBefore(legend, this.panel.scalebar);
    drawRGBA(this.wheel, WHEEL_SIZE, WHEEL_SIZE, (out) => wheelRGBA(WHEEL_SIZE, out));
    this.getScan = getScan;
    this.data = new Float32Array(0);
    this.units = "";
    hover(this.canvas, this.panel, getScan, (i, j) => {
      const { rows, cols, where } = getScan();
      const x = this.data[i * cols + j];
      const y = this.data[rows * cols + i * cols + j];
      const angle = Math.atan2(y, x) * 180 / Math.PI;
      return `${where(i, j)}: |CoM| ${fmt(Math.hypot(x, y))} ${this.units}, ${fmt(angle)}\xB0`;
    });
  }
  /** Draw the field { values, raw } (see codes.js; x block, then y) saturating at vmax. */
  draw({ values: data, raw }, vmax, units) {
    const scan = this.getScan();
    const { rows, cols, s } = scan;
    const n = rows * cols;
    this.data = data;
    this.units = units;
    drawRGBA(this.canvas, rows, cols, (out) => complexRGBA(data, n, vmax, out));
    this.canvas.setAttribute("data-checksum", checksumOf(raw));
    this.canvas.setAttribute("data-bin", String(scan.bin));
    this.canvas.setAttribute("data-vmax", String(vmax));
    setSize(cols * s, rows * s, this.panel.stack, this.canvas, this.quiver);
    this.drawQuiver(data, rows, cols, s, vmax);
    setText(this.saturation, `full colour at |CoM| \u2265 ${fmt(vmax)} ${barUnit(units)}`);
    setScaleBar(this.panel, scan.pixel, scan.units, cols, s);
  }
  drawQuiver(data, rows, cols, s, vmax) {
    const width = Math.round(cols * s);
    const height = Math.round(rows * s);
    resize(this.quiver, width, height);
    const ctx = this.quiver.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, width, height);
    if (!(vmax > 0)) return;
    const step = quiverStep(rows, cols);
    const arrows = quiverArrows(data, rows, cols, step);
    const scale = 0.9 * step * s / vmax;
    ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
    ctx.lineWidth = 1;
    this.quiver.setAttribute("data-arrows", String(arrows.length));
    for (const { row, col, u, v } of arrows) {
      const x0 = col * s;
      const y0 = row * s;
      const x1 = x0 + v * scale;
      const y1 = y0 + u * scale;
      const a = Math.atan2(y1 - y0, x1 - x0);
      const head = Math.min(4, 0.3 * Math.hypot(x1 - x0, y1 - y0));
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.lineTo(x1 - head * Math.cos(a - 0.5), y1 - head * Math.sin(a - 0.5));
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - head * Math.cos(a + 0.5), y1 - head * Math.sin(a + 0.5));
      ctx.stroke();
    }
  }
};

// src/codes.js
var FINITE_MAX = 65532;
var SPECIAL = [NaN, Infinity, -Infinity];
function typedView(value, Type) {
  const buffer = value.buffer ?? value;
  const offset = value.byteOffset ?? 0;
  const length = value.byteLength ?? buffer.byteLength;
  const size = Type.BYTES_PER_ELEMENT;
  if (offset % size === 0) return new Type(buffer, offset, Math.floor(length / size));
  return new Type(buffer.slice(offset, offset + length));
}
function decodeImages(value, maps, out = null) {
  if (!value) return { values: new Float32Array(0), raw: new Float32Array(0) };
  if (!maps || maps.length === 0) {
    const values = typedView(value, Float32Array);
    return { values, raw: values };
  }
  const codes = typedView(value, Uint16Array);
  const result = out && out.length === codes.length ? out : new Float32Array(codes.length);
  const n = Math.floor(codes.length / maps.length);
  for (let k = 0; k < maps.length; k++) {
    const [offset, scale] = maps[k];
    for (let i = k * n; i < (k + 1) * n; i++) {
      const q = codes[i];
      result[i] = q <= FINITE_MAX ? offset + scale * q : SPECIAL[q - FINITE_MAX - 1];
    }
  }
  return { values: result, raw: codes };
}

// src/layout.js
var GAP = 12;
var MIN_SIZE = 230;
var FLOOR_SIZE = 120;
var MAX_SIZE = 420;
var MAX_COLUMNS = 3;
function fitPanels(width, fixedSize = 0) {
  const w = Number.isFinite(width) && width > 0 ? width : 0;
  if (fixedSize > 0) {
    const columns2 = Math.min(MAX_COLUMNS * 2, Math.max(1, Math.floor((w + GAP) / (fixedSize + GAP))));
    return { columns: columns2, size: Math.round(fixedSize) };
  }
  const columns = Math.min(MAX_COLUMNS, Math.max(1, Math.floor((w + GAP) / (MIN_SIZE + GAP))));
  const fill = Math.floor((w - (columns - 1) * GAP) / columns);
  return { columns, size: Math.min(MAX_SIZE, Math.max(FLOOR_SIZE, fill)) };
}

// src/view.js
var TRIGGERS = {
  size: ["panel_size", "fit_width"],
  pattern: ["pattern", "pattern_map", "pattern_vmax", "pattern_scale", "pattern_gamma", "detector_shape", "detector_sampling", "detector_units", "panel_size"],
  overlay: ["detector_shape", "center", "detector_sampling", "inner", "outer", "segments", "rotation", "com_mask", "cache_radius", "panel_size"],
  zoom: ["detector_zoom", "detector_focus"],
  segments: ["segment_images", "segment_images_map", "segment_images_bin", "segment_ranges", "scan_shape", "scan_sampling", "scan_units", "panel_size"],
  com: ["com", "com_map", "com_bin", "com_ranges", "com_vmax", "com_units", "scan_shape", "scan_sampling", "scan_units", "panel_size"],
  phase: ["phase", "phase_map", "phase_bin", "phase_range", "phase_units", "scan_shape", "scan_sampling", "scan_units", "panel_size"]
};
function trace(hop) {
  globalThis.__dpcTrace?.mark(hop);
}
var ExplorerView = class {
  constructor(model, el) {
    this.model = model;
    this.root = h("div", "dpc-view", { "data-testid": "dpc-view", "data-version": 0, "data-pending": 0 });
    this.version = 0;
    const scanOf = (trait) => () => scanInfo(model, model.get("panel_size"), model.get(`${trait}_bin`) || 1);
    this.detector = new DetectorPanel(model, (g) => this.describe(g));
    this.segments = new SegmentsPanel(scanOf("segment_images"));
    this.comX = new ImagePanel("com-x", "CoM x (scan frame)", scanOf("com"), true);
    this.comY = new ImagePanel("com-y", "CoM y (scan frame)", scanOf("com"), true);
    this.comColor = new ComPanel(scanOf("com"));
    this.phase = new ImagePanel("phase", "phase", scanOf("phase"));
    this.panels = [this.detector, this.phase, this.segments, this.comColor, this.comX, this.comY];
    for (const panel of this.panels) this.root.append(panel.panel.root);
    el.append(this.root);
    this.width = -1;
    this.fit();
    this.resizes = typeof ResizeObserver === "function" ? new ResizeObserver(() => this.fit()) : null;
    this.resizes?.observe(this.root);
    const ratio = globalThis.devicePixelRatio || 1;
    if (model.get("pixel_ratio") !== ratio) {
      model.set("pixel_ratio", ratio);
      model.save_changes();
    }
    this.decoded = {};
    this.dirty = new Set(Object.keys(TRIGGERS));
    this.scheduled = false;
    this.handlers = [];
    for (const [group, keys] of Object.entries(TRIGGERS)) {
      for (const key of keys) this.on(`change:${key}`, () => this.mark(group));
    }
    this.on("msg:custom", (msg) => {
      if (msg?.type === "ack") {
        this.detector.answer(msg.seq);
        this.root.setAttribute("data-pending", this.detector.gate.busy ? 1 : 0);
      }
    });
    this.flush();
  }
  /**
   * Lay the panels out in the root's width (layout.js). With fit_width the panel size follows
   * the width and is saved to the model (the kernel bins drag frames to it); changes of the
   * root's height (new content) do nothing.
   */
  fit() {
    const width = this.root.clientWidth;
    const fixed = this.model.get("fit_width") === false ? this.model.get("panel_size") : 0;
    if (width === this.width && fixed === this.fixed) return;
    this.width = width;
    this.fixed = fixed;
    if (!(width > 0)) return;
    const { columns, size } = fitPanels(width, fixed);
    this.root.style.gridTemplateColumns = `repeat(${columns}, ${size}px)`;
    this.root.style.gap = `${GAP}px`;
    this.root.setAttribute("data-columns", columns);
    if (!fixed && this.model.get("panel_size") !== size) {
      this.model.set("panel_size", size);
      this.model.save_changes();
    }
  }
  on(event, handler) {
    this.model.on(event, handler);
    this.handlers.push([event, handler]);
  }
  mark(group) {
    this.dirty.add(group);
    if (this.scheduled) return;
    this.scheduled = true;
    trace("changed");
    queueMicrotask(() => this.flush());
  }
  /** The decoded images of a trait: { values, raw } (see codes.js). */
  images(name) {
    const images2 = decodeImages(this.model.get(name), this.model.get(`${name}_map`), this.decoded[name]);
    this.decoded[name] = images2.values;
    return images2;
  }
  flush() {
    this.scheduled = false;
    const m = this.model;
    const size = m.get("panel_size");
    const dirty = this.dirty;
    this.dirty = /* @__PURE__ */ new Set();
    if (dirty.has("pattern")) this.detector.drawPattern(this.images("pattern"));
    if (dirty.has("overlay")) this.detector.drawOverlay();
    else if (dirty.has("zoom")) this.detector.drawView();
    if (dirty.has("segments")) this.segments.draw(this.images("segment_images"), m.get("segment_ranges"), size);
    if (dirty.has("com")) {
      const { values, raw } = this.images("com");
      const n = values.length / 2;
      const [rx, ry] = m.get("com_ranges").length === 2 ? m.get("com_ranges") : [[0, 0], [0, 0]];
      const half = (k) => ({ values: values.subarray(k * n, (k + 1) * n), raw: raw.subarray(k * n, (k + 1) * n) });
      this.comX.draw(half(0), rx, m.get("com_units"));
      this.comY.draw(half(1), ry, m.get("com_units"));
      this.comColor.draw({ values, raw }, m.get("com_vmax"), m.get("com_units"));
    }
    if (dirty.has("phase")) this.phase.draw(this.images("phase"), m.get("phase_range"), m.get("phase_units"));
    if (dirty.has("size")) this.fit();
    for (const panel of this.panels) refreshReadout(panel.panel);
    this.version += 1;
    this.root.setAttribute("data-version", this.version);
    this.root.setAttribute("data-pending", this.detector.gate.busy ? 1 : 0);
  }
  /** Write the drawn detector geometry into data attributes (for tests and styling). */
  describe(g) {
    for (const key of ["inner", "outer", "segments"]) this.root.setAttribute(`data-${key}`, String(g[key]));
    this.root.setAttribute("data-rotation", String(g.rotationDeg));
    this.root.setAttribute("data-center", g.center.join(","));
    this.root.setAttribute("data-pending", this.detector.gate.busy ? 1 : 0);
  }
  destroy() {
    this.resizes?.disconnect();
    for (const panel of this.panels) clearReadout(panel.panel);
    for (const [event, handler] of this.handlers) this.model.off(event, handler);
    this.root.remove();
  }
};

// src/explorer.js
function render({ model, el }) {
  guardShortcuts();
  const view = new ExplorerView(model, el);
  return () => view.destroy();
}
var explorer_default = { render };
export {
  explorer_default as default
};
