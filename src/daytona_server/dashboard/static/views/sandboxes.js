// The sandbox table. Polls GET /api/workspace every 2 s (reading state does not count as activity, so
// it keeps no sandbox up) and updates rows in place, so keyboard focus and scrolling stay where they are.

import { api } from "../api.js";
import { announce, fill, h, showError, timeAgo } from "../ui.js";
import { POLL_MS, actionButtons, labelList, resourcesText, runAction, stateBadge, updateButtons } from "./common.js";
import { createForm } from "./create.js";

const COLUMNS = ["ID", "Name", "State", "Image", "Target", "Resources", "Labels", "Created"];

export function renderSandboxes(main, route, ctx) {
  const errorSlot = h("div", { id: "sandboxes-error" });
  const updated = h("span", { class: "muted", id: "last-refresh" });
  const tbody = h("tbody");
  const emptyRow = h(
    "tr",
    { class: "empty-row" },
    h(
      "td",
      { colspan: COLUMNS.length + 1, class: "empty" },
      "No sandboxes yet. Create one with the button above, the SDK: ",
      h("code", {}, "Daytona().create()"),
      ", or the CLI: ",
      h("code", {}, "daytona sandbox create"),
      ".",
    ),
  );
  const rows = new Map(); // sandbox id -> {tr, sandbox, pending}
  let timer = null;
  let stopped = false;
  let inFlight = null;

  function buildRow(sandbox) {
    const entry = { sandbox, pending: false };
    const stateCell = h("td", { class: "state-col" });
    const actionsCell = h("td", { class: "actions" });
    const tr = h(
      "tr",
      { dataset: { id: sandbox.id } },
      h(
        "td",
        { class: "id-cell" },
        h("a", { href: `#/sandboxes/${encodeURIComponent(sandbox.id)}`, "aria-label": `Sandbox ${sandbox.id}` }, sandbox.id),
      ),
      h("td", { class: "name-col" }),
      stateCell,
      h("td", { class: "image-col mono" }),
      h("td", { class: "target-col" }),
      h("td", { class: "resources-col" }),
      h("td", { class: "labels-col" }),
      h("td", { class: "created-col nowrap" }),
      actionsCell,
    );
    fill(
      actionsCell,
      actionButtons(sandbox, (action) => act(entry, action)),
    );
    entry.tr = tr;
    entry.stateCell = stateCell;
    return entry;
  }

  function updateRow(entry, sandbox, force = false) {
    const before = entry.sandbox;
    entry.sandbox = sandbox;
    const tr = entry.tr;
    const set = (cls, ...content) => fill(tr.querySelector(`.${cls}`), ...content);
    if (force || before.name !== sandbox.name) set("name-col", sandbox.name || "");
    if (force || before.state !== sandbox.state || before.info?.providerMetadata !== sandbox.info?.providerMetadata) {
      set("state-col", stateBadge(sandbox));
      if (!force && before.state !== sandbox.state) announce(`Sandbox ${sandbox.id} is ${sandbox.state}.`);
    }
    if (force || before.image !== sandbox.image) set("image-col", sandbox.image);
    if (force || before.target !== sandbox.target) set("target-col", sandbox.target);
    set("resources-col", resourcesText(sandbox));
    if (force || JSON.stringify(before.labels) !== JSON.stringify(sandbox.labels)) {
      set("labels-col", labelList(sandbox.labels));
    }
    set("created-col", timeAgo(sandbox.info && sandbox.info.created, "unknown"));
    updateButtons(tr, sandbox.state, entry.pending);
  }

  function render(list) {
    const seen = new Set();
    list.sort((a, b) => String(b.info?.created).localeCompare(String(a.info?.created)) || a.id.localeCompare(b.id));
    let previous = null;
    for (const sandbox of list) {
      seen.add(sandbox.id);
      let entry = rows.get(sandbox.id);
      if (!entry) {
        entry = buildRow(sandbox);
        rows.set(sandbox.id, entry);
        updateRow(entry, sandbox, true);
      } else if (!entry.pending) {
        updateRow(entry, sandbox);
      }
      // Keep DOM order = list order without moving rows that are already in place (moving would drop focus).
      const expected = previous ? previous.nextSibling : tbody.firstChild;
      if (expected !== entry.tr) tbody.insertBefore(entry.tr, expected);
      previous = entry.tr;
    }
    for (const [id, entry] of rows) {
      if (!seen.has(id)) {
        entry.tr.remove();
        rows.delete(id);
      }
    }
    if (rows.size === 0 && !emptyRow.isConnected) tbody.append(emptyRow);
    if (rows.size > 0) emptyRow.remove();
  }

  async function refresh() {
    if (inFlight) return inFlight;
    inFlight = (async () => {
      try {
        const list = await api("GET", "/workspace");
        if (stopped) return;
        render(list);
        const now = new Date();
        fill(updated, "Last updated ", h("time", { datetime: now.toISOString() }, now.toLocaleTimeString()), ".");
        if (errorSlot.dataset.source === "poll") {
          showError(errorSlot, null);
          delete errorSlot.dataset.source;
        }
      } catch (error) {
        if (stopped || error.status === 401) return;
        showError(errorSlot, error);
        errorSlot.dataset.source = "poll";
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  }

  async function act(entry, action) {
    const sandbox = entry.sandbox;
    showError(errorSlot, null);
    delete errorSlot.dataset.source;
    try {
      const done = await runAction(action, sandbox, (busy) => {
        entry.pending = true;
        updateRow(entry, { ...sandbox, state: busy }, true);
      });
      if (done) announce(`${action.label}: sandbox ${sandbox.id} done.`);
    } catch (error) {
      showError(errorSlot, error);
    } finally {
      entry.pending = false;
      const link = entry.tr.querySelector("a");
      if (inFlight) await inFlight; // it may have started before the action ended
      await refresh();
      if (document.activeElement === document.body && link.isConnected) link.focus();
    }
  }

  function schedule() {
    if (stopped) return;
    timer = window.setTimeout(async () => {
      if (!document.hidden) await refresh();
      schedule();
    }, POLL_MS);
  }

  const refreshButton = h(
    "button",
    { type: "button", class: "secondary", onclick: () => refresh() },
    "Refresh now",
  );
  const createSlot = h("section", { class: "panel", id: "create-panel", hidden: true });
  const createButton = h(
    "button",
    { type: "button", id: "open-create", "aria-expanded": "false", "aria-controls": "create-panel", onclick: () => toggleCreate(true) },
    "Create sandbox",
  );

  function toggleCreate(open) {
    createSlot.hidden = !open;
    createButton.setAttribute("aria-expanded", String(open));
    createButton.disabled = open;
    if (!open) {
      fill(createSlot);
      createButton.focus();
      return;
    }
    const form = createForm({
      onCreated: (workspace) => {
        announce(`Sandbox ${workspace.id} created.`);
        ctx.navigate(`#/sandboxes/${encodeURIComponent(workspace.id)}`);
      },
      onCancel: () => toggleCreate(false),
    });
    fill(createSlot, form.element);
    form.focus();
  }

  main.append(
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        h("h1", {}, "Sandboxes"),
        h("p", {}, "States update live, every 2 seconds. ", updated),
      ),
      h("div", { class: "head-actions" }, createButton, refreshButton),
    ),
    createSlot,
    errorSlot,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "sandboxes-table" },
        h("caption", { class: "visually-hidden" }, "Your sandboxes, newest first"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            COLUMNS.map((name) => h("th", { scope: "col" }, name)),
            h("th", { scope: "col" }, "Actions"),
          ),
        ),
        tbody,
      ),
    ),
  );
  refresh().then(schedule);
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}
