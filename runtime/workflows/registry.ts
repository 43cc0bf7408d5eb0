import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { WorkflowDefinition } from '../../machines/definition.js';
import { loadDefinitionFile } from '../../machines/load.js';
import { toWfeError, WfeError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * The workflows an engine knows: every `.yaml`, `.yml` and `.json` file
 * under its workflow roots, checked when loaded. A file that does not
 * check out is logged and left out; it never half-runs.
 */
export interface WorkflowEntry {
  definition: WorkflowDefinition;
  /** The file it came from; its rscripts are found beside it. */
  file: string;
}

export interface WorkflowRegistry {
  /** The workflow implementing `action`, if one does. */
  forAction(action: string): WorkflowEntry | undefined;
  /** The workflow of this name, if one implements an action. */
  byName(name: string): WorkflowEntry | undefined;
  /** The actions implemented by workflows, sorted. */
  actions(): string[];
  /** Load errors, one per file that was left out. */
  errors(): WfeError[];
}

const EXTENSIONS = ['.yaml', '.yml', '.json'];

export async function loadWorkflows(
  roots: string[],
  logger: Logger,
): Promise<WorkflowRegistry> {
  const byAction = new Map<string, WorkflowEntry>();
  const errors: WfeError[] = [];

  for (const file of await definitionFiles(roots)) {
    try {
      const { definition } = await loadDefinitionFile(file);
      const action = definition.implements;
      if (action === undefined) continue;
      const other = byAction.get(action);
      if (other) {
        throw new WfeError(
          'WORKFLOW_CONFLICT',
          `${file}: ${action} is implemented by ${other.file} already`,
        );
      }
      byAction.set(action, { definition, file });
    } catch (err) {
      const error = toWfeError(err, 'WORKFLOW_INVALID');
      logger.error({ err: error, file }, 'workflow left out');
      errors.push(error);
    }
  }

  return {
    forAction: (action) => byAction.get(action),
    byName: (name) =>
      [...byAction.values()].find((e) => e.definition.name === name),
    actions: () => [...byAction.keys()].sort(),
    errors: () => [...errors],
  };
}

async function definitionFiles(roots: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const root of roots.map((r) => resolve(r))) {
    const entries = await readdir(root, { recursive: true }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      },
    );
    for (const entry of entries) {
      if (EXTENSIONS.some((ext) => entry.endsWith(ext))) {
        files.push(join(root, entry));
      }
    }
  }
  return files.sort();
}
