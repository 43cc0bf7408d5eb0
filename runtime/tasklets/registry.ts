import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { toErrorInfo, WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  defaultCacheDir,
  loadRoot,
  type CompileCache,
  type LoadResult,
} from './loader.js';
import type { Role, Tasklet } from './types.js';

export interface TaskletRegistryOptions {
  /** Folders holding tasklets; each must exist when the registry starts. */
  roots: string[];
  logger: Logger;
  /** Where compiled modules go; `<tmpdir>/wfe-tasklets-<pid>` by default. */
  cacheDir?: string;
  /** Reload when files under a root change. @default false */
  watch?: boolean;
  /** Quiet time after the last file event before reloading. @default 100 */
  debounceMs?: number;
}

/** The tasklet chain of one action. */
export interface ResolvedAction {
  role: Role;
  domain: string;
  action: string;
  /** Highest priority first; equal priorities by name. */
  tasklets: readonly Tasklet[];
}

/** What one reload changed, counted in tasklet files. */
export interface RegistryChange {
  added: number;
  removed: number;
  changed: number;
  /** Load errors after the reload. */
  errors: number;
}

export interface TaskletRegistry {
  /** `action` is `<domain>.<action>`, e.g. 'machine.create'. */
  resolve(action: string): ResolvedAction;
  /** Resolvable actions, sorted; ambiguous ones are left out. */
  actions(): string[];
  /** Load errors of the current index. */
  errors(): WfeError[];
  reload(): Promise<void>;
  /** Called after each reload; returns a function that unsubscribes. */
  onChange(listener: (change: RegistryChange) => void): () => void;
  close(): Promise<void>;
}

// Built whole by a reload and swapped in with one assignment, so `resolve`
// never sees a half-built index.
interface Index {
  byAction: ReadonlyMap<string, ResolvedAction>;
  ambiguous: ReadonlyMap<string, WfeError>;
  byFile: ReadonlyMap<string, Tasklet>;
  errors: WfeError[];
  actions: string[];
}

const ACTION_NAME = /^([A-Za-z][A-Za-z0-9_-]*)\.([A-Za-z][A-Za-z0-9_-]*)$/;
const MAX_SUGGESTIONS = 5;

/**
 * Loads every root and keeps an index of actions to tasklet chains.
 *
 * A file that was valid and becomes invalid is dropped from the index and
 * its error reported; the previous good version is not kept serving,
 * because then what runs would differ from what is on disk without anyone
 * asking for it.
 */
export async function createTaskletRegistry(
  options: TaskletRegistryOptions,
): Promise<TaskletRegistry> {
  const roots = options.roots.map((root) => path.resolve(root));
  const logger = options.logger;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const cache: CompileCache = new Map();
  const listeners = new Set<(change: RegistryChange) => void>();
  let lastByRoot = new Map<string, LoadResult>();
  let index = emptyIndex();

  async function load(): Promise<void> {
    const results = await Promise.all(roots.map(loadOneRoot));
    lastByRoot = new Map(roots.map((root, i) => [root, results[i]!]));

    const next = buildIndex(results);
    logNewErrors(index.errors, next.errors);
    const change = diff(index, next);
    index = next;
    notify(change);
  }

  // An unexpected failure (e.g. a permission error) keeps the root's last
  // tasklets rather than dropping a whole root for a passing problem.
  async function loadOneRoot(root: string): Promise<LoadResult> {
    try {
      return await loadRoot(root, { cacheDir, cache });
    } catch (err) {
      const error = new WfeError(
        'TASKLET_LOAD_FAILED',
        `loading tasklet root ${root} failed: ${toErrorInfo(err).message}`,
        { details: { root }, cause: err },
      );
      const previous = lastByRoot.get(root)?.tasklets ?? [];
      return { tasklets: previous, errors: [error] };
    }
  }

  function logNewErrors(before: WfeError[], after: WfeError[]): void {
    const known = new Set(before.map((error) => error.message));
    for (const error of after) {
      if (known.has(error.message)) continue;
      const file = (error.details as { file?: string } | undefined)?.file;
      logger.error({ err: error.toJSON(), file }, 'tasklet invalid');
    }
  }

  function notify(change: RegistryChange): void {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (err) {
        logger.error({ err: toErrorInfo(err) }, 'registry listener threw');
      }
    }
  }

  await assertFolders(roots);
  await load();

  // Reloads run one after another; each call waits for its own.
  let queue: Promise<void> = Promise.resolve();
  const reload = (): Promise<void> => {
    const run = queue.then(load);
    queue = run.catch(() => undefined);
    return run;
  };

  const watchers = options.watch
    ? watchRoots(roots, options.debounceMs ?? 100, reload, logger)
    : null;

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      watchers?.close();
      await queue;
    })();
    return closing;
  };

  return {
    resolve: (action) => resolveIn(index, action),
    actions: () => [...index.actions],
    errors: () => [...index.errors],
    reload,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close,
  };
}

