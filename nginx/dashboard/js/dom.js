// Small DOM helpers. Nothing here sets a `style` attribute or uses innerHTML with data: the site's
// CSP forbids inline styles and scripts, and API text is always inserted as text.

/** h("button", {class: "x", onclick: fn, "aria-label": "…"}, "text", child, …) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      else if (key === "text") el.textContent = String(value);
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "value") el.value = value;
      else if (key === "checked" || key === "disabled" || key === "hidden" || key === "selected" ||
               key === "required" || key === "readOnly" || key === "open" || key === "multiple") el[key] = Boolean(value);
      else if (key === "style") throw new Error("inline styles are not allowed by the CSP");
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let idCounter = 0;
export function uid(prefix = "id") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A date as the reader's locale writes it; "—" for nothing. */
export function fmtDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function timeEl(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso, title: iso }, fmtDate(iso));
}

export function badge(text, kind = "neutral", title) {
  return h("span", { class: `badge badge-${kind}`, title }, text);
}

/** Only http(s) links leave the page; anything else is shown as text. */
export function externalLink(url, label) {
  if (typeof url === "string" && /^https?:\/\//i.test(url)) {
    return h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label || url);
  }
  return url ? h("span", {}, String(url)) : h("span", { class: "muted" }, "—");
}

/** An error box: the API's own message, its status, and the request id when there is one. */
export function errorBox(error, prefix) {
  const box = h("div", { class: "message message-error", role: "alert" });
  const parts = [];
  if (prefix) parts.push(h("strong", {}, prefix + ": "));
  parts.push(h("span", { class: "error-text" }, error && error.message ? error.message : String(error)));
  if (error && error.status) parts.push(h("span", { class: "muted status-code" }, ` (HTTP ${error.status}${error.requestId ? ", request " + error.requestId : ""})`));
  append(box, parts);
  if (error && error.routeMissing) {
    box.append(h("div", { class: "muted small" }, "This plugind does not offer this yet; it may need an update."));
  }
  if (error && error.body && Array.isArray(error.body.candidates) && error.body.candidates.length) {
    box.append(h("div", {}, "Candidates: " + error.body.candidates.join(", ")));
  }
  if (error && error.body && Array.isArray(error.body.conflicts) && error.body.conflicts.length) {
    box.append(h("div", {}, "Conflicting files: " + error.body.conflicts.join(", ")));
  }
  // What lies behind an outside service's failure (one line per URL tried): folded, never in the sentence.
  if (error && error.body && Array.isArray(error.body.details) && error.body.details.length) {
    box.append(h("details", { class: "error-details small" },
      h("summary", {}, `Details (${error.body.details.length})`),
      h("ul", {}, error.body.details.map((line) => h("li", {}, h("code", {}, line))))));
  }
  return box;
}

export function infoBox(text, kind = "info") {
  return h("div", { class: `message message-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

/** Runs `fn` once the user has stopped typing for `ms`. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** A switch: a real checkbox (keyboard and screen readers know it) drawn as a switch by CSS.
 * `label` is its name; a visible label may instead follow the state: `label: ["Disabled", "Enabled"]`. */
export function toggleSwitch({ checked, label, disabled, onchange, hideLabel = true, mutates = true }) {
  const id = uid("switch");
  const input = h("input", {
    type: "checkbox", role: "switch", id, class: "switch-input", checked, disabled,
    "aria-checked": checked ? "true" : "false", "data-mutates": mutates ? "true" : undefined,
  });
  const text = h("span", { class: hideLabel ? "visually-hidden" : "switch-label" });
  input.plugindSync = () => {
    input.setAttribute("aria-checked", input.checked ? "true" : "false");
    text.textContent = Array.isArray(label) ? label[input.checked ? 1 : 0] : label;
  };
  input.plugindSync();
  input.addEventListener("change", () => {
    input.plugindSync();
    if (onchange) onchange(input.checked, input);
  });
  return h("label", { class: "switch", for: id }, input, h("span", { class: "switch-track", "aria-hidden": "true" }), text);
}

/** Puts a switch back (a refused change): its state, aria-checked and a state-following label. */
export function setSwitch(input, checked) {
  input.checked = checked;
  if (input.plugindSync) input.plugindSync();
  else input.setAttribute("aria-checked", String(checked));
}

/** A modal confirmation (a <dialog>); resolves true or false. `body` may add controls. */
export function confirmDialog({ title, message, confirmLabel = "Confirm", danger = false, body = null }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId });
    const form = h("form", { method: "dialog" },
      h("h2", { id: titleId }, title),
      message ? h("p", {}, message) : null,
      body,
      h("div", { class: "dialog-actions" },
        h("button", { type: "submit", value: "cancel", class: "button" }, "Cancel"),
        h("button", { type: "submit", value: "ok", class: danger ? "button button-danger" : "button button-primary", "data-confirm": "true" }, confirmLabel)));
    dialog.append(form);
    dialog.addEventListener("close", () => {
      const ok = dialog.returnValue === "ok";
      dialog.remove();
      resolve(ok);
    });
    document.body.append(dialog);
    dialog.showModal();
    const cancel = form.querySelector('button[value="cancel"]');
    if (cancel) cancel.focus();
  });
}
