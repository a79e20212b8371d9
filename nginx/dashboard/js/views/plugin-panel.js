// One plugin: its state, its parameters as a form (Save → PUT /api/plugins/:id), Test connection,
// Eject / Sync / Reinject for installed and ejected plugins, for an installed package the runtime's
// verdict on its version and Roll back to the kept previous version, and its recent changes (the
// audit log's last five entries about it).

import { get, put, post, seg, ApiError } from "../api.js";
import { h, clear, errorBox, loading, toggleSwitch, setSwitch, badge, uid, confirmDialog } from "../dom.js";
import { operationBlock } from "../operation.js";
import { categoryLabel, statusCell, configBadges } from "./common.js";
import { advisoryCell } from "../compat.js";
import { fetchAudit, activityHash, auditTime, changePhrase, changesAbout, whoCell, statusBadge, requestText } from "../audit.js";

const RECENT = 5;

export async function render(root, params, ctx) {
  const id = params.join("/");
  const back = h("a", { href: "#/plugins", class: "back-link" }, "← All plugins");
  const body = h("div", {}, loading(`Loading ${id}…`));
  root.append(back, body);
  let plugin;
  try {
    plugin = (await get(`/api/plugins/${seg(id)}`)).plugin;
  } catch (error) {
    clear(body).append(errorBox(error, `Could not load plugin ${id}`));
    return;
  }
  if (!ctx.alive()) return;
  renderPanel(body, plugin, ctx);
}

function renderPanel(body, plugin, ctx, notice, warnings = []) {
  clear(body);
  const title = plugin.name || plugin.id;
  const headingId = uid("plugin-title");
  const panel = h("section", { class: "panel plugin-panel", "aria-labelledby": headingId, "data-id": plugin.id });
  body.append(panel);

  // --- header ---
  const enabledSwitch = toggleSwitch({
    checked: plugin.enabled, label: ["Disabled", "Enabled"], hideLabel: false, disabled: !ctx.isAdmin,
    onchange: async (checked, input) => {
      input.disabled = true;
      try {
        const result = await put(`/api/plugins/${seg(plugin.id)}`, { enabled: checked });
        renderPanel(body, result.plugin, ctx, result.requiresRestart
          ? `${checked ? "Enabled" : "Disabled"}; the agent restarts to apply it.` : `${checked ? "Enabled" : "Disabled"}.`, result.warnings);
        const again = body.querySelector(".panel-switch input");
        if (again) again.focus();
      } catch (error) {
        setSwitch(input, !checked);
        ctx.notifyError(error, `Could not ${checked ? "enable" : "disable"} ${title}`);
        input.disabled = false;
        input.focus();
      }
    },
  });
  panel.append(h("header", { class: "panel-head" },
    h("div", {},
      h("h1", { id: headingId }, title),
      h("div", { class: "muted" }, h("code", {}, plugin.npmName || plugin.id),
        plugin.version ? ` · version ${plugin.version}` : "", ` · ${categoryLabel(plugin.category)}`),
      h("div", { class: "badges" }, badge(plugin.source || "bundled", "neutral", "Where its code comes from"),
        plugin.available === false ? badge("code not present", "warning", "Not installed, ejected or bundled with the agent") : null)),
    h("div", { class: "panel-switch" }, enabledSwitch)));
  if (plugin.description) panel.append(h("p", { class: "description" }, plugin.description));
  panel.append(h("div", { class: "panel-status" }, statusCell(plugin), configBadges(plugin)));
  if (notice) panel.append(h("div", { class: "message message-success", role: "status", tabindex: "-1", id: "panel-notice" }, notice));
  // Accepted, but the plugin is enabled without settings it needs: which ones (the form marks them too).
  if (warnings && warnings.length) {
    panel.append(h("div", { class: "message message-warning", role: "status", id: "panel-warnings" }, warnings.map((w) => h("p", {}, w))));
  }
  if (plugin.source === "installed") panel.append(advisoriesSection(plugin));

  // --- actions: test, eject / sync / reinject ---
  if (ctx.isAdmin) panel.append(actions(plugin, ctx, body));

  // --- the form ---
  panel.append(configForm(plugin, ctx, body));

  // --- what was changed lately (read again after each change the panel makes, as it is redrawn) ---
  panel.append(recentChanges(plugin, ctx));
}

