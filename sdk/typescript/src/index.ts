/**
 * TypeScript SDK for Daytona-compatible sandbox servers.
 *
 * ```ts
 * import { Daytona } from '@daytonaio/sdk';
 *
 * const daytona = new Daytona({ apiKey: 'dtn_…', serverUrl: 'http://127.0.0.1:3000/api' });
 * const workspace = await daytona.create({ language: 'typescript' });
 * const response = await workspace.process.codeRun('console.log("Hello World!")');
 * console.log(response.result);
 * await daytona.remove(workspace);
 * ```
 *
 * `Sandbox*` names are aliases of the `Workspace*` ones.
 * @module
 */
import type { CreateWorkspaceParams, WorkspaceInfo, WorkspaceResources } from './models.js';
import { WorkspaceState, WorkspaceTargetRegion } from './models.js';
import { Workspace } from './workspace.js';

export { Daytona } from './daytona.js';
export type { DaytonaConfig } from './config.js';
export {
  DaytonaApiError,
  DaytonaAuthenticationError,
  DaytonaBadRequestError,
  DaytonaConflictError,
  DaytonaConnectionError,
  DaytonaError,
  DaytonaForbiddenError,
  DaytonaNotFoundError,
  DaytonaRateLimitError,
  DaytonaServerError,
  DaytonaTimeoutError,
  ProcessExecutionError,
} from './errors.js';
export { FileSystem } from './filesystem.js';
export type { DownloadOptions, UploadOptions, UploadSource } from './filesystem.js';
export { Git } from './git.js';
export { Snapshots, Volumes } from './templates.js';
export type { Snapshot, SnapshotSource, Volume, VolumeMount } from './templates.js';
export type { GitSyncOptions } from './git.js';
export { LspLanguageId, LspServer } from './lspServer.js';
export type { CompletionItem, CompletionList, LspLocation, LspServerStatus, LspSymbol, Position, Range } from './lspServer.js';
export { CodeLanguage, WorkspaceState, WorkspaceTargetRegion } from './models.js';
export type {
  CodeRunParams,
  Command,
  CreateWorkspaceParams,
  ExecuteOptions,
  ExecuteResponse,
  FileInfo,
  FilePermissionsParams,
  FileStatus,
  GitCommitInfo,
  GitCommitResponse,
  GitRemote,
  GitStatus,
  InfoResources,
  ListBranchResponse,
  Match,
  NetworkInfo,
  NetworkSettings,
  PreviewLink,
  ReplaceResult,
  SearchFilesResponse,
  Session,
  SessionExecuteRequest,
  SessionExecuteResponse,
  WorkspaceInfo,
  WorkspaceResources,
} from './models.js';
export { CodeInterpreter } from './interpreter.js';
export type { ExecutionError, ExecutionResult, InterpreterContext, OutputMessage, RunCodeOptions } from './interpreter.js';
export { Process } from './process.js';
export { PtyHandle } from './pty.js';
export type { PtyConnectOptions, PtyCreateOptions, PtyResult, PtySessionInfo } from './pty.js';
export type { CommandLogs, LogChunk, OutputCallback, OutputCallbacks } from './process.js';
export { Workspace };

export const VERSION = '0.1.0';

// The documentation's newer names.
export const Sandbox = Workspace;
export type Sandbox = Workspace;
export type CreateSandboxParams = CreateWorkspaceParams;
export type SandboxResources = WorkspaceResources;
export type SandboxInfo = WorkspaceInfo;
export const SandboxState = WorkspaceState;
export type SandboxState = WorkspaceState;
export const SandboxTargetRegion = WorkspaceTargetRegion;
export type SandboxTargetRegion = WorkspaceTargetRegion;