function resolveIn(index: Index, action: string): ResolvedAction {
  if (!ACTION_NAME.test(action)) {
    throw new WfeError(
      'BAD_ACTION',
      `bad action name '${action}': expected '<domain>.<action>'`,
      { details: { action } },
    );
  }

  const ambiguity = index.ambiguous.get(action);
  if (ambiguity !== undefined) {
    throw new WfeError('ACTION_AMBIGUOUS', ambiguity.message, {
      details: ambiguity.details,
    });
  }

  const found = index.byAction.get(action);
  if (found !== undefined) return found;

  const similar = closeMatches(action, index.actions);
  const hint =
    similar.length > 0 ? `; did you mean ${similar.join(', ')}?` : '';
  throw new WfeError('ACTION_NOT_FOUND', `unknown action '${action}'${hint}`, {
    details: { action, similar },
  });
}

function buildIndex(results: LoadResult[]): Index {
  const errors = results.flatMap((result) => result.errors);
  const byFile = new Map<string, Tasklet>();
  for (const tasklet of results.flatMap((result) => result.tasklets)) {
    byFile.set(tasklet.file, tasklet);
  }

  const grouped = new Map<string, Tasklet[]>();
  for (const tasklet of byFile.values()) {
    const key = `${tasklet.domain}.${tasklet.action}`;
    grouped.set(key, [...(grouped.get(key) ?? []), tasklet]);
  }

  const byAction = new Map<string, ResolvedAction>();
  const ambiguous = new Map<string, WfeError>();
  for (const [key, tasklets] of grouped) {
    const first = tasklets[0]!;
    if (tasklets.some((tasklet) => tasklet.role !== first.role)) {
      const error = ambiguityError(key, tasklets);
      ambiguous.set(key, error);
      errors.push(error);
      continue;
    }

    const { role, domain, action } = first;
    const chain = Object.freeze([...tasklets].sort(byPriority));
    byAction.set(key, Object.freeze({ role, domain, action, tasklets: chain }));
  }

  const actions = [...byAction.keys()].sort();
  return { byAction, ambiguous, byFile, errors, actions };
}

function ambiguityError(key: string, tasklets: Tasklet[]): WfeError {
  const files = tasklets.map((tasklet) => tasklet.file).sort();
  return new WfeError(
    'TASKLET_INVALID',
    `action '${key}' is defined both as a rootobject and an actor action ` +
      `(${tasklets.map((tasklet) => tasklet.name).join(', ')})`,
    { details: { action: key, files } },
  );
}

function byPriority(a: Tasklet, b: Tasklet): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return compare(a.name, b.name) || compare(a.file, b.file);
}

// Plain code-unit order: the same on every machine, unlike localeCompare.
function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function diff(before: Index, after: Index): RegistryChange {
  let added = 0;
  let changed = 0;
  for (const [file, tasklet] of after.byFile) {
    const old = before.byFile.get(file);
    if (old === undefined) added++;
    else if (old.compiledFile !== tasklet.compiledFile) changed++;
  }

  let removed = 0;
  for (const file of before.byFile.keys()) {
    if (!after.byFile.has(file)) removed++;
  }
  return { added, removed, changed, errors: after.errors.length };
}

// A missing root at start-up is a configuration mistake: fail loudly.
async function assertFolders(roots: string[]): Promise<void> {
  for (const root of roots) {
    const info = await stat(root).catch(() => null);
    if (info?.isDirectory()) continue;
    throw new WfeError(
      'TASKLET_ROOT_MISSING',
      `tasklet root ${root} does not exist or is not a folder`,
      { details: { root } },
    );
  }
}

function emptyIndex(): Index {
  return {
    byAction: new Map(),
    ambiguous: new Map(),
    byFile: new Map(),
    errors: [],
    actions: [],
  };
}

/**
 * Watches every root and reloads once events stop for `debounceMs`. The
 * whole root is reloaded; unchanged files are not recompiled (the loader's
 * cache compares mtime and size), which keeps that cheap.
 */
function watchRoots(
  roots: string[],
  debounceMs: number,
  reload: () => Promise<void>,
  logger: Logger,
): { close(): void } {
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const schedule = () => {
    if (closed) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      reload().catch((err: unknown) => {
        logger.error({ err: toErrorInfo(err) }, 'tasklet reload failed');
      });
    }, debounceMs);
  };

  const watchers: FSWatcher[] = roots.map((root) => {
    const watcher = watch(root, { recursive: true }, schedule);
    watcher.on('error', (err) => {
      logger.error({ err: toErrorInfo(err), root }, 'tasklet watch failed');
    });
    return watcher;
  });

  return {
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}

/** Known actions close to `action`: nearest by edit distance, or a shared part. */
function closeMatches(action: string, known: string[]): string[] {
  const [domain, name] = action.split('.');
  const limit = Math.max(2, Math.floor(action.length / 4));
  return known
    .map((candidate) => {
      const [otherDomain, otherName] = candidate.split('.');
      const distance = editDistance(action, candidate);
      const sharesPart = otherDomain === domain || otherName === name;
      return { candidate, distance, close: distance <= limit || sharesPart };
    })
    .filter((entry) => entry.close)
    .sort(
      (a, b) => a.distance - b.distance || compare(a.candidate, b.candidate),
    )
    .slice(0, MAX_SUGGESTIONS)
    .map((entry) => entry.candidate);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(
        Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
