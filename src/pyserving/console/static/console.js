// The operator's console: models, versions, states, labels and signatures (polled every second
// from /console/api/models), per-model metrics (from /console/api/metrics), "try it", and
// operator actions through the admin API (/v1/admin/...), each confirmed first.
import { api, el, latestAvailable, modelPath, setupTokenButton } from "./common.js";
import { metricTiles } from "./charts.js";
import { inferenceUrl, tfServingExample, v2Example } from "./examples.js";

const MODELS_EVERY_MS = 1000;
const METRICS_EVERY_MS = 2000;
const ADMIN_TIMEOUT = "?timeout_seconds=120";

const cards = new Map(); // model name -> card
let documentNow = { models: [], permissions: [], protocols: ["tfserving"] };
let metricsNow = { models: {}, window: 300 };

const can = (action) => documentNow.permissions.includes(action);

// -- outcome and confirmation ------------------------------------------------------------------

function report(message, ok) {
  const list = document.getElementById("outcomes");
  const time = new Date().toLocaleTimeString();
  list.prepend(el("li", { class: ok ? "ok" : "failed" }, `${time} — ${message}`));
  while (list.children.length > 6) list.lastElementChild.remove();
}

function confirmAction(question) {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector(".confirm-question").textContent = question;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// Ask, run the admin call, report its outcome, refresh at once.
async function adminAction(question, describe, run) {
  if (!(await confirmAction(question))) {
    report(`Cancelled: ${describe}`, true);
    return;
  }
  try {
    const answer = await run();
    report(`${describe}: done (HTTP ${answer.status})`, true);
  } catch (error) {
    report(`${describe}: failed — ${error.message}`, false);
  }
  refreshModels();
}

// The versions a model should serve after adding or removing one: the policy's list when it is
// "specific", else the versions being served or loading now.
async function setServedVersions(model, change) {
  const { body: entry } = await api("GET", `/v1/admin/models/${modelPath(model.name)}`);
  const policy = entry.version_policy || {};
  let versions = policy.specific
    ? policy.specific.versions.map(Number)
    : model.versions.filter((v) => v.state !== "END").map((v) => v.version);
  versions = change(new Set(versions));
  if (versions.size === 0) {
    throw new Error("A model must keep at least one version; remove the model instead");
  }
  entry.version_policy = { specific: { versions: [...versions].sort((a, b) => a - b) } };
  delete entry.name;
  return api("PUT", `/v1/admin/models/${modelPath(model.name)}${ADMIN_TIMEOUT}`, entry);
}

// -- one model's card ---------------------------------------------------------------------------

function stateBadge(state) {
  return el("span", { class: `state state-${state.toLowerCase()}` }, state);
}

function versionsTable(model) {
  const labelsOf = (version) =>
    Object.entries(model.labels).filter(([, v]) => v === version).map(([label]) => label);
  const rows = model.versions.map((v) =>
    el(
      "tr",
      { "data-version": v.version, "data-state": v.state },
      el("td", {}, String(v.version)),
      el("td", {}, stateBadge(v.state)),
      el("td", {}, labelsOf(v.version).map((l) => el("span", { class: "label-chip" }, l))),
      el("td", { class: "error" }, v.error_message ? `${v.error_code}: ${v.error_message}` : ""),
      el(
        "td",
        {},
        can("admin") && v.state !== "END"
          ? el("button", {
              type: "button",
              class: "small",
              text: "Unload",
              "aria-label": `Unload version ${v.version} of ${model.name}`,
              onclick: () =>
                adminAction(
                  `Unload version ${v.version} of ${model.name}? Requests to it will fail.`,
                  `Unload ${model.name} version ${v.version}`,
                  () => setServedVersions(model, (s) => (s.delete(v.version), s)),
                ),
            })
          : "",
      ),
    ),
  );
  return el("div", { class: "table-wrap" }, el(
    "table",
    { class: "versions" },
    el("caption", {}, "Versions"),
    el("thead", {}, el("tr", {}, ["Version", "State", "Labels", "Status", ""].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 5 }, "No version known yet"))),
  ));
}

