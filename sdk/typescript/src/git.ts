/**
 * `workspace.git`: git repositories in a sandbox, driven through the real git binary as its user.
 *
 * Credentials (`username`, `password` or token) are used for the one call they are passed to and
 * are never stored in the sandbox, in the remote URL or in error messages.
 * @module
 */
import { DaytonaError } from './errors.js';
import { HttpClient } from './http.js';
import { GitCommitInfo, GitCommitResponse, GitRemote, GitStatus, ListBranchResponse } from './models.js';

/** Options of `push` and `pull`: credentials for this call, and a timeout in seconds (0 = none). */
export interface GitSyncOptions {
  remote?: string;
  branch?: string;
  username?: string;
  password?: string;
  timeout?: number;
}

function body(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null));
}

function checkPath(path: unknown): string {
  if (typeof path !== 'string' || !path) throw new DaytonaError('path must be a non-empty string (the repository directory)');
  return path;
}

function syncOptions(remote: string | GitSyncOptions | undefined, branch: string | undefined, options: GitSyncOptions): GitSyncOptions {
  if (typeof remote === 'object' && remote !== null) return { ...remote, ...options };
  return { ...options, remote: remote ?? options.remote, branch: branch ?? options.branch };
}

/**
 * Git operations in one sandbox. `path` is the repository's directory. Network operations
 * (clone, push, pull) wait as long as git takes unless given a timeout.
 */
export class Git {
  readonly #http: HttpClient;
  readonly #base: string;

  /** @internal */
  constructor(http: HttpClient, workspaceId: string) {
    this.#http = http;
    this.#base = `/toolbox/${encodeURIComponent(workspaceId)}/toolbox/git`;
  }

  /** Clone `url` into `path`; `branch` picks the branch, `commitId` leaves HEAD detached at a commit. */
  async clone(
    url: string,
    path: string,
    branch?: string,
    commitId?: string,
    username?: string,
    password?: string,
    options: { timeout?: number } = {},
  ): Promise<void> {
    const json = body({ url, path: checkPath(path), branch, commit_id: commitId, username, password });
    await this.#http.request('POST', `${this.#base}/clone`, { json, timeout: options.timeout ?? null });
  }

  /** Current branch, commits ahead of / behind its upstream, whether it is published, changed files. */
  async status(path: string): Promise<GitStatus> {
    const data = await this.#http.request<Partial<GitStatus>>('GET', `${this.#base}/status`, { query: { path: checkPath(path) } });
    const files = data.fileStatus ?? data['FileStatus[]'] ?? [];
    return {
      currentBranch: data.currentBranch ?? '',
      fileStatus: files,
      'FileStatus[]': files,
      ahead: data.ahead ?? 0,
      behind: data.behind ?? 0,
      branchPublished: Boolean(data.branchPublished),
    };
  }

  /** The local branches. */
  async branches(path: string): Promise<ListBranchResponse> {
    const data = await this.#http.request<ListBranchResponse>('GET', `${this.#base}/branches`, { query: { path: checkPath(path) } });
    return { branches: [...(data.branches ?? [])] };
  }

  /** Create branch `name` at HEAD and switch to it (as Daytona does). */
  async createBranch(path: string, name: string): Promise<void> {
    await this.#http.request('POST', `${this.#base}/branches`, { json: { path: checkPath(path), name } });
  }

  /** Switch to a branch (a remote-only branch gets a local tracking branch) or detach at a commit. */
  async checkout(path: string, branch: string): Promise<void> {
    await this.#http.request('POST', `${this.#base}/checkout`, { json: { path: checkPath(path), branch } });
  }

  /** The same as `checkout`. */
  async checkoutBranch(path: string, branch: string): Promise<void> {
    await this.checkout(path, branch);
  }

  /** Delete a local branch; one with unmerged commits only with `force`. */
  async deleteBranch(path: string, name: string, force = false): Promise<void> {
    await this.#http.request('DELETE', `${this.#base}/branches`, { json: body({ path: checkPath(path), name, force: force || undefined }) });
  }

  /** Stage files (paths relative to the repository; ["."] stages everything). */
  async add(path: string, files: string[]): Promise<void> {
    await this.#http.request('POST', `${this.#base}/add`, { json: { path: checkPath(path), files } });
  }

  /** Commit the staged changes as `author <email>`; returns the new commit's hash. */
  async commit(
    path: string,
    message: string,
    author: string,
    email: string,
    options: { allowEmpty?: boolean; timeout?: number } = {},
  ): Promise<GitCommitResponse> {
    const json = body({ path: checkPath(path), message, author, email, allow_empty: options.allowEmpty || undefined });
    const data = await this.#http.request<GitCommitResponse>('POST', `${this.#base}/commit`, { json, timeout: options.timeout });
    return { hash: data.hash };
  }

  /** The commits reachable from HEAD, newest first. */
  async log(path: string): Promise<GitCommitInfo[]> {
    return this.#http.request<GitCommitInfo[]>('GET', `${this.#base}/history`, { query: { path: checkPath(path) }, timeout: null });
  }

  /** The same as `log`. */
  async history(path: string): Promise<GitCommitInfo[]> {
    return this.log(path);
  }

  /**
   * Push `branch` (default: the current one) to `remote` (default: its upstream's, else origin).
   * The branch's upstream is set to what was pushed. Credentials go in `options` (or pass one
   * options object as the second argument).
   */
  async push(path: string, remote?: string | GitSyncOptions, branch?: string, options: GitSyncOptions = {}): Promise<void> {
    const o = syncOptions(remote, branch, options);
    const json = body({ path: checkPath(path), remote: o.remote, branch: o.branch, username: o.username, password: o.password });
    await this.#http.request('POST', `${this.#base}/push`, { json, timeout: o.timeout ?? null });
  }

  /**
   * Fetch and merge (never rebase) `remote`/`branch`, by default the current branch's upstream.
   * A merge conflict throws DaytonaConflictError; the repository is left mid-merge, as git leaves it.
   */
  async pull(path: string, remote?: string | GitSyncOptions, branch?: string, options: GitSyncOptions = {}): Promise<void> {
    const o = syncOptions(remote, branch, options);
    const json = body({ path: checkPath(path), remote: o.remote, branch: o.branch, username: o.username, password: o.password });
    await this.#http.request('POST', `${this.#base}/pull`, { json, timeout: o.timeout ?? null });
  }

  /** The remotes and their fetch URLs. */
  async listRemotes(path: string): Promise<GitRemote[]> {
    return this.#http.request<GitRemote[]>('GET', `${this.#base}/remotes`, { query: { path: checkPath(path) } });
  }
}
