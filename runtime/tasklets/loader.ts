/**
 * Finds, compiles and validates the tasklets of one root folder.
 *
 * Which files are tasklets (one rule, no guessing by content):
 * - every `.ts`, `.mts`, `.js` or `.mjs` file anywhere under the root,
 * - except declaration files (`*.d.ts`, `*.d.mts`),
 * - except files whose name starts with `_` or `.` (helpers a tasklet
 *   imports, e.g. `_shared.ts`),
 * - except anything inside a folder named `rscripts` or `node_modules`, or
 *   whose name starts with `_` or `.` (rscripts are sent to agents, even
 *   node ones written in `.js`; `_lib/` holds helper modules).
 * Other files (`.sh`, `.py`, `.json`, ...) are ignored.
 *
 * Default tags come from the layout: `<root>/rootobject/<type>/<action>/x.ts`
 * is `['rootobject', type, action]`, `<root>/actor/<name>/<action>/x.ts` is
 * `['actor', name, action]`. An exported `tags` overrides them; a tasklet
 * outside that layout must export valid `tags`.
 */
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { toErrorInfo, WfeError } from '../errors.js';
import { compileTasklet, importCompiled } from './compile.js';
import type { CompileProblem } from './compile.js';
import { ROLES, type Role, type Tasklet } from './types.js';

/** A load problem: code 'TASKLET_INVALID' or 'TASKLET_ROOT_MISSING'. */
export type TaskletLoadError = WfeError;

export interface LoadResult {
  /** Sorted by name (the path below the root). */
  tasklets: Tasklet[];
  errors: TaskletLoadError[];
}

/** A compiled module kept between loads, keyed by source file. */
export interface CachedModule {
  /** `path:mtime:size` of every bundled input; equal means unchanged. */
  stamp: string;
  inputs: string[];
  compiledFile: string;
  exports: Record<string, unknown>;
}

export type CompileCache = Map<string, CachedModule>;

export interface LoadOptions {
  /** Where compiled modules go; `<tmpdir>/wfe-tasklets-<pid>` by default. */
  cacheDir?: string;
  /** Pass the same map to each load to skip recompiling unchanged files. */
  cache?: CompileCache;
}

const SCRIPT_FILE = /\.(ts|mts|js|mjs)$/;
const DECLARATION_FILE = /\.d\.m?ts$/;
const SKIPPED_FOLDERS = new Set(['rscripts', 'node_modules']);
const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
// Compiling is mostly esbuild's work in its own process; a few at a time
// keeps a root of hundreds of files from flooding it.
const CONCURRENCY = 8;

export function defaultCacheDir(): string {
  return path.join(os.tmpdir(), `wfe-tasklets-${process.pid}`);
}

export async function loadRoot(
  root: string,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const absoluteRoot = path.resolve(root);
  if (!(await isDirectory(absoluteRoot))) {
    const error = new WfeError(
      'TASKLET_ROOT_MISSING',
      `tasklet root ${absoluteRoot} does not exist or is not a folder`,
      { details: { root: absoluteRoot } },
    );
    return { tasklets: [], errors: [error] };
  }

  const files = await findTaskletFiles(absoluteRoot);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const cache = options.cache ?? new Map();
  const outcomes = await mapLimited(files, CONCURRENCY, (file) =>
    loadFile(absoluteRoot, file, cacheDir, cache),
  );

  const tasklets: Tasklet[] = [];
  const errors: TaskletLoadError[] = [];
  for (const outcome of outcomes) {
    if (outcome instanceof WfeError) errors.push(outcome);
    else tasklets.push(outcome);
  }
  return { tasklets, errors };
}

/** Tasklet files below `root` by the rule above, sorted. */
export async function findTaskletFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(root, { withFileTypes: true });

  for (const entry of entries) {
    if (entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
    const full = path.join(root, entry.name);

    if (entry.isDirectory()) {
      if (SKIPPED_FOLDERS.has(entry.name)) continue;
      found.push(...(await findTaskletFiles(full)));
    } else if (entry.isFile() && isTaskletName(entry.name)) {
      found.push(full);
    }
  }
  return found.sort();
}

function isTaskletName(name: string): boolean {
  return SCRIPT_FILE.test(name) && !DECLARATION_FILE.test(name);
}

async function loadFile(
  root: string,
  file: string,
  cacheDir: string,
  cache: CompileCache,
): Promise<Tasklet | WfeError> {
  const name = path.relative(root, file).split(path.sep).join('/');
  const invalid = (problem: string, details: object = {}, cause?: unknown) =>
    new WfeError('TASKLET_INVALID', `${name}: ${problem}`, {
      details: { file, root, ...details },
      cause,
    });

  let module: CachedModule;
  try {
    const loaded = await compileCached(file, cacheDir, cache);
    if (!loaded.ok) {
      const first = loaded.problems[0];
      const where = first === undefined ? '' : locate(first, root, file);
      const text = first?.text ?? 'unknown problem';
      return invalid(`does not compile${where}: ${text}`, {
        line: first?.line ?? null,
        column: first?.column ?? null,
        problems: loaded.problems,
      });
    }
    module = loaded.module;
  } catch (err) {
    const info = toErrorInfo(err);
    return invalid(`throws while importing: ${info.message}`, {}, err);
  }

  const problems: string[] = [];
  const tasklet = validate(module, file, name, problems);
  if (tasklet === null) return invalid(problems.join('; '), { problems });
  return tasklet;
}