function labelsEditor(model) {
  const available = model.versions.filter((v) => v.state === "AVAILABLE").map((v) => v.version);
  const versionSelect = (current, id) =>
    el(
      "select",
      { id, "aria-label": "Version" },
      available.map((v) => el("option", { value: v, selected: v === current }, `version ${v}`)),
    );
  const rows = Object.entries(model.labels).map(([label, version]) => {
    const id = `label-${model.name}-${label}`;
    const select = versionSelect(version, id);
    return el(
      "li",
      { "data-label": label },
      el("label", { for: id }, el("span", { class: "label-chip" }, label), ` → ${version}`),
      can("admin") ? select : "",
      can("admin")
        ? el("button", {
            type: "button",
            class: "small",
            text: "Move",
            "aria-label": `Move label ${label} of ${model.name}`,
            onclick: () => {
              const target = Number(select.value);
              adminAction(
                `Move label "${label}" of ${model.name} from version ${version} to version ${target}?`,
                `Move ${model.name} label ${label} to ${target}`,
                () =>
                  api("PUT", `/v1/admin/models/${modelPath(model.name)}/labels/${encodeURIComponent(label)}`, {
                    version: target,
                  }),
              );
            },
          })
        : "",
      can("admin")
        ? el("button", {
            type: "button",
            class: "small secondary",
            text: "Remove",
            "aria-label": `Remove label ${label} of ${model.name}`,
            onclick: () =>
              adminAction(
                `Remove label "${label}" of ${model.name}? Requests through it will fail.`,
                `Remove ${model.name} label ${label}`,
                () => api("DELETE", `/v1/admin/models/${modelPath(model.name)}/labels/${encodeURIComponent(label)}`),
              ),
          })
        : "",
    );
  });
  const section = el("div", { class: "labels" }, el("h4", {}, "Labels"));
  section.append(rows.length ? el("ul", {}, rows) : el("p", { class: "muted" }, "No labels"));
  return section;
}