/** The plugin's last few audit entries (GET /api/audit?plugin=…&limit=5) and a link to all of them in
 *  Activity. The log is an admin's: a read token gets a sentence, and plugind is not asked. */
function recentChanges(plugin, ctx) {
  const headingId = uid("recent-title");
  const section = h("section", { class: "recent-changes", id: "recent-changes", "aria-labelledby": headingId },
    h("h2", { id: headingId }, "Recent changes"));
  if (!ctx.isAdmin) {
    section.append(h("p", { class: "muted", id: "recent-changes-admin-only" },
      "Who changed this plugin, and when, is only shown to admins: sign in with an admin token to see it."));
    return section;
  }
  const filter = plugin.npmName || plugin.id;
  const list = h("div", {}, loading("Reading the activity…"));
  const link = h("a", { href: activityHash(filter), id: "recent-changes-all" },
    `All changes to ${plugin.name || plugin.id} in Activity`);
  section.append(list, h("p", { class: "small" }, link));
  fetchAudit({ plugin: filter, limit: RECENT }).then((answer) => {
    const entries = Array.isArray(answer && answer.entries) ? answer.entries : [];
    clear(list);
    if (!entries.length) {
      list.append(h("p", { class: "muted", id: "recent-changes-empty" }, "No change to this plugin has been recorded."));
      return;
    }
    list.append(h("ol", { class: "recent-list" }, entries.map((entry) => {
      const changes = changesAbout(entry, [plugin.id, plugin.npmName]);
      // What it changed (to this plugin: a shared setting also names the others); a request that changed nothing (a refused save…) says what it was and its status.
      const what = changes.length
        ? h("span", { class: "recent-what" }, changes.map(changePhrase).join(", "))
        : h("span", { class: "recent-what" }, h("code", {}, requestText(entry)), " ", statusBadge(entry.status));
      return h("li", { "data-id": entry.id || "" }, auditTime(entry.time), " ", what, h("span", { class: "muted small recent-who" }, " by ", whoCell(entry)));
    })));
  }, (error) => {
    clear(list).append(errorBox(error, "The recent changes could not be read"));
  });
  return section;
}

