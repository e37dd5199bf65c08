/**
 * Parameters and results of the SDK, with the names the Daytona documentation uses.
 * @module
 */
import type { VolumeMount } from './templates.js';

/** Languages `codeRun` runs (the label `code-toolbox-language` of a sandbox). */
export enum CodeLanguage {
  PYTHON = 'python',
  TYPESCRIPT = 'typescript',
  JAVASCRIPT = 'javascript',
}

/** Regions a sandbox can be created in. */
export enum WorkspaceTargetRegion {
  EU = 'eu',
  US = 'us',
  ASIA = 'asia',
}

/** States of a sandbox. */
export enum WorkspaceState {
  CREATING = 'creating',
  STARTING = 'starting',
  STARTED = 'started',
  STOPPING = 'stopping',
  STOPPED = 'stopped',
  ARCHIVING = 'archiving',
  ARCHIVED = 'archived',
  RESTORING = 'restoring',
  RESIZING = 'resizing',
  DESTROYING = 'destroying',
  DESTROYED = 'destroyed',
  ERROR = 'error',
  UNKNOWN = 'unknown',
  PULLING_IMAGE = 'pulling_image',
}

/** Resources asked for at creation: CPU cores, memory in GB, disk in GB, GPUs. */
export interface WorkspaceResources {
  cpu?: number;
  memory?: number;
  disk?: number;
  gpu?: number;
}

/** Parameters of `Daytona.create`. Every field is optional; `language` defaults to python. */
export interface CreateWorkspaceParams {
  /** Language of `codeRun`: python (default), typescript or javascript. */
  language?: CodeLanguage | `${CodeLanguage}`;
  /** The sandbox's id (default: `sandbox-` and 8 random hex digits). */
  id?: string;
  name?: string;
  /** Docker image (default: the server's default image). */
  image?: string;
  /** Today's name for `image`: a snapshot to start from. */
  snapshot?: string;
  /** OS user that runs commands and owns files (default `daytona`). */
  user?: string;
  /** Alias of `user`, as the Python SDK names it. */
  osUser?: string;
  envVars?: Record<string, string>;
  labels?: Record<string, string>;
  public?: boolean;
  target?: WorkspaceTargetRegion | `${WorkspaceTargetRegion}`;
  resources?: WorkspaceResources;
  /** Seconds to wait until the sandbox has started (deprecated: pass it to `create()`). */
  timeout?: number;
  /** Minutes idle before the sandbox is stopped; 0 = never (server default 15). */
  autoStopInterval?: number;
  /** Volumes to mount (see `daytona.volume`). */
  volumes?: VolumeMount[];
  /** No network at all: the sandbox keeps only loopback. */
  networkBlockAll?: boolean;
  /** IPv4 CIDRs, the only addresses the sandbox may reach (at most 10). */
  networkAllowList?: string | string[];
  /** Domains (`*.example.com` for every subdomain), the only names it may reach, over HTTP or TLS. */
  domainAllowList?: string | string[];
}

/** A sandbox's egress policy, and (from `info()`) how many connections it was refused. */
export interface NetworkInfo {
  blockAll: boolean;
  allowList: string | null;
  domainAllowList: string | null;
  refused: number | null;
}

/** An allow list as the wire takes it: one comma-separated string. */
export function joined(items: string | string[] | undefined): string | undefined {
  return Array.isArray(items) ? items.join(',') : items;
}

/** A change of policy: what is left out keeps its value; `blockAll: false` alone restores the internet. */
export interface NetworkSettings {
  blockAll?: boolean;
  allowList?: string | string[];
  domainAllowList?: string | string[];
}

/** Resources of a sandbox as reported by the server ("2" CPUs, "4Gi" memory, "10Gi" disk). */
export interface InfoResources {
  cpu: string;
  gpu: string | null;
  memory: string;
  disk: string;
}

/** What the server knows about a sandbox. */
export interface WorkspaceInfo {
  id: string;
  name: string;
  image: string;
  user: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  public: boolean;
  target: string;
  resources: InfoResources;
  state: WorkspaceState | string;
  errorReason: string | null;
  autoStopInterval: number;
  autoArchiveInterval: number;
  /** When the sandbox was created (ISO 8601). */
  created: string;
  updatedAt: string;
  nodeDomain: string;
  region: string;
  class: string;
  providerMetadata: string | null;
  /** Progress of a long operation (archive, restore), when one runs. */
  progress: string | null;
  /** The egress policy; `refused` is known on `info()` (a single sandbox's read). */
  network: NetworkInfo | null;
}

