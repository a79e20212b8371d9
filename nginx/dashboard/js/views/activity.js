// Activity: the audit log (GET /api/audit), newest first: when, who (role and token label), which
// request, its status, what it changed in words (never a value), and the outcome of the operation
// it started. Filtered by plugin through the hash (#/activity/<plugin>, the API's `plugin`
// parameter); "Load more" follows `nextCursor`. The log is an admin's: a read token gets one
// sentence instead, without asking plugind for a 403.

import { get } from "../api.js";
import { h, clear, errorBox, loading, uid, infoBox } from "../dom.js";
import {
  ADMIN_ONLY, fetchAudit, activityHash, auditTime, changesList, whoCell, statusBadge, outcomeCell, requestText,
} from "../audit.js";

const PAGE = 50;

export async function render(root, params, ctx) {
  root.append(h("div", { class: "view-head" },
    h("h1", {}, "Activity"),
    h("p", { class: "muted" },
      "Every change asked of plugind, newest first: who asked, what it changed (names and versions, never values) and how it ended.")));
  if (!ctx.isAdmin) {
    root.append(h("div", { class: "message message-info", role: "status", id: "activity-admin-only" }, ADMIN_ONLY));
    return null;
  }

  let plugin = params.join("/");
  const inputId = uid("activity-plugin");
  const listId = uid("activity-plugins");
  const input = h("input", {
    id: inputId, type: "search", class: "input", value: plugin, spellcheck: "false", list: listId,
    placeholder: "a plugin id or npm name", "aria-describedby": `${inputId}-help`,
  });
  const options = h("datalist", { id: listId });
  const apply = h("button", { type: "submit", class: "button", id: "activity-apply" }, "Filter");
  const showAll = h("button", { type: "button", class: "button", id: "activity-show-all", hidden: !plugin }, "Show all");
  const counter = h("p", { class: "muted counter", id: "activity-count", "aria-live": "polite" });
  const form = h("form", { class: "toolbar", role: "search", id: "activity-filter", novalidate: true },
    h("div", { class: "tool" },
      h("label", { for: inputId }, "Plugin"),
      input, options,
      h("span", { class: "visually-hidden", id: `${inputId}-help` }, "Only the changes to this plugin; empty for every change.")),
    h("div", { class: "tool tool-buttons" }, h("div", { class: "button-row" }, apply, showAll)),
    counter);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const hash = activityHash(input.value.trim());
    if (location.hash === hash) load(false); // the same filter again: read the newest entries
    else ctx.navigate(hash);
  });
  showAll.addEventListener("click", () => {
    input.value = "";
    ctx.navigate(activityHash(""));
    input.focus();
  });

  const tbody = h("tbody", {});
  const table = h("table", { class: "table activity-table", id: "activity-table" },
    h("caption", { class: "visually-hidden" }, "Changes made through plugind, newest first"),
    h("thead", {}, h("tr", {}, ["Time", "Who", "Request", "Status", "Changes", "Operation"].map((t) => h("th", { scope: "col" }, t)))),
    tbody);
  const tableWrap = h("div", { class: "table-wrap", hidden: true }, table);
  const empty = h("p", { class: "empty", id: "activity-empty", hidden: true });
  const failure = h("div", { id: "activity-error" });
  const more = h("button", { type: "button", class: "button", id: "activity-more", hidden: true }, "Load more");
  const status = h("div", {}, loading("Loading the activity…"));
  root.append(form, status, failure, tableWrap, empty, h("div", { class: "pager" }, more));

  // Known plugins as suggestions for the filter (an uninstalled one can still be typed).
  get("/api/plugins").then((body) => {
    if (!ctx.alive()) return;
    for (const p of (body && body.plugins) || []) {
      options.append(h("option", { value: p.id }, p.name && p.name !== p.id ? p.name : p.npmName || p.id));
    }
  }, () => { /* suggestions only: the filter works without them */ });

  let sequence = 0;
  let cursor = null;
  let shown = 0;

  function rowFor(entry) {
    const target = entry.target
      ? h("div", { class: "small" }, h("a", { href: activityHash(entry.target), class: "activity-target", title: `Only the changes to ${entry.target}` },
        h("code", {}, entry.target)))
      : null;
    return h("tr", { "data-id": entry.id || "", "data-request-id": entry.requestId || "" },
      h("td", { "data-label": "Time", class: "cell-time" }, auditTime(entry.time)),
      h("td", { "data-label": "Who" }, whoCell(entry)),
      h("td", { "data-label": "Request" }, h("code", { class: "request" }, requestText(entry)), target),
      h("td", { "data-label": "Status" }, statusBadge(entry.status)),
      h("td", { "data-label": "Changes", class: "cell-changes" }, changesList(entry)),
      h("td", { "data-label": "Operation" }, outcomeCell(entry)));
  }

  function showCount() {
    const what = `${shown} ${shown === 1 ? "entry" : "entries"}`;
    counter.textContent = plugin
      ? `${what} for ${plugin}${cursor ? ", more to load" : ""}`
      : `${what}${cursor ? ", more to load" : ""}`;
  }

  let busy = false; // a page is on its way: "Load more" waits (the button is not disabled, so it keeps the focus)

  async function load(append) {
    if (append && busy) return;
    const mine = ++sequence;
    busy = true;
    more.setAttribute("aria-busy", "true");
    clear(failure);
    if (!append) {
      clear(status).append(loading("Loading the activity…"));
    }
    let body;
    try {
      body = await fetchAudit({ plugin, limit: PAGE, cursor: append ? cursor : null });
    } catch (error) {
      if (mine !== sequence || !ctx.alive()) return;
      busy = false;
      more.removeAttribute("aria-busy");
      clear(status);
      if (error.status === 403) failure.append(infoBox(ADMIN_ONLY));
      else failure.append(errorBox(error, append ? "More entries could not be read" : "The activity could not be read"));
      if (!append) { tableWrap.hidden = true; empty.hidden = true; more.hidden = true; counter.textContent = ""; }
      return;
    }
    if (mine !== sequence || !ctx.alive()) return;
    busy = false;
    more.removeAttribute("aria-busy");
    clear(status);
    const entries = Array.isArray(body && body.entries) ? body.entries : [];
    if (!append) { clear(tbody); shown = 0; }
    const rows = entries.map(rowFor);
    tbody.append(...rows);
    shown += rows.length;
    cursor = body && typeof body.nextCursor === "string" && body.nextCursor ? body.nextCursor : null;
    tableWrap.hidden = shown === 0;
    empty.hidden = shown !== 0;
    empty.textContent = plugin
      ? `No change to ${plugin} has been recorded.`
      : "No change has been recorded yet. Changes made through plugind (settings, switches, installs) appear here.";
    const hadFocus = document.activeElement === more;
    more.hidden = !cursor;
    showCount();
    // After "Load more" the keyboard stays with the list: on the button, or on the first new row once all are shown.
    if (append && hadFocus && more.hidden && rows.length) {
      rows[0].setAttribute("tabindex", "-1");
      rows[0].focus();
    }
  }

  more.addEventListener("click", () => load(true));

  await load(false);
  return {
    update(next) {
      plugin = next.join("/");
      input.value = plugin;
      showAll.hidden = !plugin;
      cursor = null;
      load(false);
    },
  };
}
