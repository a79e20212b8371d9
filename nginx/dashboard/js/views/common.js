// Pieces several views share: a plugin's status and configuration badges.
import { h, badge } from "../dom.js";

export const CATEGORY_LABELS = {
  "ai-provider": "AI provider", connector: "Connector", streaming: "Streaming", database: "Database",
  app: "App", feature: "Feature",
};

export function categoryLabel(category) {
  return CATEGORY_LABELS[category] || category || "—";
}

/** "active", "enabled but not loaded" (with the load error) or "disabled". */
export function statusOf(plugin) {
  if (plugin.isActive) return "active";
  if (plugin.enabled) return "not-loaded";
  return "disabled";
}

export function statusCell(plugin) {
  const status = statusOf(plugin);
  if (status === "active") return h("div", { class: "status" }, badge("active", "success"));
  if (status === "disabled") return h("div", { class: "status" }, badge("disabled", "neutral"));
  // Its code is absent: enabling and restarting cannot help, installing (or ejecting) can.
  if (plugin.loadError === "not installed") {
    return h("div", { class: "status" }, badge("not installed", "danger"),
      h("div", { class: "load-error" }, "Enabled, but its code is not in this agent; install it first."));
  }
  return h("div", { class: "status" },
    badge("enabled but not loaded", "warning"),
    plugin.loadError ? h("div", { class: "load-error", title: plugin.loadError }, plugin.loadError) : null);
}

export function configBadges(plugin) {
  const errors = plugin.validationErrors || [];
  const warnings = plugin.validationWarnings || [];
  const list = (items) => items.map((e) => `${e.field}: ${e.message}`).join("\n");
  return h("div", { class: "badges" },
    plugin.configured ? badge("configured", "success") : badge("needs configuration", "warning"),
    errors.length ? badge(`${errors.length} error${errors.length === 1 ? "" : "s"}`, "danger", list(errors)) : null,
    warnings.length ? badge(`${warnings.length} warning${warnings.length === 1 ? "" : "s"}`, "warning", list(warnings)) : null);
}

export function pluginHash(id) {
  return `#/plugins/${encodeURIComponent(id)}`;
}
