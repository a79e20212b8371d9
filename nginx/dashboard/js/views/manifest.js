// Manifest (docs/fleet.md): download this agent's manifest (GET /api/manifest, its exact bytes),
// import one (a file or pasted text), see what applying it would change (POST /api/manifest/plan),
// and apply it as one operation with progress (POST /api/manifest/apply). A read token can export only.

import { ApiError, post, session } from "../api.js";
import { h, clear, errorBox, infoBox, badge, uid, confirmDialog } from "../dom.js";
import { operationBlock } from "../operation.js";
import { warningsBox } from "../compat.js";

const FILENAME = "plugind-manifest.json";
const ACTION_KIND = {
  install: "success", upgrade: "accent", downgrade: "warning", reinstall: "accent", uninstall: "danger",
  set: "neutral", unset: "warning", enable: "success", disable: "warning",
};

/** GET /api/manifest as bytes (never re-encoded: the download must be what plugind exported). */
async function exportBlob() {
  let response;
  try {
    response = await fetch("/api/manifest", {
      headers: { Accept: "application/json", Authorization: `Bearer ${session.token}` }, credentials: "omit", cache: "no-cache",
    });
  } catch (error) {
    throw new ApiError(0, `Cannot reach plugind (${error && error.message ? error.message : error}). Check that the server is running.`);
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    const message = body && typeof body.error === "string" ? body.error : `The export failed (HTTP ${response.status}).`;
    throw new ApiError(response.status, message, body, response.headers.get("X-Request-Id"));
  }
  return response.blob();
}

/** `?skip=a&skip=b` for the plugins the reader chose to leave as they are. */
function skipQuery(skip) {
  const names = [...skip].sort();
  return names.length ? "?" + names.map((n) => `skip=${encodeURIComponent(n)}`).join("&") : "";
}

/** What a change does, in words: versions for packages, values for settings (a secret's is never shown). */
function detail(change) {
  if (["install", "upgrade", "downgrade", "reinstall", "uninstall"].includes(change.action)) {
    if (change.action === "install") return `version ${change.to}`;
    if (change.action === "uninstall") return `version ${change.from}`;
    if (change.action === "reinstall") return `version ${change.to}, another dependency tree`;
    return `${change.from} → ${change.to}`;
  }
  if (change.action === "set") return change.from === null ? `to "${change.to}"` : `"${change.from}" → "${change.to}"`;
  if (change.action === "unset") return change.secret ? "a secret value is removed" : `"${change.from}" is removed`;
  return change.action === "enable" ? "turned on" : "turned off";
}

