// The pages' small toolkit: the JSON API (same origin, the session cookie, the CSRF token on changes), building
// elements without HTML strings, announcing status to screen readers, a confirmation dialog and face pictures.

let csrfToken = "";

export function setCsrf(token) {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(status, message, type) {
    super(message);
    this.status = status;
    this.type = type || "";
  }
}

// `body`: a FormData (multipart), an object (JSON) or undefined. Resolves to the JSON answer (null for 204).
export async function api(method, path, body) {
  const headers = {};
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  if (response.status === 204) return null;
  const json = (response.headers.get("content-type") || "").includes("json");
  const data = json ? await response.json() : await response.text();
  if (!response.ok) {
    throw new ApiError(response.status, (json && (data.detail || data.title)) || `HTTP ${response.status}`,
                       json ? data.type : "");
  }
  return data;
}

// "/v1/collections/<c><rest>", the collection name escaped.
export function inCollection(collection, rest) {
  return `/v1/collections/${encodeURIComponent(collection)}${rest}`;
}

// An element: attributes (`on...` are listeners, `class` the class name, true/false toggle boolean attributes)
// and children (strings become text, null and false are left out, arrays are flattened).
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function announce(text) {
  document.getElementById("alert").textContent = "";
  const status = document.getElementById("status");
  status.textContent = "";
  setTimeout(() => { status.textContent = text; }, 30);  // a changed text is read even when it repeats
}

export function showError(error) {
  document.getElementById("status").textContent = "";
  document.getElementById("alert").textContent = error instanceof Error ? error.message : String(error);
}

// A modal dialog asking to confirm; resolves true when `action` was pressed (Esc or Cancel: false).
export function confirmDialog(title, message, action) {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "button", autofocus: true }, "Cancel");
    const confirm = h("button", { type: "button", class: "danger" }, action);
    const dialog = h("dialog", { "aria-labelledby": "dialog-title", "aria-describedby": "dialog-text" },
      h("h2", { id: "dialog-title" }, title), h("p", { id: "dialog-text" }, message),
      h("div", { class: "actions" }, cancel, confirm));
    let result = false;
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", () => { result = true; dialog.close(); });
    dialog.addEventListener("close", () => { dialog.remove(); resolve(result); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function initials(name) {
  const parts = String(name).split(/[\s_.-]+/).filter(Boolean);
  return (parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : String(name).slice(0, 2)).toUpperCase();
}

// A face picture from the first of `sources` that loads, else the name's initials.
export function face(sources, alt, name) {
  const fallback = () => h("span", { class: "initials", role: "img", "aria-label": alt }, initials(name || alt));
  const [first, ...rest] = sources.filter(Boolean);
  if (!first) return fallback();
  const image = h("img", { src: first, alt, class: "face", loading: "lazy" });
  image.addEventListener("error", () => image.replaceWith(face(rest, alt, name)), { once: true });
  return image;
}

export function libraryFace(collection, faceId) {
  return faceId === null || faceId === undefined ? null : inCollection(collection, `/library/faces/${faceId}/thumbnail`);
}

export function sampleFace(collection, sampleId) {
  return inCollection(collection, `/samples/${sampleId}/thumbnail`);
}

// The library face a gallery sample came from (its source ends "#face<id>&sha256=..."), or null.
export function sampleLibraryFace(source) {
  const found = /#face(\d+)/.exec(source || "");
  return found ? Number(found[1]) : null;
}

// A file name out of a sample's source or a path.
export function fileName(source) {
  return String(source || "").split("#")[0].split(/[\\/]/).pop();
}

// A heading that takes the focus when a page opens (screen readers read where they are).
export function pageTitle(text) {
  return h("h1", { tabindex: -1, class: "page-title" }, text);
}
