// The handwritten-digits page: draw or upload a digit, scale it to the model's input (8x8 for
// scikit-learn's digits, 28x28 for MNIST-shaped models, read from the signature), predict with
// every AVAILABLE version (and any other model with a digits-shaped signature), side by side.
import { api, el, svg } from "./common.js";

const pad = document.getElementById("pad");
const ink = pad.getContext("2d", { willReadFrequently: true });
const preview = document.getElementById("preview");
const results = document.getElementById("results");
const status = document.getElementById("status");
let targets = []; // [{model, version, signature, input, dims}]
let geometry = null; // {side, dims}
let drawn = false;

// -- choosing what to call ----------------------------------------------------------------------

// A digits signature: one float input of 64 (8x8) or 784 (28x28) values per row, ten classes out.
function digitsInput(signature) {
  if (signature.inputs.length !== 1) return null;
  const input = signature.inputs[0];
  if (!["DT_FLOAT", "DT_DOUBLE", "DT_HALF"].includes(input.dtype) || !input.shape) return null;
  const dims = input.shape.slice(1);
  if (dims.some((d) => d < 0)) return null;
  const count = dims.reduce((a, b) => a * b, 1);
  const side = count === 64 ? 8 : count === 784 ? 28 : null;
  const tenClasses = signature.outputs.some((o) => o.shape && o.shape[o.shape.length - 1] === 10);
  return side && tenClasses ? { input, dims, side } : null;
}

function pickSignature(signatures) {
  const ordered = [...signatures].sort((a, b) => (b.key === "serving_default") - (a.key === "serving_default"));
  for (const signature of ordered) {
    const found = digitsInput(signature);
    if (found) return { signature, ...found };
  }
  return null;
}

function chooseTargets(doc) {
  const wanted = new URLSearchParams(location.search).get("model");
  const found = [];
  const models = wanted ? doc.models.filter((m) => m.name === wanted) : doc.models;
  for (const model of models) {
    for (const version of model.versions) {
      if (version.state !== "AVAILABLE" || !version.signatures) continue;
      const pick = pickSignature(version.signatures);
      if (pick) found.push({ model: model.name, version: version.version, labels: labelsOf(model, version.version), ...pick });
    }
  }
  // One geometry per page: the first digits model decides, others must match.
  const side = found.length ? found[0].side : null;
  return found.filter((t) => t.side === side).sort((a, b) => a.model.localeCompare(b.model) || a.version - b.version);
}

function labelsOf(model, version) {
  return Object.entries(model.labels).filter(([, v]) => v === version).map(([label]) => label);
}

// -- drawing ------------------------------------------------------------------------------------

function clearPad() {
  ink.fillStyle = "#000";
  ink.fillRect(0, 0, pad.width, pad.height);
  drawn = false;
  results.querySelectorAll(".prediction").forEach((p) => (p.textContent = "–"));
  results.querySelectorAll(".bars").forEach((b) => b.replaceChildren());
  updatePreview();
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [((event.clientX - box.left) / box.width) * pad.width, ((event.clientY - box.top) / box.height) * pad.height];
}

function setupDrawing() {
  ink.lineCap = "round";
  ink.lineJoin = "round";
  let last = null;
  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    last = padPoint(event);
    stroke(last, last);
  });
  pad.addEventListener("pointermove", (event) => {
    if (!last) return;
    const point = padPoint(event);
    stroke(last, point);
    last = point;
  });
  const end = () => {
    if (!last) return;
    last = null;
    predict();
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  pad.addEventListener("keydown", (event) => {
    if (event.key === "Delete" || event.key === "Backspace" || event.key === "Escape") clearPad();
    if (event.key === "Enter") predict();
  });
}

function stroke(from, to) {
  ink.strokeStyle = "#fff";
  ink.lineWidth = pad.width / 12;
  ink.beginPath();
  ink.moveTo(...from);
  ink.lineTo(...to);
  ink.stroke();
  drawn = true;
}

