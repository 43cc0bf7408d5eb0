import type { JobLogEntry, LogLevel, RootObject } from '../drp/types.js';
import type { ObjectQuery } from '../drp/types.js';

/** The two kinds of action, each with its own capabilities. */
export type Role = 'rootobject' | 'actor';

export const ROLES: readonly Role[] = ['rootobject', 'actor'];

/** What a tasklet file exports. */
export interface TaskletModule {
  tags?: string[];
  priority?: number;
  realizes?: string;
  /** Run `main` in a worker thread, for CPU-heavy work. */
  worker?: boolean;
  match?(ctx: TaskletContext): boolean | Promise<boolean>;
  main(ctx: TaskletContext): unknown;
}

/** A tasklet as loaded and validated. */
export interface Tasklet {
  /** Absolute path of the source file. */
  file: string;
  /** A short name for logs: the path below its root. */
  name: string;
  role: Role;
  /** The domain: the root object type or the domain actor's name. */
  domain: string;
  action: string;
  priority: number;
  realizes: string | null;
  worker: boolean;
  /** The compiled module, importable from a worker thread. */
  compiledFile: string;
  match?: TaskletModule['match'];
  main: TaskletModule['main'];
}

export interface JobLog {
  debug(message: string, data?: unknown): void;
  info(message: string, data?: unknown): void;
  warn(message: string, data?: unknown): void;
  error(message: string, data?: unknown): void;
}

export interface JobInfo {
  id: string;
  parentId: string | null;
  action: string;
  target: string | null;
}

/** Root objects, as an RO action's tasklets see them. */
export interface DrpAccess {
  get(guid: string): Promise<RootObject | null>;
  find(query?: ObjectQuery): Promise<RootObject[]>;
  /** Creates a new root object (version 1). */
  create(
    type: string,
    data: Record<string, unknown>,
    guid?: string,
  ): Promise<RootObject>;
  /** Saves a changed object; its `version` must still be current. */
  save(object: RootObject): Promise<RootObject>;
  delete(object: RootObject): Promise<void>;
}

export interface ActionOptions {
  params?: Record<string, unknown>;
  target?: string;
  maxDurationMs?: number;
}

export interface ChildJob {
  id: string;
  /** Resolves with the child's result, or throws its structured error. */
  result(): Promise<unknown>;
}

export interface ActionsAccess {
  /** Runs a child job and waits for its result. */
  run(action: string, options?: ActionOptions): Promise<unknown>;
  /** Starts a child job without waiting for it. */
  start(action: string, options?: ActionOptions): Promise<ChildJob>;
}

export interface ScriptOptions {
  params?: Record<string, unknown>;
  timeoutMs?: number;
  language?: string;
  /** Return a non-zero exit as an outcome instead of a SCRIPT_FAILED. */
  allowFailure?: boolean;
}

export interface ScriptResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  result: unknown;
}

export interface AgentsAccess {
  run(
    agentId: string,
    script: string,
    options?: ScriptOptions,
  ): Promise<ScriptResult>;
}

export interface TaskletContext {
  /** Shared by every tasklet of the chain; `params.result` is the answer. */
  params: Record<string, unknown>;
  job: JobInfo;
  tasklet: { name: string; file: string };
  log: JobLog;
  /** Aborted when the job is cancelled or runs past its maximum duration. */
  signal: AbortSignal;
  /** Ends the chain after this tasklet. */
  stop(): void;
  /** RO actions only. */
  readonly drp: DrpAccess;
  /** RO actions only. */
  readonly actions: ActionsAccess;
  /** Actor actions only. */
  readonly agents: AgentsAccess;
}

export type { JobLogEntry, LogLevel };