function actions(plugin, ctx, body) {
  const title = plugin.name || plugin.id;
  const result = h("div", { class: "test-result", id: "test-result", "aria-live": "polite" });
  const op = operationBlock("Working");
  const testButton = h("button", { type: "button", class: "button", id: "test-connection", "data-mutates": "true" }, "Test connection");
  testButton.addEventListener("click", async () => {
    testButton.disabled = true;
    testButton.textContent = "Testing…";
    clear(result);
    const started = performance.now();
    try {
      const answer = await post(`/api/plugins/${seg(plugin.id)}/test`);
      const r = answer.result || {};
      const ms = typeof r.durationMs === "number" ? r.durationMs : Math.round(performance.now() - started);
      result.append(h("div", { class: `message ${answer.ok ? "message-success" : "message-error"}`, role: "status", "data-ok": String(Boolean(answer.ok)) },
        h("strong", {}, answer.ok ? "Connection test passed" : "Connection test failed"),
        ` in ${ms} ms`, r.message ? h("div", {}, r.message) : null,
        r.details ? h("details", {}, h("summary", {}, "Details"), h("pre", {}, JSON.stringify(r.details, null, 2))) : null));
    } catch (error) {
      result.append(errorBox(error, "Connection test"));
    } finally {
      testButton.disabled = false;
      testButton.textContent = "Test connection";
    }
  });

  const buttons = [testButton];
  const runOp = async (label, path, payload, after) => {
    op.element.querySelector(".op-label").textContent = label;
    for (const b of buttons) b.disabled = true;
    try {
      const answer = await op.run(path, payload);
      ctx.notify(`${label}: done${answer && answer.requiresRestart ? "; the agent restarts to apply it" : ""}.`, "success");
      if (after) after(answer);
      return answer;
    } catch (error) {
      return { error };
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
  const reload = async () => {
    try {
      const fresh = (await get(`/api/plugins/${seg(plugin.id)}`)).plugin;
      if (ctx.alive()) renderPanel(body, fresh, ctx, "Done.");
    } catch (error) { ctx.notifyError(error); }
  };

  const verdict = h("div", { class: "verdict", id: "verdict" });
  if (plugin.source === "installed") {
    installedVersion(plugin, verdict, buttons, runOp, reload, title);
    const eject = h("button", { type: "button", class: "button", id: "eject", "data-mutates": "true" }, "Eject");
    eject.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: `Eject ${title}?`, confirmLabel: "Eject",
        message: "plugind clones the plugin's source into a local copy the agent loads instead of the package. You can edit it, sync it with upstream, and reinject it later." });
      if (ok) await runOp("Eject", `/api/plugins/${seg(plugin.id)}/eject`, {}, reload);
    });
    buttons.push(eject);
  }
  if (plugin.source === "ejected") {
    const pullId = uid("pull");
    const pull = h("input", { type: "checkbox", id: pullId, checked: true });
    const sync = h("button", { type: "button", class: "button", id: "sync", "data-mutates": "true" }, "Sync");
    sync.addEventListener("click", () => runOp("Sync", `/api/plugins/${seg(plugin.id)}/sync`, pull.checked ? {} : { pull: false }, reload));
    const reinject = h("button", { type: "button", class: "button button-danger", id: "reinject", "data-mutates": "true" }, "Reinject");
    reinject.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: `Reinject ${title}?`, confirmLabel: "Reinject", danger: true,
        message: "The agent goes back to the installed package. The local copy is moved to an archive folder, never deleted." });
      if (!ok) return;
      const answer = await runOp("Reinject", `/api/plugins/${seg(plugin.id)}/reinject`, {}, reload);
      if (answer && answer.error instanceof ApiError && answer.error.status === 409) {
        const force = await confirmDialog({ title: "Reinject anyway?", confirmLabel: "Reinject anyway", danger: true,
          message: `${answer.error.message} Reinjecting anyway archives the copy with its changes.` });
        if (force) await runOp("Reinject", `/api/plugins/${seg(plugin.id)}/reinject`, { force: true }, reload);
      }
    });
    buttons.push(sync, h("span", { class: "inline-check" }, pull, h("label", { for: pullId }, "merge upstream first")), reinject);
  }
  return h("div", { class: "panel-actions" }, verdict, h("div", { class: "button-row" }, buttons), result, op.element);
}

/** The installed version, what the runtime last said about it, and "Roll back to <kept version>" when one is kept
 *  (GET /api/plugins/installed; POST /api/plugins/:id/rollback). */
async function installedVersion(plugin, verdict, buttons, runOp, reload, title) {
  let row;
  try {
    row = ((await get("/api/plugins/installed")).plugins || []).find((r) => r.name === plugin.npmName);
  } catch { return; }
  if (!row) return;
  const parts = [h("span", {}, `Installed version ${row.version || "unknown"}`)];
  if (row.loaded === true) parts.push(badge("loaded", "success", "The agent loaded this version after its last change"));
  if (row.loaded === false) parts.push(badge("did not load", "danger", "The agent could not load this version"),
    h("div", { class: "load-error", id: "load-error" }, row.loadError || "no reason given"));
  verdict.append(...parts);
  if (!row.previousVersion) return;
  const rollback = h("button", { type: "button", class: "button", id: "rollback", "data-mutates": "true" }, `Roll back to ${row.previousVersion}`);
  rollback.addEventListener("click", async () => {
    const ok = await confirmDialog({ title: `Roll back ${title} to ${row.previousVersion}?`, confirmLabel: "Roll back",
      message: `plugind puts version ${row.previousVersion} back and keeps ${row.version} in its place, then the agent restarts and loads it.` });
    if (ok) await runOp(`Roll back to ${row.previousVersion}`, `/api/plugins/${seg(plugin.id)}/rollback`, undefined, reload);
  });
  const row2 = buttons[0] && buttons[0].parentElement;
  buttons.push(rollback);
  if (row2) row2.append(rollback);
}

