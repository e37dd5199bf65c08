// API keys: create one by name (the full key is shown once, with a Copy button and a .env snippet),
// list them masked with created and last-used times, revoke with confirmation.

import { api, enc } from "../api.js";
import { announce, confirmAction, copyText, fill, h, showError, timeAgo } from "../ui.js";

function newKeyPanel(key, onDismiss) {
  const input = h("input", {
    type: "text",
    id: "new-key-value",
    readonly: true,
    value: key.value,
    "aria-describedby": "new-key-warning",
  });
  const status = h("span", { class: "muted", role: "status", id: "copy-status" });
  const copy = h(
    "button",
    {
      type: "button",
      id: "copy-key",
      onclick: async () => {
        const ok = await copyText(key.value, input);
        status.textContent = ok ? "Copied to the clipboard." : "Select the key and copy it with Ctrl+C.";
      },
    },
    "Copy",
  );
  const serverUrl = `${window.location.origin}/api`;
  const panel = h(
    "section",
    { class: "panel new-key", id: "new-key", "aria-labelledby": "new-key-title", tabindex: "-1" },
    h("h2", { id: "new-key-title" }, `Key "${key.name}" created`),
    h(
      "p",
      { id: "new-key-warning" },
      h("strong", {}, "Copy it now: "),
      "this is the only time the whole key is shown. It is stored only as a hash.",
    ),
    h("label", { for: "new-key-value" }, "API key"),
    h("div", { class: "key-row" }, input, copy),
    status,
    h("p", { class: "hint" }, "Put it in a .env file next to your code, and the SDK picks it up:"),
    h("pre", { class: "snippet", id: "env-snippet" }, `DAYTONA_API_KEY=${key.value}\nDAYTONA_SERVER_URL=${serverUrl}`),
    h("button", { type: "button", class: "secondary", onclick: onDismiss }, "Done"),
  );
  return panel;
}

export function renderKeys(main) {
  const errorSlot = h("div", { id: "keys-error" });
  const createdSlot = h("div");
  const tbody = h("tbody");
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { id: "keys-table" },
      h("caption", {}, "Your API keys. Only the first characters of each are shown."),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Name"),
          h("th", { scope: "col" }, "Key"),
          h("th", { scope: "col" }, "Created"),
          h("th", { scope: "col" }, "Last used"),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
        ),
      ),
      tbody,
    ),
  );

  async function load() {
    try {
      const keys = await api("GET", "/api-keys");
      keys.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
      fill(tbody, keys.length ? keys.map(row) : h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No API keys yet.")));
    } catch (error) {
      showError(errorSlot, error);
    }
  }

  function row(key) {
    return h(
      "tr",
      { dataset: { name: key.name } },
      h("th", { scope: "row" }, key.name),
      h("td", {}, h("code", {}, key.value)),
      h("td", { class: "nowrap" }, timeAgo(key.createdAt, "unknown")),
      h("td", { class: "nowrap" }, timeAgo(key.lastUsedAt, "never")),
      h(
        "td",
        { class: "actions" },
        h(
          "button",
          { type: "button", class: "danger small", "aria-label": `Revoke key ${key.name}`, onclick: () => revoke(key) },
          "Revoke",
        ),
      ),
    );
  }

  async function revoke(key) {
    const confirmed = await confirmAction({
      title: `Revoke key "${key.name}"?`,
      text: "Programs using this key stop working at once. This cannot be undone.",
      confirmLabel: "Revoke key",
    });
    if (!confirmed) return;
    showError(errorSlot, null);
    try {
      await api("DELETE", `/api-keys/${enc(key.name)}`);
      announce(`Key ${key.name} revoked.`);
      await load();
    } catch (error) {
      showError(errorSlot, error);
    }
  }

  const nameInput = h("input", {
    type: "text",
    id: "key-name",
    name: "name",
    required: true,
    maxlength: 255,
    autocomplete: "off",
    "aria-describedby": "key-name-hint",
  });
  const createButton = h("button", { type: "submit", id: "create-key" }, "Create Key");
  const createForm = h(
    "form",
    { class: "panel", id: "create-key-form", novalidate: true },
    h("h2", {}, "Create a key"),
    h(
      "div",
      { class: "inline-form" },
      h(
        "div",
        { class: "field" },
        h("label", { for: "key-name" }, "Name"),
        nameInput,
        h("p", { class: "hint", id: "key-name-hint" }, "What the key is for, e.g. \"laptop\" or \"ci\"."),
      ),
      createButton,
    ),
  );
  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      showError(errorSlot, new Error("Enter a name for the key."));
      nameInput.focus();
      return;
    }
    createButton.disabled = true;
    showError(errorSlot, null);
    try {
      const key = await api("POST", "/api-keys", { body: { name } });
      nameInput.value = "";
      const panel = newKeyPanel(key, () => {
        fill(createdSlot);
        nameInput.focus();
      });
      fill(createdSlot, panel);
      panel.focus();
      announce(`Key ${key.name} created. Copy it now; it is shown only once.`);
      await load();
    } catch (error) {
      showError(errorSlot, error);
      nameInput.focus();
    } finally {
      createButton.disabled = false;
    }
  });

  main.append(
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", {}, "API Keys"), h("p", {}, "Keys let the SDK, the CLI and your programs act as you.")),
    ),
    createForm,
    errorSlot,
    createdSlot,
    h("h2", {}, "Keys"),
    table,
  );
  load();
  return null;
}