function loadUpload(file) {
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.onload = () => {
    clearPad();
    const scale = Math.min(pad.width / image.width, pad.height / image.height);
    const w = image.width * scale;
    const h = image.height * scale;
    ink.drawImage(image, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
    URL.revokeObjectURL(url);
    // Dark ink on a light background (a photo or a scan): invert to the models' light-on-dark.
    const pixels = ink.getImageData(0, 0, pad.width, pad.height);
    let sum = 0;
    for (let i = 0; i < pixels.data.length; i += 4) sum += pixels.data[i];
    if (sum / (pixels.data.length / 4) > 127) {
      for (let i = 0; i < pixels.data.length; i += 4) {
        for (let c = 0; c < 3; c++) pixels.data[i + c] = 255 - pixels.data[i + c];
      }
      ink.putImageData(pixels, 0, 0);
    }
    drawn = true;
    predict();
  };
  image.onerror = () => {
    status.textContent = `Could not read ${file.name} as an image; try a PNG or JPEG`;
    URL.revokeObjectURL(url);
  };
  image.src = url;
}

// -- scaling to the model's input ---------------------------------------------------------------

// The ink's bounding box, scaled to fill `fill` of a side x side square and centred on it (as
// the digits sets were made: scikit-learn's fill their 8x8 frame, MNIST's sit in 20x20 of 28x28).
function scaled(side) {
  const { data } = ink.getImageData(0, 0, pad.width, pad.height);
  let [x0, y0, x1, y1] = [pad.width, pad.height, -1, -1];
  for (let y = 0; y < pad.height; y++) {
    for (let x = 0; x < pad.width; x++) {
      if (data[(y * pad.width + x) * 4] > 30) {
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
      }
    }
  }
  const out = document.createElement("canvas");
  out.width = out.height = side;
  const ctx = out.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, side, side);
  if (x1 < 0) return ctx.getImageData(0, 0, side, side);
  const fill = side === 28 ? 20 / 28 : 1;
  const box = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const scale = (side * fill) / box;
  const w = (x1 - x0 + 1) * scale;
  const h = (y1 - y0 + 1) * scale;
  // Halve in steps so the browser's bilinear filter averages every pixel (area-like scaling).
  let source = pad;
  let [sx, sy, sw, sh] = [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
  while (w < sw / 2 && sw > 2) {
    const half = document.createElement("canvas");
    half.width = Math.max(1, Math.ceil(sw / 2));
    half.height = Math.max(1, Math.ceil(sh / 2));
    half.getContext("2d").drawImage(source, sx, sy, sw, sh, 0, 0, half.width, half.height);
    source = half;
    [sx, sy, sw, sh] = [0, 0, half.width, half.height];
  }
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, sx, sy, sw, sh, (side - w) / 2, (side - h) / 2, w, h);
  return ctx.getImageData(0, 0, side, side);
}

function updatePreview() {
  if (!geometry) return;
  const image = scaled(geometry.side);
  preview.width = preview.height = geometry.side;
  preview.getContext("2d").putImageData(image, 0, 0);
  return image;
}

// Pixels in [0, 1] (ink = 1), nested to the input's per-row dims ([64], [8, 8], [28, 28, 1]...).
function instance(image, dims) {
  const flat = [];
  for (let i = 0; i < image.data.length; i += 4) flat.push(Math.round((image.data[i] / 255) * 1000) / 1000);
  let index = 0;
  const nest = (rest) => (rest.length === 0 ? flat[index++] : Array.from({ length: rest[0] }, () => nest(rest.slice(1))));
  return nest(dims);
}

// -- predicting ---------------------------------------------------------------------------------

function probabilitiesOf(prediction, target) {
  let values = prediction;
  if (!Array.isArray(prediction)) {
    const outputs = target.signature.outputs.filter((o) => o.shape && o.shape[o.shape.length - 1] === 10);
    const preferred = outputs.find((o) => /prob/i.test(o.alias)) || outputs[0];
    values = prediction[preferred.alias];
  }
  values = values.flat(Infinity).map(Number);
  const sum = values.reduce((a, b) => a + b, 0);
  if (values.some((v) => v < 0) || Math.abs(sum - 1) > 0.01) {
    const max = Math.max(...values); // logits: softmax them
    const exps = values.map((v) => Math.exp(v - max));
    const total = exps.reduce((a, b) => a + b, 0);
    values = exps.map((v) => v / total);
  }
  return values;
}