function signaturesView(model) {
  const latest = latestAvailable(model);
  const version = model.versions.find((v) => v.version === latest);
  if (!version || !version.signatures) return el("p", { class: "muted" }, "No AVAILABLE version: no signatures to show");
  const tensorRows = (kind, tensors) =>
    tensors.map((t) =>
      el(
        "tr",
        {},
        el("td", {}, kind),
        el("td", {}, el("code", {}, t.alias)),
        el("td", {}, t.dtype.replace("DT_", "").toLowerCase()),
        el("td", {}, el("code", {}, t.shape === null ? "unknown rank" : `[${t.shape.join(", ")}]`)),
      ),
    );
  return el(
    "details",
    { class: "signatures" },
    el("summary", {}, `Signatures of version ${latest} (${version.signatures.length})`),
    version.signatures.map((s) =>
      el(
        "table",
        { class: "signature" },
        el("caption", {}, el("code", {}, s.key), ` — ${s.method_name}`),
        el("thead", {}, el("tr", {}, ["", "Name", "Dtype", "Shape"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, tensorRows("in", s.inputs), tensorRows("out", s.outputs)),
      ),
    ),
  );
}

// The "try it" panel: built once per card, its choices refreshed in place so typing survives.
function tryItPanel(card) {
  const id = (suffix) => `try-${card.name}-${suffix}`;
  const protocol = el(
    "select",
    { id: id("protocol") },
    el("option", { value: "tfserving" }, "TF Serving REST"),
    el("option", { value: "v2" }, "V2 (Open Inference Protocol)"),
  );
  const target = el("select", { id: id("target") });
  const signature = el("select", { id: id("signature") });
  const editor = el("textarea", { id: id("body"), rows: 6, spellcheck: "false", class: "json" });
  const result = el("pre", { class: "answer", "aria-live": "polite" });
  const latency = el("p", { class: "latency" });
  let edited = false;
  editor.addEventListener("input", () => (edited = true));

  const currentSignature = () => {
    const model = card.model;
    const version = model.versions.find((v) => v.version === latestAvailable(model));
    return version && version.signatures ? version.signatures.find((s) => s.key === signature.value) : null;
  };
  const fillExample = () => {
    const sig = currentSignature();
    if (!sig) return;
    const example = protocol.value === "v2" ? v2Example(sig) : tfServingExample(sig);
    editor.value = JSON.stringify(example, null, 1).replace(/\n\s*(?=[\d\-.\]tf"])/g, " ");
    edited = false;
  };
  protocol.addEventListener("change", fillExample);
  signature.addEventListener("change", fillExample);

  const send = async () => {
    let body;
    try {
      body = JSON.parse(editor.value);
    } catch (error) {
      result.textContent = `The request is not valid JSON: ${error.message}`;
      result.className = "answer failed";
      return;
    }
    const [kind, value] = target.value.split(":");
    const where = kind === "version" ? { version: value } : kind === "label" ? { label: value } : {};
    const url = inferenceUrl(protocol.value, card.name, where);
    latency.textContent = `POST ${url} …`;
    try {
      const answer = await api("POST", url, body);
      result.textContent = JSON.stringify(answer.body, null, 1);
      result.className = "answer ok";
      latency.textContent = `POST ${url} → ${answer.status} in ${answer.ms.toFixed(1)} ms`;
    } catch (error) {
      result.textContent = error.message;
      result.className = "answer failed";
      latency.textContent = `POST ${url} failed`;
    }
  };

  const panel = el(
    "details",
    { class: "try-it" },
    el("summary", {}, "Try it"),
    el(
      "div",
      { class: "try-controls" },
      el("label", { for: id("protocol") }, "Protocol"),
      protocol,
      el("label", { for: id("target") }, "Send to"),
      target,
      el("label", { for: id("signature") }, "Signature"),
      signature,
    ),
    el("label", { for: id("body"), class: "block" }, "Request body (JSON)"),
    editor,
    el(
      "div",
      { class: "buttons" },
      el("button", { type: "button", text: "Send", onclick: send }),
      el("button", { type: "button", class: "secondary", text: "Reset example", onclick: fillExample }),
    ),
    latency,
    result,
  );

  // Refresh the choices from the model document, keeping the user's selections and edits.
  panel.update = (model) => {
    const v2 = documentNow.protocols.includes("v2");
    protocol.options[1].disabled = !v2;
    protocol.options[1].textContent = v2 ? "V2 (Open Inference Protocol)" : "V2 (not served by this server)";
    const choices = [["latest", "latest version"]];
    for (const v of model.versions) if (v.state === "AVAILABLE") choices.push([`version:${v.version}`, `version ${v.version}`]);
    for (const label of Object.keys(model.labels)) choices.push([`label:${label}`, `label ${label}`]);
    replaceOptions(target, choices);
    const version = model.versions.find((v) => v.version === latestAvailable(model));
    const signatures = version && version.signatures ? version.signatures : [];
    const predictable = signatures.filter((s) => s.inputs.every((i) => i.dtype !== "DT_STRING") || s.method_name.endsWith("predict"));
    const keys = predictable.map((s) => [s.key, s.key]);
    const before = signature.value;
    replaceOptions(signature, keys, "serving_default");
    if (!edited && (signature.value !== before || !editor.value)) fillExample();
  };
  return panel;
}

function replaceOptions(select, choices, preferred = null) {
  const keep = select.value || preferred;
  const same =
    select.options.length === choices.length && choices.every(([value], i) => select.options[i].value === value);
  if (!same) {
    select.replaceChildren(...choices.map(([value, text]) => el("option", { value }, text)));
  }
  if (choices.some(([value]) => value === keep)) select.value = keep;
}

function modelActions(card) {
  const id = `load-${card.name}`;
  const input = el("input", { id, type: "number", min: 0, step: 1, inputmode: "numeric", placeholder: "e.g. 3" });
  const load = () => {
    const version = Number(input.value);
    if (!input.value || !Number.isInteger(version) || version < 0) {
      report(`Load a version of ${card.name}: give a version number`, false);
      input.focus();
      return;
    }
    adminAction(
      `Load version ${version} of ${card.name} (from ${card.model.base_path}/${version})?`,
      `Load ${card.name} version ${version}`,
      () => setServedVersions(card.model, (s) => s.add(version)),
    );
  };
  input.addEventListener("keydown", (event) => event.key === "Enter" && load());
  return el(
    "div",
    { class: "actions admin-only" },
    el("label", { for: id }, "Load version"),
    input,
    el("button", { type: "button", class: "small", text: "Load", onclick: load }),
    el("button", {
      type: "button",
      class: "small danger",
      text: "Unload model",
      onclick: () =>
        adminAction(
          `Unload model ${card.name} and every version of it? Its requests will fail.`,
          `Unload model ${card.name}`,
          () => api("DELETE", `/v1/admin/models/${modelPath(card.name)}${ADMIN_TIMEOUT}`),
        ),
    }),
  );
}

function createCard(model) {
  const card = { name: model.name, model, rendered: {} };
  card.header = el("header", {});
  card.versions = el("div", {});
  card.labels = el("div", {});
  card.signatures = el("div", {});
  card.metrics = el("div", { class: "metrics" });
  card.tryIt = tryItPanel(card);
  card.actions = modelActions(card);
  card.root = el(
    "section",
    { class: "model", "data-model": model.name, "aria-labelledby": `title-${model.name}` },
    card.header,
    el("div", { class: "columns" }, el("div", {}, card.versions, card.labels), card.metrics),
    card.signatures,
    card.tryIt,
    card.actions,
  );
  return card;
}

// Re-render only the parts whose data changed (keeps focus, open <details> and typed text).
function updateCard(card, model) {
  card.model = model;
  const parts = {
    header: [model.name, model.platform, model.base_path],
    versions: [model.versions.map((v) => [v.version, v.state, v.error_message]), model.labels, documentNow.permissions],
    labels: [model.labels, model.versions.map((v) => [v.version, v.state]), documentNow.permissions],
    signatures: [latestAvailable(model), model.versions.map((v) => v.signatures)],
  };
  for (const [part, data] of Object.entries(parts)) {
    const key = JSON.stringify(data);
    if (card.rendered[part] === key) continue;
    card.rendered[part] = key;
    if (part === "header") {
      card.header.replaceChildren(
        el("h3", { id: `title-${model.name}` }, model.name),
        el("span", { class: "platform" }, model.platform),
        el("code", { class: "path" }, model.base_path),
      );
    } else if (part === "versions") card.versions.replaceChildren(versionsTable(model));
    else if (part === "labels") card.labels.replaceChildren(labelsEditor(model));
    else card.signatures.replaceChildren(signaturesView(model));
  }
  card.tryIt.hidden = !can("predict");
  card.actions.hidden = !can("admin");
  card.tryIt.update(model);
}

function renderMetrics() {
  const now = Date.now() / 1000;
  for (const card of cards.values()) {
    const points = metricsNow.models[card.name] || [];
    card.metrics.replaceChildren(metricTiles(points, now, metricsNow.window));
  }
}

function render(doc) {
  documentNow = doc;
  const list = document.getElementById("models");
  const names = new Set(doc.models.map((m) => m.name));
  for (const [name, card] of cards) {
    if (!names.has(name)) {
      card.root.remove();
      cards.delete(name);
    }
  }
  for (const model of doc.models) {
    let card = cards.get(model.name);
    if (!card) {
      card = createCard(model);
      cards.set(model.name, card);
      list.append(card.root);
      card.metrics.replaceChildren(metricTiles(metricsNow.models[model.name] || [], Date.now() / 1000, metricsNow.window));
    }
    updateCard(card, model);
  }
  document.getElementById("empty").hidden = doc.models.length > 0;
  document.getElementById("add-model").hidden = !can("admin");
  const where = doc.config_file ? `written to ${doc.config_file}` : "kept in memory (no --model_config_file)";
  document.getElementById("config-note").textContent = `Admin changes are ${where}.`;
}

function setLive(ok, message = "") {
  const status = document.getElementById("live");
  status.className = ok ? "live ok" : "live failed";
  status.textContent = ok ? `live · updated ${new Date().toLocaleTimeString()}` : `not updating: ${message}`;
}

async function refreshModels() {
  try {
    const { body } = await api("GET", "/console/api/models");
    render(body);
    setLive(true);
  } catch (error) {
    setLive(false, error.message);
  }
}

async function refreshMetrics() {
  try {
    const { body } = await api("GET", "/console/api/metrics");
    metricsNow = body;
    renderMetrics();
  } catch {
    // the models poll reports the server being away
  }
}

function setupAddModel() {
  const form = document.getElementById("add-model");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = String(data.get("name")).trim();
    const body = { base_path: String(data.get("base_path")).trim(), platform: String(data.get("platform")).trim() || "tensorflow" };
    adminAction(
      `Load model ${name} from ${body.base_path} (${body.platform})?`,
      `Load model ${name}`,
      () => api("PUT", `/v1/admin/models/${modelPath(name)}${ADMIN_TIMEOUT}`, body),
    );
  });
}

// Poll without overlapping: the next request starts when the last one has finished.
function every(ms, fn) {
  const tick = async () => {
    await fn();
    setTimeout(tick, ms);
  };
  tick();
}

setupTokenButton();
setupAddModel();
every(MODELS_EVERY_MS, refreshModels);
every(METRICS_EVERY_MS, refreshMetrics);
