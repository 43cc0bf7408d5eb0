/**
 * What the schema cannot say about a definition. Runs on data the schema
 * accepted, and reports every issue it finds rather than the first.
 */
import { checkExpressions } from './check-expressions.js';
import { checkGraph } from './check-graph.js';
import { checkNames, type NameCheckOptions } from './check-names.js';
import type { WorkflowDefinition } from './definition.js';
import type { Issue } from './issues.js';

export type CheckOptions = NameCheckOptions;

export function checkDefinition(
  definition: WorkflowDefinition,
  options: CheckOptions = {},
): Issue[] {
  return [
    ...checkGraph(definition),
    ...checkExpressions(definition),
    ...checkNames(definition, options),
  ];
}
