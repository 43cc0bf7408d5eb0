/**
 * Loads a workflow definition: YAML (or JSON) into data, checked against
 * the schema, then by machines/check.ts. A definition with any error is
 * refused whole, with every error found, so nothing half-runs.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { WfeError } from '../runtime/errors.js';
import { checkDefinition, type CheckOptions } from './check.js';
import type { WorkflowDefinition } from './definition.js';
import {
  formatError,
  formatPath,
  type DefinitionError,
  type Issue,
} from './issues.js';
import type { DefinitionPositions } from './positions.js';
import { schemaIssues } from './schema-errors.js';
import { readYamlSource } from './yaml-source.js';

export { formatError, type DefinitionError } from './issues.js';

export interface LoadOptions extends CheckOptions {
  /** How messages name a file read by loadDefinitionFile. @default its path */
  name?: string;
}

export interface LoadedDefinition {
  file: string;
  definition: WorkflowDefinition;
  /** Where each path of the definition sits in the file. */
  positions: DefinitionPositions;
}

/** The details of a WORKFLOW_INVALID error. */
export interface InvalidDefinitionDetails {
  file: string;
  errors: DefinitionError[];
}

/**
 * Parses and checks `text`, read from `file` (used in messages only).
 * Throws WORKFLOW_INVALID with every error in its details.
 */
export function loadDefinitionText(
  text: string,
  file: string,
  options: LoadOptions = {},
): LoadedDefinition {
  const source = readYamlSource(text);
  const { positions } = source;
  if (source.issues.length > 0) {
    throw invalidDefinition(
      file,
      source.issues.map((issue) => ({
        file,
        ...issue.position,
        path: formatPath(issue.path),
        message: issue.message,
      })),
    );
  }

  // Checks past the schema rely on the shape it guarantees.
  const shapeIssues = schemaIssues(source.data);
  const definition = source.data as WorkflowDefinition;
  const issues =
    shapeIssues.length > 0 ? shapeIssues : checkDefinition(definition, options);
  if (issues.length > 0) {
    throw invalidDefinition(
      file,
      issues.map((issue) => locate(issue, file, positions)),
    );
  }
  return { file, definition, positions };
}

/**
 * Reads and loads a definition file. Its rscripts must exist beside it
 * unless `options.scriptDir` names another folder.
 */
export async function loadDefinitionFile(
  file: string,
  options: LoadOptions = {},
): Promise<LoadedDefinition> {
  const name = options.name ?? file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new WfeError(
      'WORKFLOW_UNREADABLE',
      `cannot read ${name}: ${readFailure(err)}`,
      { details: { file: name }, cause: err },
    );
  }

  return loadDefinitionText(text, name, {
    ...options,
    scriptDir: options.scriptDir ?? path.dirname(path.resolve(file)),
  });
}

/** The errors of a WORKFLOW_INVALID error; undefined for any other. */
export function definitionErrors(err: unknown): DefinitionError[] | undefined {
  if (!(err instanceof WfeError) || err.code !== 'WORKFLOW_INVALID') {
    return undefined;
  }
  return (err.details as InvalidDefinitionDetails).errors;
}

function locate(
  issue: Issue,
  file: string,
  positions: DefinitionPositions,
): DefinitionError {
  const { line, column } = positions.at(issue.path, issue.at);
  return {
    file,
    line,
    column,
    path: formatPath(issue.path),
    message: issue.message,
  };
}

function invalidDefinition(file: string, found: DefinitionError[]): WfeError {
  const errors = [...found].sort(
    (a, b) => a.line - b.line || a.column - b.column,
  );
  const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
  const details: InvalidDefinitionDetails = { file, errors };
  return new WfeError(
    'WORKFLOW_INVALID',
    `${file}: invalid workflow definition (${count}):\n` +
      errors.map(formatError).join('\n'),
    { details },
  );
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}
