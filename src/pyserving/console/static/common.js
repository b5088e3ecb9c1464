// Shared by the console and the digits page: DOM helpers, the API client and its auth hook.
//
// Auth hook: every request goes through api(). When the server answers 401, the page asks for a
// token (the #token-dialog), keeps it for the tab's session and retries with
// "Authorization: Bearer <token>". The console's models document lists what the caller may do
// ("permissions"); pages hide what is not allowed. Without authentication on the server, nothing
// here ever prompts.

const TOKEN_KEY = "pyserving.token";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

let pendingPrompt = null;

// Ask for a token once, however many requests are waiting for it.
function promptForToken(message) {
  if (pendingPrompt) return pendingPrompt;
  const dialog = document.getElementById("token-dialog");
  if (!dialog) return Promise.resolve(false);
  dialog.querySelector(".token-reason").textContent = message;
  const input = dialog.querySelector("input");
  input.value = "";
  pendingPrompt = new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        pendingPrompt = null;
        if (dialog.returnValue === "ok" && input.value) {
          sessionStorage.setItem(TOKEN_KEY, input.value.trim());
          resolve(true);
        } else {
          resolve(false);
        }
      },
      { once: true },
    );
    dialog.showModal();
  });
  return pendingPrompt;
}

// fetch() on our own origin; JSON in and out. Resolves to {status, body, ms}; an answer that is
// not 2xx rejects with ApiError carrying the server's {"error": ...} message.
export async function api(method, path, body = undefined, { raw = false } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token()) headers["Authorization"] = `Bearer ${token()}`;
    const started = performance.now();
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, `The server did not answer (${error.message}); is it still running?`);
    }
    const text = await response.text();
    const ms = performance.now() - started;
    let parsed = text;
    if (!raw) {
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = text;
      }
    }
    if (response.status === 401 && attempt < 3) {
      const message = (parsed && parsed.error) || "This server needs a token.";
      if (await promptForToken(message)) continue;
    }
    if (!response.ok) {
      const message = (parsed && parsed.error) || text || response.statusText;
      throw new ApiError(response.status, `${response.status}: ${message}`);
    }
    return { status: response.status, body: parsed, text, ms };
  }
}

export function modelPath(name) {
  return encodeURIComponent(name);
}

// The highest AVAILABLE version of a model document entry, or null.
export function latestAvailable(model) {
  const available = model.versions.filter((v) => v.state === "AVAILABLE");
  return available.length ? Math.max(...available.map((v) => v.version)) : null;
}

export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return value.toFixed(digits);
}

export function setupTokenButton() {
  const button = document.getElementById("token-button");
  if (!button) return;
  button.addEventListener("click", async () => {
    sessionStorage.removeItem(TOKEN_KEY);
    await promptForToken("Enter a token for this server (leave empty for none).");
  });
}
