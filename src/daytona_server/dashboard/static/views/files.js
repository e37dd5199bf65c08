// The sandbox's files, through the toolbox: a folder listing that starts at the sandbox user's home, with
// folders to open and a way up, uploads (file picker or drag and drop), downloads and deletes. Toolbox
// calls count as activity, so the panel reads only when it opens and when the user asks, never on a timer.

import { api, enc, uploadFile } from "../api.js";
import { announce, confirmAction, fill, h, showError, timeAgo } from "../ui.js";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** "1.5 MiB" for a byte count. */
export function sizeText(bytes) {
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

function join(dir, name) {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

function parentOf(dir) {
  return dir.replace(/\/[^/]+\/?$/, "") || "/";
}

/** The file browser panel of sandbox `id`; `setState(state)` opens it once the sandbox is started. */
export function filesPanel(id) {
  const base = `/toolbox/${enc(id)}/toolbox`;
  let dir = null;
  let entries = [];
  let started = false;
  let busy = false;
  let generation = 0; // answers to an older listing are dropped

  const errorSlot = h("div", { id: "files-error" });
  const status = h("p", { class: "hint", role: "status", id: "files-status" });
  const crumbs = h("nav", { class: "path-crumbs", "aria-label": "Folder path", id: "files-path" });
  const up = h("button", { type: "button", class: "secondary small", id: "files-up", onclick: () => dir && list(parentOf(dir)) }, "Up");
  const refresh = h("button", { type: "button", class: "secondary small", id: "files-refresh", onclick: () => dir && list(dir) }, "Refresh");
  const picker = h("input", { type: "file", id: "file-upload", multiple: true, onchange: () => upload([...picker.files]) });
  const tbody = h("tbody");
  const table = h(
    "div",
    { class: "table-wrap files-wrap", id: "files-drop" },
    h(
      "table",
      { id: "files-table" },
      h("caption", { class: "visually-hidden" }, "Files in the folder, folders first"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Name", "Size", "Mode", "Modified"].map((name) => h("th", { scope: "col" }, name)),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
        ),
      ),
      tbody,
    ),
    h("div", { class: "drop-hint", "aria-hidden": "true" }, "Drop files to upload them here"),
  );
  const body = h(
    "div",
    { id: "files-body" },
    h(
      "div",
      { class: "files-toolbar" },
      crumbs,
      h("div", { class: "files-buttons" }, up, refresh),
    ),
    h(
      "div",
      { class: "upload-row" },
      h("label", { for: "file-upload" }, "Upload files to this folder"),
      picker,
      h("span", { class: "hint" }, "or drop them on the list."),
    ),
    status,
    table,
  );
  const idle = h("p", { class: "muted", id: "files-idle" }, "Loading…");
  const element = h(
    "section",
    { class: "panel", "aria-labelledby": "files-title", id: "files-panel" },
    h("h2", { id: "files-title" }, "Files"),
    errorSlot,
    idle,
    body,
  );
  body.hidden = true;

  function setBusy(value) {
    busy = value;
    for (const control of [up, refresh, picker]) control.disabled = value || !started || !dir;
    if (dir === "/") up.disabled = true;
    for (const button of tbody.querySelectorAll("button")) button.disabled = value;
  }

  function renderCrumbs() {
    const parts = dir.split("/").filter(Boolean);
    const items = [h("li", {}, crumbButton("/", "/", parts.length === 0))];
    parts.forEach((part, index) => {
      const path = `/${parts.slice(0, index + 1).join("/")}`;
      items.push(h("li", {}, crumbButton(path, part, index === parts.length - 1)));
    });
    fill(crumbs, h("ol", {}, items));
  }

  function crumbButton(path, text, current) {
    if (current) return h("span", { "aria-current": "location", class: "mono" }, text);
    return h("button", { type: "button", class: "link mono", "aria-label": `Open folder ${path}`, onclick: () => list(path) }, text);
  }

  function row(entry) {
    const path = join(dir, entry.name);
    const name = entry.isDir
      ? h("button", { type: "button", class: "link entry-dir", "aria-label": `Open folder ${entry.name}`, onclick: () => list(path) }, entry.name)
      : h("span", { class: "entry-file" }, entry.name);
    const actions = [];
    if (!entry.isDir) {
      const link = h(
        "a",
        {
          class: "button-link small",
          href: `/api${base}/files/download?path=${enc(path)}`,
          download: entry.name,
          "aria-label": `Download ${entry.name}`,
        },
        "Download",
      );
      link.addEventListener("click", (event) => download(event, link, path));
      actions.push(link);
    }
    actions.push(
      h(
        "button",
        { type: "button", class: "danger small", "aria-label": `Delete ${entry.name}`, onclick: () => remove(entry) },
        "Delete",
      ),
    );
    return h(
      "tr",
      { dataset: { name: entry.name, kind: entry.isDir ? "dir" : "file" } },
      h("td", { class: "name-col" }, name),
      h("td", { class: "size-col nowrap", title: entry.isDir ? null : `${entry.size} bytes` }, entry.isDir ? "—" : sizeText(entry.size)),
      h("td", { class: "mode-col" }, h("code", { title: `${entry.permissions || ""} ${entry.owner || ""}:${entry.group || ""}`.trim() }, entry.mode)),
      h("td", { class: "modified-col nowrap" }, timeAgo(entry.modTime || entry.modifiedAt, "unknown")),
      h("td", { class: "actions" }, actions),
    );
  }

  function render() {
    renderCrumbs();
    const sorted = [...entries].sort((a, b) => Number(b.isDir) - Number(a.isDir) || a.name.localeCompare(b.name));
    fill(
      tbody,
      sorted.length
        ? sorted.map(row)
        : h("tr", { class: "empty-row" }, h("td", { colspan: 5, class: "empty" }, "This folder is empty.")),
    );
  }

  async function list(path) {
    const mine = ++generation;
    showError(errorSlot, null);
    setBusy(true);
    try {
      const found = await api("GET", `${base}/files?path=${enc(path)}`);
      if (mine !== generation) return;
      dir = path;
      entries = found || [];
      render();
      body.hidden = false;
      idle.hidden = true;
    } catch (error) {
      if (mine === generation && error.status !== 401) showError(errorSlot, error);
    } finally {
      if (mine === generation) setBusy(false);
    }
  }

  async function open() {
    if (dir) {
      await list(dir);
      return;
    }
    try {
      const home = await api("GET", `${base}/project-dir`);
      await list((home && home.dir) || "/");
    } catch (error) {
      if (error.status !== 401) showError(errorSlot, error);
    }
  }

  async function download(event, link, path) {
    // A link streams the file to disk; check first that it is still there, so an error is a message
    // here and not a downloaded error page.
    if (link.dataset.checked) {
      delete link.dataset.checked;
      return;
    }
    event.preventDefault();
    showError(errorSlot, null);
    try {
      await api("GET", `${base}/files/info?path=${enc(path)}`);
      link.dataset.checked = "1";
      link.click();
    } catch (error) {
      if (error.status !== 401) showError(errorSlot, error);
    }
  }

  async function remove(entry) {
    const path = join(dir, entry.name);
    const ok = await confirmAction(
      entry.isDir
        ? { title: `Delete folder ${entry.name}?`, text: `${path} and everything in it are removed for good.`, confirmLabel: "Delete folder" }
        : { title: `Delete ${entry.name}?`, text: `${path} is removed for good.`, confirmLabel: "Delete file" },
    );
    if (!ok) return;
    showError(errorSlot, null);
    setBusy(true);
    try {
      await api("DELETE", `${base}/files?path=${enc(path)}${entry.isDir ? "&recursive=true" : ""}`);
      announce(`Deleted ${path}.`);
      status.textContent = `Deleted ${entry.name}.`;
    } catch (error) {
      if (error.status !== 401) showError(errorSlot, error);
    } finally {
      setBusy(false);
    }
    await list(dir);
  }

  async function upload(files) {
    if (!files.length || !dir || busy) return;
    const target = dir;
    const existing = new Set(entries.map((entry) => entry.name));
    const replacing = files.filter((file) => existing.has(file.name)).map((file) => file.name);
    if (
      replacing.length &&
      !(await confirmAction({
        title: `Replace ${replacing.length === 1 ? replacing[0] : `${replacing.length} files`}?`,
        text: `${replacing.join(", ")} already ${replacing.length === 1 ? "exists" : "exist"} in ${target}: the upload overwrites ${replacing.length === 1 ? "it" : "them"}.`,
        confirmLabel: "Replace",
      }))
    ) {
      picker.value = "";
      return;
    }
    showError(errorSlot, null);
    setBusy(true);
    let done = 0;
    try {
      for (const file of files) {
        status.textContent = `Uploading ${file.name}…`;
        await uploadFile(`${base}/files/upload?path=${enc(join(target, file.name))}`, file, (sent, total) => {
          status.textContent = `Uploading ${file.name}: ${Math.floor((100 * sent) / Math.max(total, 1))} %`;
        });
        done += 1;
      }
      status.textContent = `Uploaded ${done === 1 ? files[0].name : `${done} files`} to ${target}.`;
      announce(status.textContent);
    } catch (error) {
      status.textContent = done ? `Uploaded ${done} of ${files.length} files.` : "";
      if (error.status !== 401) showError(errorSlot, error);
    } finally {
      picker.value = "";
      setBusy(false);
    }
    if (dir === target) await list(target);
  }

  // Drag and drop onto the listing: files only (a dropped folder has no bytes to send).
  let depth = 0;
  const accepts = (event) => started && dir && !busy && [...(event.dataTransfer?.types || [])].includes("Files");
  table.addEventListener("dragenter", (event) => {
    if (!accepts(event)) return;
    event.preventDefault();
    depth += 1;
    table.classList.add("dragging");
  });
  table.addEventListener("dragover", (event) => {
    if (!accepts(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  table.addEventListener("dragleave", () => {
    depth = Math.max(depth - 1, 0);
    if (!depth) table.classList.remove("dragging");
  });
  table.addEventListener("drop", (event) => {
    depth = 0;
    table.classList.remove("dragging");
    if (!accepts(event)) return;
    event.preventDefault();
    const files = [];
    let folders = 0;
    for (const item of event.dataTransfer.items || []) {
      if (item.kind !== "file") continue;
      if (item.webkitGetAsEntry?.()?.isDirectory) folders += 1;
      else if (item.getAsFile()) files.push(item.getAsFile());
    }
    upload(files).then(() => {
      if (folders) showError(errorSlot, new Error("Folders cannot be uploaded here: drop the files inside them."));
    });
  });

  return {
    element,
    /** Follow the sandbox's state: list on becoming started, say why not otherwise. */
    setState(state) {
      const wasStarted = started;
      started = state === "started";
      if (started && !wasStarted) {
        idle.textContent = "Loading…";
        open();
      } else if (!started) {
        body.hidden = true;
        idle.hidden = false;
        idle.textContent = `The sandbox is ${state}: start it to browse its files.`;
        showError(errorSlot, null);
      }
      setBusy(busy);
    },
  };
}