function controlFor(param, inputId, describedBy, readOnly) {
  const value = param.currentValue === null || param.currentValue === undefined ? "" : String(param.currentValue);
  const placeholder = param.default !== null && param.default !== undefined && param.default !== "" ? String(param.default) : "";
  const common = { id: inputId, name: param.key, class: "input", "aria-describedby": describedBy, disabled: readOnly || param.blocked,
    "aria-required": param.required ? "true" : undefined };
  if (Array.isArray(param.options) && param.options.length) {
    return h("select", common,
      h("option", { value: "" }, placeholder ? `— default: ${placeholder} —` : "— not set —"),
      param.options.map((o) => h("option", { value: String(o), selected: String(o) === value }, String(o))),
      value && !param.options.map(String).includes(value) ? h("option", { value, selected: true }, `${value} (not an option)`) : null);
  }
  if (param.type === "boolean") {
    return h("select", common,
      h("option", { value: "" }, placeholder ? `— default: ${placeholder} —` : "— not set —"),
      ["true", "false"].map((o) => h("option", { value: o, selected: o === value }, o)),
      value && value !== "true" && value !== "false" ? h("option", { value, selected: true }, value) : null);
  }
  if (param.type === "json") {
    return h("textarea", { ...common, rows: "3", spellcheck: "false", placeholder, value });
  }
  return h("input", {
    ...common, type: "text", value, placeholder, autocomplete: "off", spellcheck: "false",
    inputmode: param.type === "number" ? "decimal" : undefined,
  });
}

