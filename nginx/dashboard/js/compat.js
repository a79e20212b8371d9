// Compatibility and soundness (docs/compatibility.md): whether a registry entry fits the agent's
// @elizaos/core, the security advisories of an installed tree, and installing with a confirmation
// when plugind refuses a version (409) that `"force": true` would install anyway.

import { ApiError } from "./api.js";
import { h, confirmDialog, externalLink } from "./dom.js";

/** The badge of a registry entry's `compatible` / `compatibility`. */
export function compatBadge(entry) {
  if (entry.compatible === true) {
    return h("span", { class: "badge badge-success", "data-compat": "compatible", title: "Fits the @elizaos/core this agent runs" }, "compatible");
  }
  if (entry.compatible === false) {
    const why = entry.compatibility || "needs another @elizaos/core";
    return h("span", { class: "badge badge-danger", "data-compat": "incompatible", title: "Does not fit the @elizaos/core this agent runs" },
      `incompatible: ${why}`);
  }
  return h("span", { class: "badge badge-neutral", "data-compat": "unknown",
    title: "The registry does not say which @elizaos/core it needs, or the agent's core version is unknown" }, "compatibility unknown");
}

/** What `compatible` means for the agent, as a sentence for the details panel. */
export function compatSentence(entry) {
  if (entry.compatible === true) return "Fits the @elizaos/core this agent runs.";
  if (entry.compatible === false) return `Does not fit this agent: it ${entry.compatibility || "needs another @elizaos/core"}.`;
  return "Unknown: the registry does not say which @elizaos/core it needs, or the agent's core version is unknown.";
}

const SEVERITY_KIND = { critical: "danger", high: "danger", moderate: "warning", low: "neutral", info: "neutral" };

/** A list of advisories: severity, package@version, title, and a link when the registry gave one. */
export function advisoryList(advisories, extraClass = "") {
  return h("ul", { class: ["advisories", extraClass] }, advisories.map((a) => h("li", { class: "advisory", "data-severity": a.severity },
    h("span", { class: `badge badge-${SEVERITY_KIND[String(a.severity).toLowerCase()] || "neutral"}` }, a.severity),
    " ", h("code", {}, `${a.package}@${a.version}`), " ",
    a.url && /^https?:\/\//i.test(a.url) ? externalLink(a.url, a.title || "advisory") : h("span", {}, a.title || "advisory"))));
}

/** An installed row's `advisories`: a list, none, or not checked yet (null). */
export function advisoryCell(advisories) {
  if (advisories === null || advisories === undefined) return h("span", { class: "muted", "data-advisories": "unchecked" }, "not checked yet");
  if (!advisories.length) return h("span", { class: "muted", "data-advisories": "none" }, "none known");
  return advisoryList(advisories);
}

/** A 409 that `"force": true` would turn into an install: a version that does not fit, or a blocking advisory. */
export function isForceable(error) {
  const body = error instanceof ApiError && error.status === 409 ? error.body : null;
  return Boolean(body && (Array.isArray(body.advisories) || typeof body.agentCoreVersion === "string"));
}

/** The 409's sentence, without the API's advice to send `"force": true` (the dialog's button does that). */
export function refusalSentence(message) {
  return String(message).replace(/(,| —|;)? ?(or )?send "force": true to install it anyway\.$/, ".").replace(/\.\.$/, ".");
}

/**
 * Installs with `run(body)`; when plugind refuses with a forceable 409, shows its sentence (and the
 * advisories) and, once confirmed, runs again with `"force": true`. Resolves the install's result, or
 * null when the user declined; other failures are thrown.
 */
export async function installAsking(run, body) {
  try {
    return await run(body);
  } catch (error) {
    if (!isForceable(error)) throw error;
    const advisories = Array.isArray(error.body.advisories) ? error.body.advisories : [];
    const ok = await confirmDialog({
      title: advisories.length ? "Install despite the advisory?" : "Install a version that does not fit?",
      message: refusalSentence(error.message),
      body: h("div", {},
        advisories.length ? advisoryList(advisories) : null,
        !advisories.length && error.body.compatibleVersion
          ? h("p", { class: "muted" }, `${error.body.package || "This plugin"} ${error.body.compatibleVersion} fits this agent; choose it instead to stay compatible.`) : null,
        h("p", {}, "Installing anyway is recorded as forced.")),
      confirmLabel: "Install anyway", danger: true,
    });
    if (!ok) return null;
    return await run({ ...body, force: true });
  }
}

/** The install result's warnings, as a box under the finished operation. */
export function warningsBox(result) {
  const warnings = result && Array.isArray(result.warnings) ? result.warnings : [];
  if (!warnings.length) return null;
  return h("div", { class: "message message-warning op-warnings", role: "status" },
    h("strong", {}, warnings.length === 1 ? "Warning" : `${warnings.length} warnings`),
    h("ul", {}, warnings.map((w) => h("li", {}, w))));
}
