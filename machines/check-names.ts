/**
 * Names a definition uses that live outside it: actions, child workflows
 * and rscript files. Each is checked only when its caller says what
 * exists; without that the definition is judged on its own.
 */
import { statSync } from 'node:fs';
import path from 'node:path';

import type { WorkflowDefinition } from './definition.js';
import type { Issue, PathSegment } from './issues.js';
import { allStates, isTask } from './states.js';

export interface NameCheckOptions {
  /** Action names (`machine.create`) that tasklets provide. */
  knownActions?: ReadonlySet<string>;
  /** Names of the workflows a `workflow` step may start. */
  knownWorkflows?: ReadonlySet<string>;
  /** The folder rscript paths are relative to; each must be a file there. */
  scriptDir?: string;
}

export function checkNames(
  definition: WorkflowDefinition,
  options: NameCheckOptions,
): Issue[] {
  const issues: Issue[] = [];
  const { knownActions, knownWorkflows, scriptDir } = options;

  if (knownActions && definition.implements !== undefined) {
    const type = definition.implements.split('.')[0]!;
    const types = new Set([...knownActions].map((name) => name.split('.')[0]));
    if (!types.has(type)) {
      issues.push({
        path: ['implements'],
        message: `no known action is on type '${type}' (types: ${[...types].sort().join(', ')})`,
      });
    }
  }

  for (const { path: at, state } of allStates(definition)) {
    if (!isTask(state)) continue;
    if (knownActions) {
      action(state.action, [...at, 'action'], knownActions, issues);
      action(
        state.compensate?.action,
        [...at, 'compensate', 'action'],
        knownActions,
        issues,
      );
    }
    if (knownWorkflows && state.workflow !== undefined) {
      if (!knownWorkflows.has(state.workflow)) {
        issues.push({
          path: [...at, 'workflow'],
          message: `unknown workflow '${state.workflow}'`,
        });
      }
    }
    if (scriptDir && state.rscript) {
      script(
        state.rscript.script,
        [...at, 'rscript', 'script'],
        scriptDir,
        issues,
      );
    }
  }
  return issues;
}

function action(
  name: string | undefined,
  at: PathSegment[],
  known: ReadonlySet<string>,
  issues: Issue[],
): void {
  if (name === undefined || known.has(name)) return;
  issues.push({
    path: at,
    message: `unknown action '${name}': no tasklet provides it`,
  });
}

function script(
  file: string,
  at: PathSegment[],
  dir: string,
  issues: Issue[],
): void {
  const full = path.resolve(dir, file);
  const info = statSync(full, { throwIfNoEntry: false });
  if (info?.isFile()) return;
  issues.push({ path: at, message: `no script file ${full}` });
}