/** The sandbox as the API returns it (`GET /workspace/{id}`). */
export interface WorkspaceData {
  id: string;
  name?: string;
  image?: string;
  user?: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  public?: boolean;
  target?: string;
  info?: { created?: string; name?: string; providerMetadata?: string | null };
  cpu?: number;
  gpu?: number | null;
  memory?: number;
  disk?: number;
  state?: string;
  errorReason?: string | null;
  autoStopInterval?: number;
}

/** Where a port of a sandbox is reachable; private sandboxes want `token` in X-Daytona-Preview-Token. */
export interface PreviewLink {
  url: string;
  token: string;
}

/** Result of `executeCommand` / `codeRun`: exit code, combined output, and stdout and stderr apart. */
export interface ExecuteResponse {
  exitCode: number;
  /** stdout and stderr together, in the order they were written. */
  result: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Options of `codeRun`: command-line arguments, environment, stdin and a timeout in seconds. */
export interface CodeRunParams {
  argv?: string[];
  env?: Record<string, string>;
  /** Text fed to the program's stdin. */
  input?: string;
  /** Seconds; 0 or absent = no limit. When it passes, the process tree is killed. */
  timeout?: number;
  /** Throw ProcessExecutionError when the exit code is not 0. */
  check?: boolean;
}

/** Options of `executeCommand` beyond `cwd` and `timeout`. */
export interface ExecuteOptions {
  cwd?: string;
  timeout?: number;
  env?: Record<string, string>;
  /** Throw ProcessExecutionError when the exit code is not 0. */
  check?: boolean;
}

/** A command run in a session. `exitCode` is null while it runs. */
export interface Command {
  id: string;
  command: string;
  exitCode: number | null;
  async?: boolean;
  startedAt?: string;
  endedAt?: string | null;
  timedOut?: boolean;
  logSize?: number;
  truncated?: boolean;
}

/** A session: a long-lived shell, and the commands run in it. */
export interface Session {
  sessionId: string;
  commands: Command[];
  createdAt?: string;
}

/** What `executeSessionCommand` runs; `async` (or `runAsync`) returns at once with the command's id. */
export interface SessionExecuteRequest {
  command: string;
  async?: boolean;
  runAsync?: boolean;
  /** Seconds; 0 or absent = no limit. */
  timeout?: number;
}

/** The answer of `executeSessionCommand`; output and exit code only for a synchronous command. */
export interface SessionExecuteResponse {
  cmdId: string;
  output: string | null;
  exitCode: number | null;
  stdout?: string;
  stderr?: string;
  timedOut?: boolean;
}

/** A file or directory: `mode` as `ls -l` shows it ("-rw-r--r--"), `permissions` in octal ("0644"). */
export interface FileInfo {
  name: string;
  isDir: boolean;
  size: number;
  modTime: string;
  mode: string;
  permissions: string;
  owner: string;
  group: string;
}

/** A line that contains the searched text: file path, 1-based line number, the line itself. */
export interface Match {
  file: string;
  line: number;
  content: string;
}

/** The outcome of `replaceInFiles` for one file (`error` says why when `success` is false). */
export interface ReplaceResult {
  file: string;
  success: boolean;
  error?: string | null;
}

/** Paths whose names match the pattern of `searchFiles`. */
export interface SearchFilesResponse {
  files: string[];
}

/** What `setFilePermissions` changes; what is left out stays as it is. */
export interface FilePermissionsParams {
  /** Octal, e.g. "755" (a number such as 0o755 is taken too). */
  mode?: string | number;
  owner?: string;
  group?: string;
}

/** One changed file: its status in the index (`staging`) and in the work tree, e.g. "Modified". */
export interface FileStatus {
  name: string;
  staging: string;
  worktree: string;
  /** The original path of a renamed file. */
  extra?: string;
}

/** The state of a repository: current branch, commits ahead of/behind its upstream, changed files. */
export interface GitStatus {
  currentBranch: string;
  fileStatus: FileStatus[];
  /** The same list, under the name the Daytona documentation reads (`status['FileStatus[]']`). */
  'FileStatus[]': FileStatus[];
  ahead: number;
  behind: number;
  branchPublished: boolean;
}

/** The local branches of a repository. */
export interface ListBranchResponse {
  branches: string[];
}

/** The commit that `commit` made. */
export interface GitCommitResponse {
  hash: string;
}

/** One commit of `log`: hash, author, email, message and timestamp (ISO 8601). */
export interface GitCommitInfo {
  hash: string;
  author: string;
  email: string;
  message: string;
  timestamp: string;
}

/** A remote of a repository (credentials in its URL are masked). */
export interface GitRemote {
  name: string;
  url: string;
}
