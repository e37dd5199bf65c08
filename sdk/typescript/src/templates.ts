/**
 * `daytona.snapshot` and `daytona.volume`: templates for sandboxes and persistent storage, today's names.
 * @module
 */
import { DaytonaError, DaytonaNotFoundError, DaytonaTimeoutError } from './errors.js';
import { HttpClient, timeoutSeconds } from './http.js';

/** A named template for sandboxes: an image you may use, a declarative build, or a sandbox's files. */
export interface Snapshot {
  id: string;
  name: string;
  /** building, active, inactive, build_failed, ... */
  state: string;
  size: number | null;
  general: boolean;
  errorReason: string | null;
  sourceSandboxId: string | null;
  createdAt: string;
}

/** Named storage that outlives sandboxes; several sandboxes may mount it at once. */
export interface Volume {
  id: string;
  name: string;
  state: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** Mount `volumeId` (an id or one of your volumes' names) at `mountPath`, optionally only its `subpath`. */
export interface VolumeMount {
  volumeId: string;
  mountPath: string;
  subpath?: string;
}

const POLL_INTERVAL_MS = 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function toSnapshot(data: Record<string, unknown>): Snapshot {
  return {
    id: String(data.id),
    name: String(data.name),
    state: String(data.state ?? ''),
    size: (data.size as number | null) ?? null,
    general: Boolean(data.general),
    errorReason: (data.errorReason as string | null) ?? null,
    sourceSandboxId: (data.sourceSandboxId as string | null) ?? null,
    createdAt: String(data.createdAt ?? ''),
  };
}

function toVolume(data: Record<string, unknown>): Volume {
  return {
    id: String(data.id),
    name: String(data.name),
    state: String(data.state ?? ''),
    createdAt: String(data.createdAt ?? ''),
    lastUsedAt: (data.lastUsedAt as string | null) ?? null,
  };
}

/** What `snapshot.create` makes the snapshot from: an image you may use, or a Dockerfile built on the server. */
export type SnapshotSource = { image: string; dockerfile?: undefined } | { dockerfile: string; image?: undefined };

export class Snapshots {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  async list(): Promise<Snapshot[]> {
    const items: Snapshot[] = [];
    for (let page = 1; ; page++) {
      const data = await this.#http.request<{ items: Record<string, unknown>[]; totalPages: number }>('GET', '/snapshots', {
        query: { page: String(page), limit: '200' },
      });
      items.push(...data.items.map(toSnapshot));
      if (page >= data.totalPages) return items;
    }
  }

  async get(idOrName: string): Promise<Snapshot> {
    return toSnapshot(await this.#http.request('GET', `/snapshots/${encodeURIComponent(idOrName)}`));
  }

  /** Make snapshot `name` and wait until it is active (a build runs in the background; DaytonaError if it fails). */
  async create(name: string, source: SnapshotSource, timeout: number = 600): Promise<Snapshot> {
    if ((source.image === undefined) === (source.dockerfile === undefined)) {
      throw new DaytonaError('give image (an image to snapshot) or dockerfile (to build), not both');
    }
    const body = source.image !== undefined ? { name, imageName: source.image } : { name, buildInfo: { dockerfileContent: source.dockerfile } };
    let snapshot = toSnapshot(await this.#http.request('POST', '/snapshots', { json: body }));
    const seconds = timeoutSeconds(timeout);
    const deadline = seconds ? Date.now() + seconds * 1000 : undefined;
    while (snapshot.state !== 'active' && snapshot.state !== 'inactive') {
      if (snapshot.state === 'error' || snapshot.state === 'build_failed') {
        throw new DaytonaError(`snapshot ${name} failed: ${snapshot.errorReason}`);
      }
      if (deadline !== undefined && Date.now() >= deadline) {
        throw new DaytonaTimeoutError(`snapshot ${name} was not built within ${seconds}s (it is ${snapshot.state})`);
      }
      await sleep(POLL_INTERVAL_MS);
      snapshot = await this.get(snapshot.id);
    }
    return snapshot;
  }

  /** Delete a snapshot (by object, id or name); DaytonaConflictError while sandboxes use it. */
  async delete(snapshot: Snapshot | string): Promise<void> {
    const id = typeof snapshot === 'string' ? (await this.get(snapshot)).id : snapshot.id;
    await this.#http.request('DELETE', `/snapshots/${encodeURIComponent(id)}`);
  }
}

export class Volumes {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  async list(): Promise<Volume[]> {
    return (await this.#http.request<Record<string, unknown>[]>('GET', '/volumes')).map(toVolume);
  }

  async create(name: string): Promise<Volume> {
    return toVolume(await this.#http.request('POST', '/volumes', { json: { name } }));
  }

  /** Your volume called `name`; with `create`, made when there is none. */
  async get(name: string, create: boolean = false): Promise<Volume> {
    try {
      return toVolume(await this.#http.request('GET', `/volumes/by-name/${encodeURIComponent(name)}`));
    } catch (error) {
      if (create && error instanceof DaytonaNotFoundError) return this.create(name);
      throw error;
    }
  }

  /** Delete a volume and its files; DaytonaConflictError while a sandbox mounts it. */
  async delete(volume: Volume | string): Promise<void> {
    const id = typeof volume === 'string' ? volume : volume.id;
    await this.#http.request('DELETE', `/volumes/${encodeURIComponent(id)}`);
  }
}
