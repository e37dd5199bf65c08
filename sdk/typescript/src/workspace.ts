/**
 * A sandbox (named Workspace in the documentation) and what can be done with it.
 * @module
 */
import { DaytonaError, DaytonaTimeoutError } from './errors.js';
import { FileSystem } from './filesystem.js';
import { Git } from './git.js';
import { HttpClient, timeoutSeconds } from './http.js';
import { CodeInterpreter } from './interpreter.js';
import { LspLanguageId, LspServer } from './lspServer.js';
import {
  CodeLanguage,
  InfoResources,
  NetworkInfo,
  NetworkSettings,
  PreviewLink,
  WorkspaceData,
  WorkspaceInfo,
  WorkspaceResources,
  WorkspaceState,
  joined,
} from './models.js';
import { Process } from './process.js';

/** The label that records a sandbox's `codeRun` language. */
export const LANGUAGE_LABEL = 'code-toolbox-language';
const POLL_INTERVAL_MS = 100;

/** The `codeRun` language recorded in a sandbox's labels (python when absent or unknown). */
export function languageOf(data: WorkspaceData): CodeLanguage {
  const raw = data.labels?.[LANGUAGE_LABEL];
  return (Object.values(CodeLanguage) as string[]).includes(raw ?? '') ? (raw as CodeLanguage) : CodeLanguage.PYTHON;
}

function parseMetadata(raw: string | null | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The sandbox's information, from the API's answer (state and resources from `providerMetadata`). */
export function toWorkspaceInfo(data: WorkspaceData): WorkspaceInfo {
  const info = data.info ?? {};
  const metadata = parseMetadata(info.providerMetadata);
  const resources = (metadata.resources ?? {}) as Record<string, unknown>;
  const gpu = resources.gpu ?? data.gpu;
  const infoResources: InfoResources = {
    cpu: String(resources.cpu ?? data.cpu ?? 1),
    gpu: gpu ? String(gpu) : null,
    memory: `${String(resources.memory ?? data.memory ?? 2)}Gi`,
    disk: `${String(resources.disk ?? data.disk ?? 10)}Gi`,
  };
  return {
    id: data.id,
    name: data.name ?? data.id,
    image: data.image ?? '',
    user: data.user ?? '',
    env: data.env ?? {},
    labels: data.labels ?? {},
    public: Boolean(data.public),
    target: data.target ?? '',
    resources: infoResources,
    state: String(metadata.state ?? data.state ?? WorkspaceState.UNKNOWN),
    errorReason: data.errorReason ?? null,
    autoStopInterval: Number(metadata.autoStopInterval ?? data.autoStopInterval ?? 0),
    autoArchiveInterval: Number(metadata.autoArchiveInterval ?? 0),
    created: info.created ?? '',
    updatedAt: String(metadata.updatedAt ?? ''),
    nodeDomain: String(metadata.nodeDomain ?? ''),
    region: String(metadata.region ?? ''),
    class: String(metadata.class ?? ''),
    providerMetadata: info.providerMetadata ?? null,
    progress: typeof metadata.progress === 'string' ? metadata.progress : null,
    network: toNetworkInfo(metadata.network),
  };
}

function toNetworkInfo(raw: unknown): NetworkInfo | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const network = raw as Record<string, unknown>;
  return {
    blockAll: network.blockAll !== false,
    allowList: typeof network.allowList === 'string' ? network.allowList : null,
    domainAllowList: typeof network.domainAllowList === 'string' ? network.domainAllowList : null,
    refused: typeof network.refused === 'number' ? network.refused : null,
  };
}

function checkInterval(interval: number, what: string): void {
  if (!Number.isInteger(interval) || interval < 0) {
    throw new DaytonaError(`${what} interval must be a non-negative integer number of minutes`);
  }
}

/** A sandbox. `process` runs commands and code in it, `fs` handles its files, `git` its repositories. */
export class Workspace {
  readonly id: string;
  /** What the server said about the sandbox last (refreshed by `info()`). */
  instance: WorkspaceInfo;
  /** The language `process.codeRun` runs. */
  readonly codeLanguage: CodeLanguage;
  readonly process: Process;
  readonly fs: FileSystem;
  readonly git: Git;
  /** Runs python statefully: variables stay between runs (interpreter.ts). */
  readonly codeInterpreter: CodeInterpreter;
  readonly #http: HttpClient;