function barChart(probabilities) {
  const width = 220;
  const height = 110;
  const barWidth = width / 10;
  const best = probabilities.indexOf(Math.max(...probabilities));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "bars", role: "img",
    "aria-label": probabilities.map((p, d) => `${d}: ${(p * 100).toFixed(0)}%`).join(", ") });
  probabilities.forEach((p, digit) => {
    const h = Math.max(1, p * (height - 28));
    chart.append(svg("rect", { x: digit * barWidth + 3, y: height - 14 - h, width: barWidth - 6, height: h,
      class: digit === best ? "bar top" : "bar" }));
    const label = svg("text", { x: digit * barWidth + barWidth / 2, y: height - 2, "text-anchor": "middle" });
    label.textContent = String(digit);
    chart.append(label);
    if (p >= 0.05) {
      const value = svg("text", { x: digit * barWidth + barWidth / 2, y: height - 17 - h, "text-anchor": "middle" });
      value.textContent = `${Math.round(p * 100)}`;
      chart.append(value);
    }
  });
  return chart;
}

function renderColumns() {
  results.replaceChildren(
    ...targets.map((t) =>
      el(
        "section",
        { class: "result", "data-model": t.model, "data-version": t.version },
        el("h3", {}, `${t.model} · version ${t.version}`, t.labels.map((l) => el("span", { class: "label-chip" }, ` ${l}`))),
        el("p", { class: "prediction", "aria-label": `Prediction of version ${t.version}` }, "–"),
        el("p", { class: "latency" }, ""),
        el("div", { class: "bars-holder" }),
      ),
    ),
  );
}

async function predictOne(target, image, column) {
  const body = { signature_name: target.signature.key, instances: [instance(image, target.dims)] };
  const url = `/v1/models/${encodeURIComponent(target.model)}/versions/${target.version}:predict`;
  try {
    const answer = await api("POST", url, body);
    const probabilities = probabilitiesOf(answer.body.predictions[0], target);
    const best = probabilities.indexOf(Math.max(...probabilities));
    column.querySelector(".prediction").replaceChildren(
      String(best), el("small", {}, ` ${(probabilities[best] * 100).toFixed(0)}%`));
    column.querySelector(".latency").textContent = `${answer.ms.toFixed(1)} ms`;
    column.querySelector(".bars-holder").replaceChildren(barChart(probabilities));
  } catch (error) {
    column.querySelector(".prediction").textContent = "!";
    column.querySelector(".latency").textContent = error.message;
  }
}

async function predict() {
  if (!geometry) return;
  const image = updatePreview();
  if (!drawn) {
    status.textContent = "Draw a digit first";
    return;
  }
  const columns = results.querySelectorAll(".result");
  await Promise.all(targets.map((t, i) => predictOne(t, image, columns[i])));
  status.textContent = `predicted at ${new Date().toLocaleTimeString()}`;
}

async function start() {
  setupDrawing();
  document.getElementById("clear").addEventListener("click", clearPad);
  document.getElementById("predict").addEventListener("click", predict);
  document.getElementById("upload").addEventListener("change", (event) => {
    if (event.target.files.length) loadUpload(event.target.files[0]);
  });
  clearPad();
  try {
    const { body } = await api("GET", "/console/api/models");
    targets = chooseTargets(body);
  } catch (error) {
    status.textContent = `Could not list the models: ${error.message}`;
    return;
  }
  if (!targets.length) {
    status.textContent = "No served model takes 8x8 or 28x28 digits (one float input, ten classes out)";
    return;
  }
  geometry = { side: targets[0].side };
  document.getElementById("geometry").textContent = `${geometry.side}×${geometry.side} pixels`;
  document.getElementById("model-name").textContent = [...new Set(targets.map((t) => t.model))].join(", ");
  renderColumns();
  updatePreview();
  status.textContent = "ready";
}

start();