type CompiledOrProblems =
  | { ok: true; module: CachedModule }
  | { ok: false; problems: CompileProblem[] };

async function compileCached(
  file: string,
  cacheDir: string,
  cache: CompileCache,
): Promise<CompiledOrProblems> {
  const cached = cache.get(file);
  const stamp = cached && (await stampOf(cached.inputs)).join('\n');
  if (cached !== undefined && stamp === cached.stamp) {
    return { ok: true, module: cached };
  }

  // Stamp before compiling: a file saved during the build then looks
  // changed next time, instead of its new content being missed.
  const [sourceStamp] = await stampOf([file]);
  const compiled = await compileTasklet(file, cacheDir);
  if (!compiled.ok) {
    cache.delete(file);
    return compiled;
  }

  const exports = await importCompiled(compiled.compiledFile);
  const helpers = compiled.inputs.filter((input) => input !== file);
  const module: CachedModule = {
    stamp: [sourceStamp, ...(await stampOf(helpers))].join('\n'),
    inputs: [file, ...helpers],
    compiledFile: compiled.compiledFile,
    exports,
  };
  cache.set(file, module);
  return { ok: true, module };
}

function validate(
  module: CachedModule,
  file: string,
  name: string,
  problems: string[],
): Tasklet | null {
  const exports = module.exports;
  const tags = tagsOf(exports.tags, name, problems);
  const priority = exports.priority ?? 0;
  const { main, match, realizes, worker } = exports;

  if (typeof main !== 'function') {
    problems.push('`main` is missing or not a function');
  }
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    problems.push('`priority` must be a finite number');
  }
  if (match !== undefined && typeof match !== 'function') {
    problems.push('`match` must be a function');
  }
  if (realizes !== undefined && typeof realizes !== 'string') {
    problems.push('`realizes` must be a string');
  }
  if (worker !== undefined && typeof worker !== 'boolean') {
    problems.push('`worker` must be a boolean');
  }
  if (problems.length > 0 || tags === null) return null;

  const tasklet: Tasklet = {
    file,
    name,
    role: tags.role,
    domain: tags.domain,
    action: tags.action,
    priority: priority as number,
    realizes: (realizes as string | undefined) ?? null,
    worker: (worker as boolean | undefined) ?? false,
    compiledFile: module.compiledFile,
    main: main as Tasklet['main'],
  };
  if (match !== undefined) tasklet.match = match as Tasklet['match'];
  return tasklet;
}

interface Tags {
  role: Role;
  domain: string;
  action: string;
}

function tagsOf(
  exported: unknown,
  name: string,
  problems: string[],
): Tags | null {
  if (exported !== undefined) {
    const tags = parseTags(exported);
    if (tags === null) {
      problems.push(
        "`tags` must be [role, domain, action] with role 'rootobject' or " +
          `'actor' and names matching ${NAME}; got ${JSON.stringify(exported)}`,
      );
    }
    return tags;
  }

  const tags = parseTags(name.split('/').slice(0, -1));
  if (tags === null) {
    problems.push(
      'outside the <role>/<domain>/<action>/ layout and exports no `tags`',
    );
  }
  return tags;
}

function parseTags(value: unknown): Tags | null {
  if (!Array.isArray(value) || value.length !== 3) return null;

  const [role, domain, action] = value as unknown[];
  if (!ROLES.includes(role as Role)) return null;
  if (typeof domain !== 'string' || !NAME.test(domain)) return null;
  if (typeof action !== 'string' || !NAME.test(action)) return null;
  return { role: role as Role, domain, action };
}

// " (line 3, column 7)", naming the file when a helper is at fault.
function locate(problem: CompileProblem, root: string, file: string): string {
  if (problem.file === null) return '';
  const position = `line ${problem.line}, column ${problem.column}`;
  if (problem.file === file) return ` (${position})`;
  const other = path.relative(root, problem.file).split(path.sep).join('/');
  return ` (in ${other}, ${position})`;
}

async function stampOf(files: string[]): Promise<string[]> {
  return Promise.all(
    files.map(async (file) => {
      try {
        const info = await stat(file);
        return `${file}:${info.mtimeMs}:${info.size}`;
      } catch {
        return `${file}:gone`;
      }
    }),
  );
}

async function isDirectory(folder: string): Promise<boolean> {
  try {
    return (await stat(folder)).isDirectory();
  } catch {
    return false;
  }
}

async function mapLimited<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, () =>
    (async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index] as T);
      }
    })(),
  );
  await Promise.all(runners);
  return results;
}
