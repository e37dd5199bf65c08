/**
 * The client: create, find, start, stop and remove sandboxes.
 * @module
 */
import { randomBytes } from 'node:crypto';

import { DaytonaConfig, resolveConfig } from './config.js';
import { DaytonaConnectionError, DaytonaError, DaytonaServerError, DaytonaTimeoutError } from './errors.js';
import { HttpClient, timeoutSeconds } from './http.js';
import { CodeLanguage, CreateWorkspaceParams, WorkspaceData, WorkspaceState, joined } from './models.js';
import { Snapshots, Volumes } from './templates.js';
import { LANGUAGE_LABEL, Workspace } from './workspace.js';

/** The JSON body of `POST /workspace` for `params` (id generated when absent, language label set). */
export function createBody(params: CreateWorkspaceParams, defaultTarget: string): Record<string, unknown> {
  const language = params.language ?? CodeLanguage.PYTHON;
  if (!(Object.values(CodeLanguage) as string[]).includes(language)) {
    throw new DaytonaError(`language must be one of ${Object.values(CodeLanguage).join(', ')}, not ${JSON.stringify(language)}`);
  }
  if (params.autoStopInterval !== undefined && (!Number.isInteger(params.autoStopInterval) || params.autoStopInterval < 0)) {
    throw new DaytonaError('autoStopInterval must be a non-negative integer number of minutes (0 = never)');
  }
  if (params.labels !== undefined && (typeof params.labels !== 'object' || params.labels === null)) {
    throw new DaytonaError('labels must be an object of string values');
  }
  const labels: Record<string, string> = { ...(params.labels ?? {}) };
  labels[LANGUAGE_LABEL] ??= language;
  const id = params.id ?? `sandbox-${randomBytes(4).toString('hex')}`;
  const body: Record<string, unknown> = {
    id,
    name: params.name || id,
    image: params.image ?? params.snapshot,
    user: params.user ?? params.osUser ?? 'daytona',
    env: params.envVars ?? {},
    labels,
    public: params.public,
    target: params.target ?? defaultTarget,
    autoStopInterval: params.autoStopInterval,
    volumes: params.volumes,
    networkBlockAll: params.networkBlockAll,
    networkAllowList: joined(params.networkAllowList),
    domainAllowList: joined(params.domainAllowList),
  };
  if (params.resources) {
    const { cpu, memory, disk, gpu } = params.resources;
    Object.assign(body, { cpu, memory, disk, gpu });
  }
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== null));
}

/**
 * Entry point of the SDK. Without a config it reads the environment (`DAYTONA_API_KEY`,
 * `DAYTONA_SERVER_URL`, `DAYTONA_TARGET`), a `.env` file and the config file of `daytona login`.
 */
export class Daytona {
  readonly apiKey: string;
  readonly serverUrl: string;
  readonly target: string;
  /** Snapshots: templates for sandboxes. */
  readonly snapshot: Snapshots;
  /** Volumes: persistent storage mounted into sandboxes. */
  readonly volume: Volumes;
  readonly #http: HttpClient;

  constructor(config?: DaytonaConfig) {
    const resolved = resolveConfig(config);
    this.apiKey = resolved.apiKey;
    this.serverUrl = resolved.serverUrl;
    this.target = resolved.target;
    this.#http = new HttpClient(this.apiKey, this.serverUrl);
    this.snapshot = new Snapshots(this.#http);
    this.volume = new Volumes(this.#http);
  }

  /**
   * Create a sandbox and wait until it has started (`timeout` in seconds, 0 = no limit).
   * A sandbox that failed half-way (server error, timeout, lost connection) is removed again.
   */
  async create(params: CreateWorkspaceParams = {}, timeout: number = 60): Promise<Workspace> {
    const effective = params.timeout ? params.timeout : timeout;
    const seconds = timeoutSeconds(effective);
    const body = createBody(params, this.target);
    try {
      const data = await this.#http.request<WorkspaceData>('POST', '/workspace', { json: body, timeout: seconds });
      const workspace = new Workspace(this.#http, data);
      if (workspace.instance.state !== WorkspaceState.STARTED) {
        await workspace.waitUntilStarted(effective); // the server answers once it has started
      }
      return workspace;
    } catch (error) {
      // A 4xx made nothing, and a 409 means the id belongs to a sandbox that must be left alone.
      if (error instanceof DaytonaServerError || error instanceof DaytonaTimeoutError || error instanceof DaytonaConnectionError) {
        await this.#discard(String(body.id));
      }
      throw error;
    }
  }

  async #discard(workspaceId: string): Promise<void> {
    try {
      await this.#http.request('DELETE', `/workspace/${encodeURIComponent(workspaceId)}`, { query: { force: 'true' } });
    } catch {
      // best effort: the original error is what the caller needs
    }
  }

  /** The sandbox with this id (DaytonaNotFoundError when there is none). */
  async get(workspaceId: string): Promise<Workspace> {
    if (typeof workspaceId !== 'string' || !workspaceId) throw new DaytonaError('workspaceId is required');
    const data = await this.#http.request<WorkspaceData>('GET', `/workspace/${encodeURIComponent(workspaceId)}`);
    return new Workspace(this.#http, data);
  }

  /** The same as `get(workspaceId)`. */
  async getCurrentWorkspace(workspaceId: string): Promise<Workspace> {
    return this.get(workspaceId);
  }

  /** The same as `get(sandboxId)`, under the documentation's newer name. */
  async getCurrentSandbox(sandboxId: string): Promise<Workspace> {
    return this.get(sandboxId);
  }

  /** All sandboxes of this API key's user, optionally only those carrying all `labels`. */
  async list(labels?: Record<string, string>): Promise<Workspace[]> {
    const query = labels && Object.keys(labels).length ? { labels: JSON.stringify(labels) } : undefined;
    const data = await this.#http.request<WorkspaceData[]>('GET', '/workspace', { query });
    return data.map((item) => new Workspace(this.#http, item));
  }

  /** Start a stopped sandbox and wait until it is ready. */
  async start(workspace: Workspace, timeout: number = 60): Promise<void> {
    await workspace.start(timeout);
  }

  /** Stop a sandbox (its filesystem is kept) and wait until it is stopped. */
  async stop(workspace: Workspace, timeout: number = 60): Promise<void> {
    await workspace.stop(timeout);
  }

  /** Delete the sandbox and its container. */
  async remove(workspace: Workspace, timeout: number = 60): Promise<void> {
    await workspace.delete(timeout);
  }
}
