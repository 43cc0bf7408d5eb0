/**
 * Checks a definition against machines/schema.ts and words ajv's errors
 * for people: one issue per mistake, at the key or value at fault.
 */
import { Ajv, type ErrorObject } from 'ajv';

import { describeValue, type Issue, type PathSegment } from './issues.js';
import { workflowSchema } from './schema.js';

interface SchemaNode {
  title?: string;
  description?: string;
  $ref?: string;
  properties?: Record<string, unknown>;
}

// A key that belongs to another kind of state gets a hint, not a list.
const MISPLACED: Record<string, string> = {
  wait: "'wait' (all or any) belongs on a parallel state",
  onTimeout: "'onTimeout' belongs on a wait state with 'on' and 'timeoutMs'",
  timeoutMs:
    "'timeoutMs' belongs on a task, or on a wait state with 'on' events",
};

const KIND_KEYS = 'action, rscript, workflow';

const ajv = new Ajv({ allErrors: true, verbose: true });
const validate = ajv.compile(workflowSchema);

/** The schema's complaints about `data`; empty when it conforms. */
export function schemaIssues(data: unknown): Issue[] {
  if (validate(data)) return [];

  const errors = relevant(validate.errors ?? []);
  const issues = errors.map((error) => toIssue(error, data));
  return dedupe(issues);
}

// Drops errors that only echo another: the branch bookkeeping of if/then
// and oneOf, a key's own pattern error under its propertyNames error, and
// anything else said about a value of the wrong type.
function relevant(errors: ErrorObject[]): ErrorObject[] {
  const typeErrors = new Set(
    errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath),
  );
  const badKeys = new Set(
    errors
      .filter((e) => e.keyword === 'propertyNames')
      .map((e) => `${e.instancePath}\0${String(e.params.propertyName)}`),
  );

  return errors.filter((error) => {
    if (error.keyword === 'if') return false;
    if (error.schemaPath.includes('/oneOf/')) return false;
    if (badKeys.has(`${error.instancePath}\0${String(error.data)}`)) {
      return false;
    }
    return error.keyword === 'type' || !typeErrors.has(error.instancePath);
  });
}

function toIssue(error: ErrorObject, data: unknown): Issue {
  const path = pathOf(error.instancePath, data);
  const schema = (error.parentSchema ?? {}) as SchemaNode;
  const what = schema.title ?? 'this map';

  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty);
      return {
        path: [...path, key],
        at: 'key',
        message: unknownKey(key, schema),
      };
    }
    case 'propertyNames': {
      const key = String(error.params.propertyName);
      const rule = propertyNameRule(schema);
      return {
        path: [...path, key],
        at: 'key',
        message: `${describeValue(key)} is not ${rule}`,
      };
    }
    case 'required':
      return {
        path: [...path, String(error.params.missingProperty)],
        message: `missing: ${what} needs '${error.params.missingProperty}'`,
      };
    case 'oneOf':
      return { path, message: oneOfMessage(error) };
    case 'minProperties':
    case 'minItems':
      return { path, message: 'must not be empty' };
    case 'enum':
      return {
        path,
        message: `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}, got ${describeValue(error.data)}`,
      };
    case 'const':
      return {
        path,
        message: `must be ${String(error.params.allowedValue)}, got ${describeValue(error.data)}`,
      };
    case 'uniqueItems':
      return { path, message: 'must not repeat an item' };
    default:
      return { path, message: mustBe(error, schema) };
  }
}

function unknownKey(key: string, schema: SchemaNode): string {
  const hint = MISPLACED[key];
  if (hint && schema.title !== 'a workflow definition') {
    return `unknown key '${key}' in ${schema.title}: ${hint}`;
  }
  const known = Object.keys(schema.properties ?? {}).join(', ');
  return `unknown key '${key}' in ${schema.title ?? 'this map'} (known: ${known})`;
}

function propertyNameRule(schema: SchemaNode): string {
  const names = (schema as { propertyNames?: SchemaNode }).propertyNames;
  return (resolve(names) ?? {}).description ?? 'an allowed key';
}

function oneOfMessage(error: ErrorObject): string {
  const passing = error.params.passingSchemas as number[] | null;
  if (passing === null) {
    return `a task state needs one of ${KIND_KEYS}`;
  }

  const kinds = KIND_KEYS.split(', ');
  const found = passing.map((index) => kinds[index]).join(' and ');
  return `a task state needs exactly one of ${KIND_KEYS}, not both ${found}`;
}

// type, pattern, minimum, minLength: say what the value must be, in the
// schema's own words when it has them.
function mustBe(error: ErrorObject, schema: SchemaNode): string {
  const got = `got ${describeValue(error.data)}`;
  if (schema.description) return `must be ${schema.description}, ${got}`;
  if (error.keyword === 'type') {
    return `must be ${article(String(error.params.type))}, ${got}`;
  }
  return `${error.message ?? 'is not valid'}, ${got}`;
}

function article(type: string): string {
  const names: Record<string, string> = {
    object: 'a map',
    array: 'a list',
    integer: 'a whole number',
  };
  return names[type] ?? `a ${type}`;
}

function resolve(schema: SchemaNode | undefined): SchemaNode | undefined {
  if (!schema?.$ref) return schema;
  const name = schema.$ref.replace('#/definitions/', '');
  return (workflowSchema.definitions as Record<string, SchemaNode>)[name];
}

// ajv's JSON pointer, with list indices as numbers.
function pathOf(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];

  const path: PathSegment[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment = Array.isArray(node) ? Number(key) : key;
    path.push(segment);
    node = (node as Record<PathSegment, unknown> | undefined)?.[segment];
  }
  return path;
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${JSON.stringify(issue.path)}\0${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