export async function render(root, _params, ctx) {
  root.append(h("div", { class: "view-head" },
    h("h1", {}, "Manifest"),
    h("p", { class: "muted" }, "This agent's plugin set as one file: packages with their exact trees, enabled plugins, settings, and the names of secrets (never their values). Keep it in git; apply it to other agents.")));

  // --- export -----------------------------------------------------------------------------------
  const exportOut = h("div", { id: "manifest-export-result", "aria-live": "polite" });
  const download = h("button", { type: "button", class: "button button-primary", id: "manifest-download" }, `Download ${FILENAME}`);
  download.addEventListener("click", async () => {
    clear(exportOut);
    download.disabled = true;
    try {
      const blob = await exportBlob();
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: FILENAME, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      exportOut.append(infoBox(`Downloaded ${FILENAME} (${blob.size} bytes).`, "success"));
    } catch (error) {
      exportOut.append(errorBox(error, "Export failed"));
    } finally {
      download.disabled = false;
    }
  });
  root.append(h("section", { class: "panel", "aria-labelledby": "manifest-export-title", id: "manifest-export" },
    h("h2", { id: "manifest-export-title" }, "Export"),
    h("p", {}, "The same set always exports the same bytes (sorted keys, two-space indentation), so a diff shows exactly what changed."),
    h("div", { class: "button-row" }, download),
    exportOut));

  if (!ctx.isAdmin) {
    root.append(h("section", { class: "panel", "aria-labelledby": "manifest-import-title", id: "manifest-import" },
      h("h2", { id: "manifest-import-title" }, "Import and apply"),
      h("p", { class: "muted", id: "manifest-read-only" }, "Planning and applying a manifest change the agent: they need an admin token.")));
    return null;
  }

  // --- import -----------------------------------------------------------------------------------
  const fileId = uid("manifest-file");
  const textId = uid("manifest-text");
  const file = h("input", { type: "file", id: fileId, class: "input", accept: "application/json,.json", "data-manifest-file": "true" });
  const text = h("textarea", { id: textId, class: "input", rows: "10", spellcheck: "false", "data-manifest-text": "true",
    "aria-describedby": `${textId}-help` });
  const importError = h("div", { id: "manifest-import-error", "aria-live": "assertive" });
  const planButton = h("button", { type: "button", class: "button button-primary", id: "manifest-plan" }, "Show the plan");
  file.addEventListener("change", async () => {
    clear(importError);
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    try {
      text.value = await chosen.text();
      await showPlan();
    } catch (error) {
      importError.append(errorBox(error, "The file cannot be read"));
    }
  });
  planButton.addEventListener("click", () => showPlan());
  root.append(h("section", { class: "panel", "aria-labelledby": "manifest-import-title", id: "manifest-import" },
    h("h2", { id: "manifest-import-title" }, "Import"),
    h("label", { for: fileId, class: "field-label" }, "A manifest file"),
    file,
    h("label", { for: textId, class: "field-label" }, "or its text"),
    text,
    h("p", { id: `${textId}-help`, class: "help" }, "Nothing changes until you apply: the plan only compares the manifest with this agent."),
    importError,
    h("div", { class: "form-actions" }, planButton)));

  // --- plan and apply ---------------------------------------------------------------------------
  const planBox = h("section", { class: "panel", "aria-labelledby": "manifest-plan-title", id: "manifest-plan-section", hidden: true },
    h("h2", { id: "manifest-plan-title" }, "Plan"));
  const op = operationBlock("Apply the manifest");
  op.element.id = "manifest-operation";
  const applyOut = h("div", { id: "manifest-apply-result", "aria-live": "polite" });
  root.append(planBox, op.element, applyOut);

  let manifest = null; // the parsed manifest the plan shown is about
  const skip = new Set();

  function readManifest() {
    const source = text.value.trim();
    if (!source) throw new Error("Choose a manifest file or paste its text first.");
    try {
      return JSON.parse(source);
    } catch (error) {
      throw new Error(`This is not JSON, so it is not a manifest: ${error.message}`);
    }
  }

  async function showPlan() {
    clear(importError);
    try {
      manifest = readManifest();
    } catch (error) {
      importError.append(errorBox(error));
      planBox.hidden = true;
      return;
    }
    planButton.disabled = true;
    try {
      const plan = await post(`/api/manifest/plan${skipQuery(skip)}`, manifest);
      if (ctx.alive()) renderPlan(plan);
    } catch (error) {
      planBox.hidden = true;
      const box = errorBox(error, "The manifest was refused");
      if (error.body && typeof error.body.field === "string") {
        box.append(h("div", { id: "manifest-error-field" }, "Field: ", h("code", {}, error.body.field)));
      }
      if (error.body && Array.isArray(error.body.validationErrors)) {
        box.append(h("ul", {}, error.body.validationErrors.map((e) => h("li", {}, h("code", {}, e.field), " ", e.message))));
      }
      importError.append(box);
    } finally {
      planButton.disabled = false;
    }
  }

  function renderPlan(plan) {
    clear(planBox).append(h("h2", { id: "manifest-plan-title" }, "Plan"));
    planBox.hidden = false;
    const changes = plan.changes || [];
    const blocked = plan.blocked || [];
    const missing = plan.missingSecrets || [];
    if (!changes.length) {
      planBox.append(infoBox("Nothing to change: this agent already has the manifest's plugin set.", "success"));
    } else {
      planBox.append(h("p", {}, `${changes.length} change${changes.length === 1 ? "" : "s"}, in the order the apply makes them:`),
        h("div", { class: "table-wrap" }, h("table", { class: "table", id: "manifest-plan-table" },
          h("thead", {}, h("tr", {}, ["Change", "Plugin or setting", "Detail"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, changes.map((c) => h("tr", { "data-action": c.action, "data-subject": c.plugin || c.key || "" },
            h("td", { "data-label": "Change" }, badge(c.action, ACTION_KIND[c.action] || "neutral")),
            h("td", { "data-label": "Plugin or setting" }, h("code", {}, c.plugin || c.key || "")),
            h("td", { "data-label": "Detail" }, detail(c), c.secret ? [" ", badge("secret", "warning")] : null)))))));
    }
    if (missing.length) {
      planBox.append(h("div", { class: "message message-warning", role: "status", id: "manifest-missing-secrets" },
        h("strong", {}, missing.length === 1 ? "A secret this agent lacks" : `${missing.length} secrets this agent lacks`),
        h("p", {}, "The manifest says they are set where it comes from. The apply does not set them: set each on this agent in its plugin's settings."),
        h("ul", {}, missing.map((k) => h("li", {}, h("code", {}, k))))));
    }
    if (blocked.length || skip.size) {
      const items = blocked.map((b) => ({ plugin: b.plugin, reason: b.reason }))
        .concat([...skip].filter((name) => !blocked.some((b) => b.plugin === name)).map((plugin) => ({ plugin, reason: "Skipped: left as it is." })));
      planBox.append(h("div", { class: "message message-warning", id: "manifest-blocked" },
        h("strong", {}, "Ejected copies with local work"),
        h("p", {}, "The apply refuses to overwrite them. Skip one to leave that plugin as it is and apply the rest."),
        h("ul", { class: "plain-list" }, items.map((b) => {
          const id = uid("skip");
          const box = h("input", { type: "checkbox", id, checked: skip.has(b.plugin), "data-skip": b.plugin });
          box.addEventListener("change", () => {
            if (box.checked) skip.add(b.plugin);
            else skip.delete(b.plugin);
            showPlan();
          });
          return h("li", { class: "inline-check" }, box, h("label", { for: id }, "Skip ", h("code", {}, b.plugin)),
            h("div", { class: "small muted" }, b.reason));
        }))));
    }
    const otherWarnings = (plan.warnings || []).filter((w) => !missing.some((k) => w.startsWith(`${k} is set where`)));
    if (otherWarnings.length) planBox.append(warningsBox({ warnings: otherWarnings }));
    const apply = h("button", { type: "button", class: "button button-primary", id: "manifest-apply", "data-mutates": "true",
      disabled: !changes.length || blocked.length > 0 }, changes.length ? `Apply ${changes.length} change${changes.length === 1 ? "" : "s"}` : "Apply");
    apply.addEventListener("click", () => runApply(changes.length));
    planBox.append(h("div", { class: "form-actions" }, apply,
      blocked.length ? h("span", { class: "muted small" }, "Skip the blocked plugins to apply.") : null));
  }

  async function runApply(count) {
    const ok = await confirmDialog({
      title: "Apply the manifest?", confirmLabel: "Apply",
      message: `${count} change${count === 1 ? "" : "s"} as one operation: every package is verified and staged first; if any step fails, everything is put back. The agent restarts once to load them.`,
    });
    if (!ok) return;
    clear(applyOut);
    for (const b of root.querySelectorAll("button[data-mutates], button#manifest-plan")) b.disabled = true;
    try {
      const result = await op.run(`/api/manifest/apply${skipQuery(skip)}`, manifest);
      applyOut.append(infoBox(result.message || "The manifest was applied.", "success"));
      const verdicts = result.verdicts || [];
      if (verdicts.length) {
        applyOut.append(h("ul", { class: "plain-list", id: "manifest-verdicts" }, verdicts.map((v) => h("li", { "data-loaded": String(v.loaded) },
          h("code", {}, v.plugin), " ", v.loaded ? badge("loaded", "success") : badge("did not load", "danger"),
          v.loadError ? h("span", { class: "load-error" }, " " + v.loadError) : null))));
      }
      ctx.notify("The manifest was applied.", "success");
    } catch (error) {
      const step = error.body && typeof error.body.failedStep === "string" ? error.body.failedStep : null;
      if (step) applyOut.append(h("p", { class: "message message-error", id: "manifest-failed-step" }, "Failed step: ", h("code", {}, step)));
    } finally {
      if (ctx.alive()) {
        planButton.disabled = false;
        await showPlan();
      }
    }
  }

  return null;
}