function configForm(plugin, ctx, body) {
  const params = plugin.parameters || [];
  const formId = uid("config");
  const form = h("form", { class: "config-form", id: "config-form", novalidate: true, "aria-labelledby": `${formId}-title` });
  form.append(h("h2", { id: `${formId}-title` }, "Configuration"));
  if (!params.length) {
    form.append(h("p", { class: "muted" }, "This plugin declares no parameters."));
    return form;
  }
  const formError = h("div", { class: "form-error", id: "form-error", "aria-live": "assertive" });
  form.append(h("p", { class: "muted small" }, h("span", { class: "required-mark", "aria-hidden": "true" }, "*"), " required. Empty fields use the default shown in grey; values are shared by every plugin that declares the same key."), formError);

  const fields = new Map(); // key → {param, getValue(): undefined (unchanged) | string | null, messages, control}

  for (const param of params) {
    const inputId = uid("param");
    const descId = `${inputId}-desc`;
    const msgId = `${inputId}-msgs`;
    const messages = h("ul", { class: "field-messages", id: msgId, "data-field": param.key });
    const label = h("label", { for: inputId, class: "field-label" },
      h("code", {}, param.key),
      param.required ? h("span", { class: "required-mark", title: "required" }, h("span", { "aria-hidden": "true" }, " *"), h("span", { class: "visually-hidden" }, " (required)")) : null,
      " ", h("span", { class: "muted type" }, param.type || "string"),
      param.sensitive ? badge("secret", "accent", "Shown masked; stored in the agent config") : null,
      param.blocked ? badge("blocked", "danger", "plugind never sets this key") : null);
    const help = h("p", { class: "help", id: descId },
      param.description || "",
      param.default !== null && param.default !== undefined ? h("span", { class: "muted" }, ` Default: ${param.default}.`) : null,
      param.type === "array" ? h("span", { class: "muted" }, " Separate items with commas.") : null,
      param.blocked ? h("span", {}, " This key is blocked: plugind never writes it.") : null);
    const field = h("div", { class: "field", "data-key": param.key, "data-type": param.type || "string" }, label, help);
    const describedBy = `${descId} ${msgId}`;
    let getValue;
    let control;
    let focusTarget;

    if (param.sensitive && param.isSet && !param.blocked) {
      // The stored secret is never sent to the page: show its mask; "Replace" opens an empty input.
      const mask = h("code", { class: "mask", id: `${inputId}-mask` }, param.currentValue || "****");
      const secretInput = h("input", { id: inputId, name: param.key, type: "password", class: "input", autocomplete: "new-password",
        "aria-describedby": describedBy, hidden: true, placeholder: "new value" });
      let mode = "keep"; // keep | replace | clear
      const status = h("span", { class: "muted small secret-status", "aria-live": "polite" });
      const replace = h("button", { type: "button", class: "button button-small", "data-mutates": "true", "data-action": "replace", "aria-label": `Replace ${param.key}` }, "Replace");
      const clearBtn = h("button", { type: "button", class: "button button-small", "data-mutates": "true", "data-action": "clear", "aria-label": `Clear ${param.key}` }, "Clear");
      const cancel = h("button", { type: "button", class: "button button-small", hidden: true, "data-action": "cancel", "aria-label": `Keep the stored ${param.key}` }, "Keep stored value");
      const setMode = (m) => {
        mode = m;
        secretInput.hidden = m !== "replace";
        mask.classList.toggle("struck", m === "clear");
        replace.hidden = m !== "keep";
        clearBtn.hidden = m !== "keep";
        cancel.hidden = m === "keep";
        status.textContent = m === "clear" ? "will be cleared when you save" : "";
        if (m !== "replace") secretInput.value = "";
        if (m === "replace") secretInput.focus();
      };
      replace.addEventListener("click", () => setMode("replace"));
      clearBtn.addEventListener("click", () => setMode("clear"));
      cancel.addEventListener("click", () => setMode("keep"));
      label.setAttribute("for", `${inputId}-mask`);
      control = h("div", { class: "secret" }, h("div", { class: "secret-row" }, mask, ctx.isAdmin ? [replace, clearBtn, cancel] : null, status), secretInput);
      getValue = () => (mode === "clear" ? null : mode === "replace" && secretInput.value !== "" ? secretInput.value : undefined);
      focusTarget = () => (mode === "replace" ? secretInput : replace);
      secretInput.addEventListener("focus", () => label.setAttribute("for", inputId));
    } else if (param.sensitive && !param.blocked) {
      control = h("input", { id: inputId, name: param.key, type: "password", class: "input", autocomplete: "new-password",
        "aria-describedby": describedBy, disabled: !ctx.isAdmin, placeholder: param.default ? String(param.default) : "not set" });
      getValue = () => (control.value !== "" ? control.value : undefined);
      focusTarget = () => control;
    } else {
      control = controlFor(param, inputId, describedBy, !ctx.isAdmin);
      const initial = param.currentValue === null || param.currentValue === undefined ? "" : String(param.currentValue);
      getValue = () => {
        const v = control.value;
        if (v === initial) return undefined;
        return v === "" ? null : v;
      };
      focusTarget = () => control;
    }
    field.append(control, messages);
    form.append(field);
    fields.set(param.key, { param, field, messages, getValue, focusTarget });
  }

  const showMessages = (list, kind) => {
    const unmatched = [];
    for (const item of list || []) {
      const f = fields.get(item.field);
      if (!f) { unmatched.push(item); continue; }
      f.messages.append(h("li", { class: `field-${kind}` }, h("span", { class: "visually-hidden" }, kind === "error" ? "Error: " : "Warning: "), item.message));
      if (kind === "error") {
        f.field.classList.add("invalid");
        for (const el of f.field.querySelectorAll("input, select, textarea")) el.setAttribute("aria-invalid", "true");
      } else {
        f.field.classList.add("has-warning");
      }
    }
    return unmatched;
  };
  const resetMessages = () => {
    clear(formError);
    for (const f of fields.values()) {
      clear(f.messages);
      f.field.classList.remove("invalid", "has-warning");
      for (const el of f.field.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    }
  };
  // The plugin's own validation (from GET), shown on load and again after a refused save.
  const showOwnValidation = () => {
    const unmatched = [...showMessages(plugin.validationErrors, "error"), ...showMessages(plugin.validationWarnings, "warning")];
    if (unmatched.length) {
      formError.append(h("ul", { class: "message message-warning" }, unmatched.map((m) => h("li", {}, `${m.field}: ${m.message}`))));
    }
  };
  showOwnValidation();

  if (!ctx.isAdmin) return form;

  const save = h("button", { type: "submit", class: "button button-primary", id: "save-config", "data-mutates": "true" }, "Save");
  const reset = h("button", { type: "button", class: "button", id: "reset-config", "data-mutates": "true" }, "Discard changes");
  const saveStatus = h("span", { class: "muted small", id: "save-status", "aria-live": "polite" });
  reset.addEventListener("click", () => renderPanel(body, plugin, ctx));
  form.append(h("div", { class: "form-actions sticky-actions" }, save, reset, saveStatus));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const config = {};
    for (const [key, f] of fields) {
      if (f.param.blocked) continue;
      const v = f.getValue();
      if (v !== undefined) config[key] = v;
    }
    if (!Object.keys(config).length) {
      saveStatus.textContent = "Nothing changed.";
      return;
    }
    resetMessages();
    save.disabled = true;
    saveStatus.textContent = "Saving…";
    try {
      const result = await put(`/api/plugins/${seg(plugin.id)}`, { config });
      const affected = (result.affectedPlugins || []).filter((p) => p !== plugin.id);
      const note = ["Saved."];
      if (result.requiresRestart) note.push("The agent restarts to apply it.");
      if (affected.length) note.push(`Also used by: ${affected.join(", ")}.`);
      renderPanel(body, result.plugin, ctx, note.join(" "), result.warnings);
      const notice = body.querySelector("#panel-notice");
      if (notice) notice.focus();
    } catch (error) {
      saveStatus.textContent = "";
      const list = error.body && Array.isArray(error.body.validationErrors) ? error.body.validationErrors : [];
      const unmatched = showMessages(list, "error");
      formError.append(errorBox(error, "Not saved"));
      if (unmatched.length) formError.append(h("ul", { class: "message message-error" }, unmatched.map((m) => h("li", {}, `${m.field}: ${m.message}`))));
      showOwnValidation();
      const first = list.map((m) => fields.get(m.field)).find(Boolean);
      if (first) {
        const target = first.focusTarget();
        target.focus({ preventScroll: true });
        first.field.scrollIntoView({ block: "center" });
      }
      save.disabled = false;
    }
  });
  return form;
}

/** The security advisories of an installed plugin's tree, from its row in GET /api/plugins/installed. */
function advisoriesSection(plugin) {
  const section = h("section", { class: "plugin-advisories", id: "plugin-advisories", "aria-label": "Security advisories" },
    h("h2", {}, "Security advisories"), loading("Checking…"));
  get("/api/plugins/installed").then((body) => {
    const row = (body.plugins || []).find((p) => p.name === (plugin.npmName || plugin.id));
    section.querySelector(".loading").replaceWith(row ? advisoryCell(row.advisories) : h("span", { class: "muted" }, "not installed by plugind"));
  }, (error) => {
    section.querySelector(".loading").replaceWith(errorBox(error, "The advisories could not be read"));
  });
  return section;
}
