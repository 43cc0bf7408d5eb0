/**
 * What is wrong with a workflow definition, and where. Checks report
 * issues by path inside the definition; the loader turns them into
 * errors with a line and column in the file.
 */

/** A step into the definition: a map key or a list index. */
export type PathSegment = string | number;
export type DefinitionPath = readonly PathSegment[];

export interface Issue {
  path: DefinitionPath;
  message: string;
  /** Point at the key of the entry rather than at its value. */
  at?: 'key';
}

export interface DefinitionError {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Inside the definition: `states.provision.parallel.web.initial`. */
  path: string;
  message: string;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * `['states', 'a', 'choose', 0, 'next']` → `states.a.choose[0].next`.
 * Keys that would read ambiguously are quoted: `onError["*"]`.
 */
export function formatPath(path: DefinitionPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** `FILE:LINE:COL: PATH: MESSAGE`; without `PATH: ` for the whole file. */
export function formatError(error: DefinitionError): string {
  const where = `${error.file}:${error.line}:${error.column}`;
  return error.path
    ? `${where}: ${error.path}: ${error.message}`
    : `${where}: ${error.message}`;
}

/** A value for a message: `'abc'`, `3`, `a list`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}
