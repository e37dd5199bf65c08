// One sandbox: its details (polled every 2 s, like the list), its actions, live usage charts, a terminal,
// a file browser, and its recent session commands with their logs. Sessions and files are read through
// the toolbox, which counts as activity, so they are loaded on opening the page and on request only,
// never polled; the usage charts poll a path the server does not count.

import { api, enc, readText } from "../api.js";
import { announce, fill, h, showError, timeAgo } from "../ui.js";
import { POLL_MS, actionButtons, labelList, metadata, resourcesText, runAction, stateBadge, updateButtons } from "./common.js";
import { filesPanel } from "./files.js";
import { metricsPanel } from "./metrics.js";
import { terminalPanel } from "./terminal.js";

const MAX_COMMANDS = 50;
const MAX_LOG_BYTES = 1024 * 1024;

// The egress policy (see the README's Networking) and how many connections it refused.
function networkText(network) {
  if (!network) return h("span", { class: "muted" }, "unknown");
  if (network.blockAll) return "none: loopback only";
  const only = [network.allowList, network.domainAllowList].filter((list) => list !== null && list !== undefined);
  return only.length ? `only ${only.filter(Boolean).join(", ") || "nothing"}` : "the public internet";
}

function infoList(sandbox) {
  const meta = metadata(sandbox);
  const network = meta.network;
  const rows = [
    ["ID", h("code", {}, sandbox.id)],
    ["Name", sandbox.name],
    ["State", stateBadge(sandbox)],
    ["Image", h("code", {}, sandbox.image)],
    ["Target", sandbox.target],
    ["Resources", resourcesText(sandbox)],
    ["OS user", sandbox.user],
    ["Labels", labelList(sandbox.labels)],
    ["Environment", Object.keys(sandbox.env || {}).join(", ") || h("span", { class: "muted" }, "none")],
    ["Public", sandbox.public ? "yes: preview links need no token" : "no"],
    ["Network", h("span", { id: "network-policy" }, networkText(network))],
    ["Refused connections", h("span", { id: "network-refused" }, String(network?.refused ?? "unknown"))],
    ["Auto-stop", sandbox.autoStopInterval ? `after ${sandbox.autoStopInterval} idle minutes` : "never"],
    ["Auto-archive", meta.autoArchiveInterval ? `after ${meta.autoArchiveInterval} stopped minutes` : "never"],
    ["Created", timeAgo(sandbox.info && sandbox.info.created, "unknown")],
    ["Updated", timeAgo(meta.updatedAt, "unknown")],
  ];
  if (sandbox.errorReason) rows.push(["Error", sandbox.errorReason]);
  return h(
    "dl",
    { class: "info", id: "sandbox-info" },
    rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

function exitText(cmd) {
  if (cmd.exitCode === null || cmd.exitCode === undefined) {
    return h("span", { class: "meta" }, cmd.endedAt ? "ended" : "running");
  }
  return h(
    "span",
    { class: cmd.exitCode === 0 ? "exit-ok" : "exit-fail" },
    `exit ${cmd.exitCode}${cmd.timedOut ? " (timed out)" : ""}`,
  );
}

export function renderSandbox(main, route, ctx) {
  const id = route.id;
  const base = `/workspace/${enc(id)}`;
  const errorSlot = h("div", { id: "sandbox-error" });
  const title = h("h1", {}, id);
  const subtitle = h("p", { hidden: true }, "Sandbox ", h("code", {}, id));
  const actions = h("div", { class: "detail-actions" });
  const infoPanel = h("section", { class: "panel", "aria-labelledby": "info-title" }, h("h2", { id: "info-title" }, "Details"), h("p", { class: "loading" }, "Loading…"));
  const commandsBody = h("div", { id: "commands" });
  const commandsError = h("div");
  const reload = h("button", { type: "button", class: "secondary small", id: "reload-commands" }, "Refresh commands");
  const commandsPanel = h(
    "section",
    { class: "panel", "aria-labelledby": "commands-title" },
    h("div", { class: "page-head" }, h("h2", { id: "commands-title" }, "Recent session commands"), reload),
    commandsError,
    commandsBody,
  );
  const usage = metricsPanel(id);
  const terminal = terminalPanel(id);
  const files = filesPanel(id);
  let sandbox = null;
  let pending = false;
  let stopped = false;
  let timer = null;

  function renderInfo(next, force = false) {
    const changed = force || !sandbox || JSON.stringify(sandbox) !== JSON.stringify(next);
    const stateChanged = sandbox && sandbox.state !== next.state;
    const wasStarted = sandbox && sandbox.state === "started";
    sandbox = next;
    if (!changed) return;
    title.textContent = next.name || next.id;
    subtitle.hidden = !next.name || next.name === next.id;
    fill(infoPanel, h("h2", { id: "info-title" }, "Details"), infoList(next));
    if (!actions.firstChild) fill(actions, actionButtons(next, act, { small: false }));
    updateButtons(actions, next.state, pending);
    if (stateChanged) announce(`Sandbox ${next.id} is ${next.state}.`);
    for (const tool of [usage, terminal, files]) tool.setState(next.state);
    if (next.state === "started" && !wasStarted) loadCommands();
    if (next.state !== "started") {
      fill(
        commandsBody,
        h("p", { class: "muted" }, `The sandbox is ${next.state}: start it to see its session commands.`),
      );
    }
    reload.disabled = next.state !== "started";
  }

  async function refresh() {
    try {
      const next = await api("GET", base);
      if (stopped || pending) return;
      renderInfo(next);
      if (errorSlot.dataset.source === "poll") {
        showError(errorSlot, null);
        delete errorSlot.dataset.source;
      }
    } catch (error) {
      if (stopped || error.status === 401) return;
      showError(errorSlot, error);
      errorSlot.dataset.source = "poll";
      if (error.status === 404) {
        stopped = true;
        fill(infoPanel, h("p", {}, "This sandbox does not exist (any more). ", h("a", { href: "#/sandboxes" }, "Back to sandboxes")));
        fill(actions);
        fill(commandsBody);
        usage.dispose();
        terminal.dispose();
        for (const tool of [usage, terminal, files]) tool.element.remove();
      }
    }
  }

  async function act(action) {
    if (!sandbox) return;
    showError(errorSlot, null);
    delete errorSlot.dataset.source;
    try {
      const done = await runAction(action, sandbox, (busy) => {
        pending = true;
        renderInfo({ ...sandbox, state: busy }, true);
        updateButtons(actions, busy, true);
      });
      if (done && action.name === "delete") {
        stopped = true;
        ctx.navigate("#/sandboxes");
        return;
      }
      if (done) announce(`${action.label}: sandbox ${sandbox.id} done.`);
    } catch (error) {
      showError(errorSlot, error);
    } finally {
      pending = false;
    }
    await refresh();
    if (document.activeElement === document.body) title.focus();
  }

  async function loadLog(cmd, pre) {
    pre.textContent = "Loading…";
    try {
      const response = await api(
        "GET",
        `/toolbox/${enc(id)}/toolbox/process/session/${enc(cmd.sessionId)}/command/${enc(cmd.id)}/logs`,
        { raw: true },
      );
      const { text, truncated } = await readText(response, MAX_LOG_BYTES);
      pre.textContent = text || "(no output)";
      if (truncated) pre.append(`\n… (only the first ${MAX_LOG_BYTES / 1024 / 1024} MiB are shown)`);
    } catch (error) {
      pre.textContent = `Could not load the log: ${error.message}`;
    }
  }

  function commandItem(cmd) {
    const pre = h("pre", { class: "log", tabindex: "0", "aria-label": `Log of ${cmd.command}` });
    const details = h(
      "details",
      { dataset: { command: cmd.id, session: cmd.sessionId } },
      h(
        "summary",
        {},
        h("code", {}, cmd.command),
        exitText(cmd),
        h("span", { class: "meta" }, "session ", h("code", {}, cmd.sessionId)),
        h("span", { class: "meta" }, timeAgo(cmd.startedAt, "")),
      ),
      h(
        "div",
        {},
        pre,
        h("button", { type: "button", class: "secondary small", onclick: () => loadLog(cmd, pre) }, "Reload log"),
      ),
    );
    details.addEventListener("toggle", () => {
      if (details.open && !pre.dataset.loaded) {
        pre.dataset.loaded = "1";
        loadLog(cmd, pre);
      }
    });
    return h("li", {}, details);
  }

  async function loadCommands() {
    if (!sandbox || sandbox.state !== "started") return;
    reload.disabled = true;
    showError(commandsError, null);
    try {
      const sessions = await api("GET", `/toolbox/${enc(id)}/toolbox/process/session`);
      const commands = [];
      for (const session of sessions || []) {
        for (const cmd of session.commands || []) commands.push({ ...cmd, sessionId: session.sessionId });
      }
      commands.sort((a, b) => String(b.startedAt || "").localeCompare(String(a.startedAt || "")));
      const recent = commands.slice(0, MAX_COMMANDS);
      fill(
        commandsBody,
        recent.length
          ? [
              h(
                "p",
                { class: "hint" },
                `${commands.length} command${commands.length === 1 ? "" : "s"} in ${sessions.length} session${
                  sessions.length === 1 ? "" : "s"
                }${commands.length > recent.length ? `; the ${recent.length} most recent are shown` : ""}. Open one to read its log.`,
              ),
              h("ul", { class: "commands" }, recent.map(commandItem)),
            ]
          : h("p", { class: "muted" }, "No session commands yet. Run some with process.execute_session_command()."),
      );
    } catch (error) {
      if (error.status !== 401) showError(commandsError, error);
    } finally {
      reload.disabled = !sandbox || sandbox.state !== "started";
    }
  }
  reload.addEventListener("click", loadCommands);

  function schedule() {
    if (stopped) return;
    timer = window.setTimeout(async () => {
      if (!document.hidden && !pending) await refresh();
      schedule();
    }, POLL_MS);
  }

  main.append(
    h("nav", { class: "breadcrumb", "aria-label": "Breadcrumb" }, h("a", { href: "#/sandboxes" }, "Sandboxes"), " / ", h("code", {}, id)),
    h("div", { class: "page-head" }, h("div", {}, title, subtitle), actions),
    errorSlot,
    h("div", { class: "detail-grid" }, infoPanel, usage.element),
    terminal.element,
    files.element,
    commandsPanel,
  );
  refresh().then(schedule);
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    usage.dispose();
    terminal.dispose();
  };
}