  /** @internal Sandboxes come from `Daytona.create`, `get` and `list`. */
  constructor(http: HttpClient, data: WorkspaceData) {
    this.#http = http;
    this.id = data.id;
    this.instance = toWorkspaceInfo(data);
    this.codeLanguage = languageOf(data);
    this.process = new Process(http, this.id, this.codeLanguage);
    this.fs = new FileSystem(http, this.id);
    this.git = new Git(http, this.id);
    this.codeInterpreter = new CodeInterpreter(http, this.id);
  }

  get #path(): string {
    return `/workspace/${encodeURIComponent(this.id)}`;
  }

  /** A language server for `languageId` (python, typescript, javascript) in `pathToProject`. */
  createLspServer(languageId: LspLanguageId | `${LspLanguageId}`, pathToProject: string): LspServer {
    return new LspServer(this.#http, this.id, languageId, pathToProject);
  }

  /** Fetch the sandbox's current information (state, resources, labels, ...). */
  async info(): Promise<WorkspaceInfo> {
    this.instance = toWorkspaceInfo(await this.#http.request<WorkspaceData>('GET', this.#path));
    return this.instance;
  }

  /** The sandbox user's home directory, where relative paths start. */
  async getWorkspaceRootDir(): Promise<string> {
    const data = await this.#http.request<{ dir: string }>('GET', `/toolbox/${encodeURIComponent(this.id)}/toolbox/project-dir`);
    return String(data.dir);
  }

  /** The same as `getWorkspaceRootDir()`, under the documentation's newer name. */
  async getSandboxRootDir(): Promise<string> {
    return this.getWorkspaceRootDir();
  }

  /** Start a stopped (or archived) sandbox and wait until it is ready (timeout in seconds, 0 = no limit). */
  async start(timeout: number = 60): Promise<void> {
    const seconds = timeoutSeconds(timeout);
    await this.#http.request('POST', `${this.#path}/start`, { timeout: seconds });
    await this.waitUntilStarted(timeout);
  }

  /** Stop the sandbox (its filesystem is kept) and wait until it is stopped. */
  async stop(timeout: number = 60): Promise<void> {
    const seconds = timeoutSeconds(timeout);
    await this.#http.request('POST', `${this.#path}/stop`, { timeout: seconds });
    await this.waitUntilStopped(timeout);
  }

  /**
   * A new started sandbox with this running sandbox's settings and a copy of its files. The sandbox
   * keeps running: it is frozen only while a consistent copy is taken (milliseconds).
   */
  async fork(name?: string, timeout: number = 600): Promise<Workspace> {
    const path = `/sandbox/${encodeURIComponent(this.id)}/fork`;
    const data = await this.#http.request<{ id: string }>('POST', path, { json: name ? { name } : {}, timeout: timeoutSeconds(timeout) });
    return new Workspace(this.#http, await this.#http.request<WorkspaceData>('GET', `/workspace/${encodeURIComponent(data.id)}`));
  }

  /** Save this running sandbox's files as your snapshot `name`, to create sandboxes from. */
  async createSnapshot(name: string, timeout: number = 600): Promise<void> {
    const path = `/sandbox/${encodeURIComponent(this.id)}/snapshot`;
    await this.#http.request('POST', path, { json: { name }, timeout: timeoutSeconds(timeout) });
  }

  /** Remove the sandbox and its container. */
  async delete(timeout: number = 60): Promise<void> {
    await this.#http.request('DELETE', this.#path, { query: { force: 'true' }, timeout: timeoutSeconds(timeout) });
  }

  async #waitFor(wanted: WorkspaceState, timeout: number | null | undefined): Promise<void> {
    const seconds = timeoutSeconds(timeout);
    const deadline = seconds ? Date.now() + seconds * 1000 : undefined;
    for (;;) {
      const info = await this.info();
      if (info.state === wanted) return;
      if (info.state === WorkspaceState.ERROR) {
        throw new DaytonaError(`sandbox ${this.id} is in state error: ${info.errorReason ?? 'unknown reason'}`);
      }
      if (deadline !== undefined && Date.now() >= deadline) {
        throw new DaytonaTimeoutError(`sandbox ${this.id} did not become ${wanted} within ${seconds}s (it is ${info.state})`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  /** Wait until the sandbox is `started` (DaytonaTimeoutError after `timeout` seconds, 0 = forever). */
  async waitUntilStarted(timeout: number = 60): Promise<void> {
    await this.#waitFor(WorkspaceState.STARTED, timeout);
  }

  /** Wait until the sandbox is `stopped`. */
  async waitUntilStopped(timeout: number = 60): Promise<void> {
    await this.#waitFor(WorkspaceState.STOPPED, timeout);
  }

  /** The same as `waitUntilStarted` (the Python SDK's name). */
  async waitForWorkspaceStart(timeout: number = 60): Promise<void> {
    await this.waitUntilStarted(timeout);
  }

  /** The same as `waitUntilStopped` (the Python SDK's name). */
  async waitForWorkspaceStop(timeout: number = 60): Promise<void> {
    await this.waitUntilStopped(timeout);
  }

  /** Replace the sandbox's labels; booleans become "true"/"false", other values strings. */
  async setLabels(labels: Record<string, string | number | boolean>): Promise<Record<string, string>> {
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
      throw new DaytonaError('labels must be an object of string values');
    }
    const stringLabels = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
    const data = await this.#http.request<{ labels: Record<string, string> }>('PUT', `${this.#path}/labels`, {
      json: { labels: stringLabels },
    });
    this.instance.labels = { ...data.labels };
    return { ...data.labels };
  }

  /** Stop the sandbox after `interval` idle minutes (0 = never). */
  async setAutostopInterval(interval: number): Promise<void> {
    checkInterval(interval, 'auto-stop');
    await this.#http.request('POST', `${this.#path}/autostop/${interval}`);
    this.instance.autoStopInterval = interval;
  }

  /** Archive the sandbox after it has been stopped for `interval` minutes (0 = never). */
  async setAutoArchiveInterval(interval: number): Promise<void> {
    checkInterval(interval, 'auto-archive');
    await this.#http.request('POST', `${this.#path}/autoarchive/${interval}`);
    this.instance.autoArchiveInterval = interval;
  }

  /**
   * Move a stopped sandbox's filesystem changes to object storage; `start()` restores it.
   * The server archives in the background; with `wait` this returns once it is archived.
   */
  async archive(wait = false, timeout: number = 600): Promise<void> {
    await this.#http.request('POST', `${this.#path}/archive`);
    if (wait) await this.#waitFor(WorkspaceState.ARCHIVED, timeout);
  }

  /** Change CPU cores and memory (GB) of a stopped sandbox. */
  async resize(resources: WorkspaceResources): Promise<WorkspaceInfo> {
    const body = Object.fromEntries(
      Object.entries({ cpu: resources.cpu, memory: resources.memory, disk: resources.disk }).filter(([, v]) => v !== undefined),
    );
    this.instance = toWorkspaceInfo(await this.#http.request<WorkspaceData>('POST', `${this.#path}/resize`, { json: body }));
    return this.instance;
  }

  /**
   * Change the egress policy, at once and without a restart, even while the sandbox runs.
   * `blockAll: true` leaves only loopback; `blockAll: false` alone restores the public internet and
   * clears the lists; a list given replaces that list, the other keeps its value.
   */
  async updateNetworkSettings(settings: NetworkSettings): Promise<NetworkInfo> {
    const body = Object.fromEntries(
      Object.entries({
        networkBlockAll: settings.blockAll,
        networkAllowList: joined(settings.allowList),
        domainAllowList: joined(settings.domainAllowList),
      }).filter(([, v]) => v !== undefined),
    );
    if (!Object.keys(body).length) throw new DaytonaError('give at least one of blockAll, allowList or domainAllowList');
    this.instance = toWorkspaceInfo(await this.#http.request<WorkspaceData>('POST', `${this.#path}/network-settings`, { json: body }));
    return this.instance.network as NetworkInfo;
  }

  /** URL of `port` inside the sandbox, and the token a private sandbox's preview needs. */
  async getPreviewUrl(port: number): Promise<PreviewLink> {
    const data = await this.#http.request<PreviewLink>('GET', `${this.#path}/ports/${port}/preview-url`);
    return { url: data.url, token: data.token };
  }

  /** URL of `port` inside the sandbox (send the token of `getPreviewUrl` if it is private). */
  async getPreviewLink(port: number): Promise<string> {
    return (await this.getPreviewUrl(port)).url;
  }
}
