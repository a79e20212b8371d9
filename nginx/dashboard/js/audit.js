// The audit log (GET /api/audit) in words: who made a request, what it was, and each change it made
// as a short phrase ("set OPENAI_API_KEY", "enabled", "1.0.0 → 1.1.0"). Entries carry names, flags and
// versions only, never a value; an unknown kind of change is shown as its kind and plugin alone, so a
// field added later can never bring a value onto the page. All text goes in as text (user-chosen
// token labels and plugin names included).

import { get } from "./api.js";
import { h, badge } from "./dom.js";

/** The one sentence a read token gets instead of the log (plugind answers it 403). */
export const ADMIN_ONLY = "The activity log is only shown to admins: sign in with an admin token to see who changed what.";

/** GET /api/audit with the contract's parameters; empty ones are left out. */
export function fetchAudit({ plugin = "", limit, cursor } = {}, options) {
  const query = new URLSearchParams();
  if (plugin) query.set("plugin", plugin);
  if (limit) query.set("limit", String(limit));
  if (cursor) query.set("cursor", cursor);
  const text = query.toString();
  return get(`/api/audit${text ? "?" + text : ""}`, options);
}

/** `#/activity` or `#/activity/<plugin>`: the Activity view, filtered by a plugin id or npm name. */
export function activityHash(plugin) {
  return plugin ? `#/activity/${encodeURIComponent(plugin)}` : "#/activity";
}

/** A local date and time to the second (entries a few seconds apart must read apart). */
export function auditTime(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const d = new Date(iso);
  const text = Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  return h("time", { datetime: iso, title: iso }, text);
}

const SETTING_VERBS = { set: "set", changed: "changed", unset: "unset" };

/** One change as a phrase without a value. */
export function changePhrase(change) {
  if (!change || typeof change !== "object") return "a change";
  switch (change.kind) {
    case "setting":
      return `${SETTING_VERBS[change.action] || "changed"} ${change.name || "a setting"}`;
    case "enabled":
      return change.to === true ? "enabled" : change.to === false ? "disabled" : "enabled state changed";
    case "version": {
      const from = typeof change.from === "string" && change.from ? change.from : null;
      const to = typeof change.to === "string" && change.to ? change.to : null;
      if (!from && to) return `installed ${to}`;
      if (from && !to) return `uninstalled ${from}`;
      if (from && to) return `${from} → ${to}`;
      return "version changed";
    }
    default: // a kind this page does not know: its name only (the contract's generic form)
      return typeof change.kind === "string" && change.kind ? change.kind : "a change";
  }
}

/** The short form of an npm name (`@elizaos/plugin-openai` → `openai`), to tell whether two names mean one plugin. */
function shortName(name) {
  return String(name || "").replace(/^@[^/]+\//, "").replace(/^plugin-/, "").toLowerCase();
}

/** Whether a change concerns another plugin than the request's target (then its phrase names the plugin). */
function otherPlugin(change, target) {
  if (!change.plugin) return false;
  if (!target) return true;
  return change.plugin !== target && shortName(change.plugin) !== shortName(target);
}

/** The changes of an entry that concern one plugin (known by any of `names`: id, npm name); all of them
 *  when none does (the entry matched through its target). */
export function changesAbout(entry, names) {
  const changes = Array.isArray(entry.changes) ? entry.changes : [];
  const wanted = new Set(names.filter(Boolean).map(shortName));
  const mine = changes.filter((c) => c && c.plugin && wanted.has(shortName(c.plugin)));
  return mine.length ? mine : changes;
}

/** A change as a list item: its phrase, prefixed with its plugin when that is not the request's target. */
export function changeItem(change, target) {
  const phrase = changePhrase(change);
  const kind = change && typeof change.kind === "string" ? change.kind : "unknown";
  return h("li", { class: "change", "data-kind": kind },
    change && otherPlugin(change, target) ? [h("code", { class: "change-plugin" }, change.plugin), " "] : null,
    phrase);
}

/** Every change of an entry, or what the request was when it changed nothing. */
export function changesList(entry) {
  const changes = Array.isArray(entry.changes) ? entry.changes : [];
  if (!changes.length) return h("span", { class: "muted no-change" }, "no change");
  return h("ul", { class: "changes" }, changes.map((c) => changeItem(c, entry.target)));
}

/** Role, and the token's label (its id in the tooltip) or, without a label, its id. */
export function whoCell(entry) {
  const role = typeof entry.role === "string" && entry.role ? entry.role : "unknown role";
  const parts = [h("span", { class: "who-role" }, role)];
  if (entry.tokenLabel) {
    parts.push(" · ", h("span", { class: "who-label", title: entry.tokenId ? `token ${entry.tokenId}` : undefined }, entry.tokenLabel));
  } else if (entry.tokenId) {
    parts.push(" · ", h("code", { class: "who-id" }, entry.tokenId));
  }
  return h("span", { class: "who" }, parts);
}

/** The HTTP status answered, or that plugind stopped before answering. */
export function statusBadge(status) {
  if (typeof status !== "number") return badge("no answer", "danger", "plugind stopped before it answered this request");
  const kind = status < 300 ? "success" : status < 500 ? "warning" : "danger";
  return badge(String(status), kind);
}

const OUTCOME_KINDS = { succeeded: "success", failed: "danger", running: "accent", interrupted: "warning" };

/** The final state of the operation the request started, or nothing. */
export function outcomeCell(entry) {
  if (!entry.outcome && !entry.operationId) return h("span", { class: "muted" }, "—");
  const text = entry.outcome || "unknown";
  const el = badge(text, OUTCOME_KINDS[entry.outcome] || "neutral", entry.operationId ? `operation ${entry.operationId}` : undefined);
  if (entry.operationId) el.dataset.operationId = entry.operationId;
  return el;
}

/** The request as the route table names it: `PUT /api/plugins/:id`. */
export function requestText(entry) {
  return `${entry.method || "?"} ${entry.route || "?"}`;
}
