/**
 * The JSON Schema (draft-07) of a workflow definition: its shape only.
 * What a schema cannot say (transitions naming real states, reachability,
 * expressions that parse) is checked by machines/check.ts.
 *
 * A state's kind is told by its keys: `final` makes a final state,
 * `choose` a choice, `parallel` a parallel state, `delayMs` or `on` a
 * wait, anything else a task. Each kind then allows its own keys only.
 *
 * `title` names what a schema describes and `description` says what a
 * value must be; machines/schema-errors.ts builds its messages from them.
 */

const NAME_PART = '[A-Za-z][A-Za-z0-9_-]*';

const ref = (name: string) => ({ $ref: `#/definitions/${name}` });

const transitions = {
  next: ref('stateName'),
  onError: ref('onError'),
};

export const workflowSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'a workflow definition',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'version', 'initial', 'states'],
  properties: {
    name: {
      type: 'string',
      pattern: `^${NAME_PART}(\\.${NAME_PART})*$`,
      description:
        'a workflow name (parts of a letter then letters, digits, _ or -, ' +
        "joined by '.')",
    },
    version: {
      type: 'integer',
      minimum: 1,
      description: 'a positive whole number',
    },
    description: { type: 'string' },
    implements: ref('actionName'),
    context: ref('contextValues'),
    initial: ref('stateName'),
    states: ref('states'),
  },
  definitions: {
    stateName: {
      type: 'string',
      pattern: `^${NAME_PART}$`,
      description: 'a state name (a letter, then letters, digits, _ or -)',
    },
    actionName: {
      type: 'string',
      pattern: `^${NAME_PART}\\.${NAME_PART}$`,
      description: "an action name like 'machine.create' (type.action)",
    },
    workflowName: {
      type: 'string',
      pattern: `^${NAME_PART}(\\.${NAME_PART})*$`,
      description: "a workflow name like 'deploy' or 'web.rollout'",
    },
    errorCode: {
      type: 'string',
      pattern: '^[A-Z][A-Z0-9_]*$',
      description: "an error code like 'TIMEOUT' (capitals, digits and _)",
    },
    contextKey: {
      type: 'string',
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description: 'a context key (letters, digits and _, not first a digit)',
    },
    expression: {
      type: 'string',
      minLength: 1,
      description: 'a CEL expression',
    },
    contextValues: {
      type: 'object',
      propertyNames: ref('contextKey'),
      additionalProperties: ref('expression'),
    },
    inputValues: {
      type: 'object',
      propertyNames: {
        type: 'string',
        pattern: '^[A-Za-z_][A-Za-z0-9_-]*$',
        description: 'a parameter name (letters, digits, _ and -)',
      },
      additionalProperties: ref('expression'),
    },
    onError: {
      type: 'object',
      minProperties: 1,
      propertyNames: {
        type: 'string',
        pattern: '^([A-Z][A-Z0-9_]*|\\*)$',
        description: "an error code like 'TIMEOUT', or '*' for any other",
      },
      additionalProperties: ref('stateName'),
    },
    states: {
      type: 'object',
      minProperties: 1,
      propertyNames: ref('stateName'),
      additionalProperties: ref('state'),
    },
    state: {
      type: 'object',
      if: { type: 'object', required: ['final'] },
      then: ref('finalState'),
      else: {
        if: { type: 'object', required: ['choose'] },
        then: ref('choiceState'),
        else: {
          if: { type: 'object', required: ['parallel'] },
          then: ref('parallelState'),
          else: {
            if: {
              type: 'object',
              anyOf: [{ required: ['delayMs'] }, { required: ['on'] }],
            },
            then: ref('waitState'),
            else: ref('taskState'),
          },
        },
      },
    },
    taskState: {
      title: 'a task state',
      type: 'object',
      additionalProperties: false,
      oneOf: [
        { required: ['action'] },
        { required: ['rscript'] },
        { required: ['workflow'] },
      ],
      properties: {
        action: ref('actionName'),
        rscript: ref('rscript'),
        workflow: ref('workflowName'),
        input: ref('inputValues'),
        target: ref('expression'),
        output: ref('contextKey'),
        retry: ref('retry'),
        timeoutMs: ref('positiveMs'),
        compensate: ref('compensate'),
        ...transitions,
      },
    },
    rscript: {
      title: 'an rscript step',
      type: 'object',
      additionalProperties: false,
      required: ['agent', 'script'],
      properties: {
        agent: ref('expression'),
        script: {
          type: 'string',
          pattern: '^[^/\\\\]',
          description: "a path relative to the definition's folder",
        },
        args: { type: 'array', items: ref('expression') },
      },
    },
    retry: {
      title: 'a retry policy',
      type: 'object',
      additionalProperties: false,
      required: ['attempts', 'delayMs'],
      properties: {
        attempts: {
          type: 'integer',
          minimum: 1,
          description: 'a whole number of attempts, at least 1',
        },
        delayMs: ref('delay'),
        backoff: {
          type: 'number',
          minimum: 1,
          description: 'a factor of at least 1',
        },
        on: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: ref('errorCode'),
        },
      },
    },
    compensate: {
      title: 'a compensation step',
      type: 'object',
      additionalProperties: false,
      required: ['action'],
      properties: {
        action: ref('actionName'),
        input: ref('inputValues'),
        target: ref('expression'),
      },
    },
    parallelState: {
      title: 'a parallel state',
      type: 'object',
      additionalProperties: false,
      properties: {
        parallel: {
          type: 'object',
          minProperties: 1,
          propertyNames: ref('stateName'),
          additionalProperties: ref('region'),
        },
        wait: { enum: ['all', 'any'] },
        ...transitions,
      },
    },
    region: {
      title: 'a region',
      type: 'object',
      additionalProperties: false,
      required: ['initial', 'states'],
      properties: {
        initial: ref('stateName'),
        states: ref('states'),
      },
    },
    waitState: {
      title: 'a wait state',
      type: 'object',
      additionalProperties: false,
      properties: {
        delayMs: {
          if: { type: 'string' },
          then: ref('expression'),
          else: ref('delay'),
        },
        on: {
          type: 'object',
          minProperties: 1,
          propertyNames: {
            type: 'string',
            pattern: `^${NAME_PART}$`,
            description:
              'an event name (a letter, then letters, digits, _ or -)',
          },
          additionalProperties: {
            if: { type: 'string' },
            then: ref('stateName'),
            else: ref('guardedTransitions'),
          },
        },
        timeoutMs: ref('positiveMs'),
        onTimeout: ref('stateName'),
        ...transitions,
      },
    },
    choiceState: {
      title: 'a choice state',
      type: 'object',
      additionalProperties: false,
      required: ['choose'],
      properties: { choose: ref('guardedTransitions') },
    },
    guardedTransitions: {
      type: 'array',
      minItems: 1,
      items: ref('guardedTransition'),
      description: 'a state name, or a list of {if, next}',
    },
    guardedTransition: {
      title: 'a guarded transition',
      type: 'object',
      additionalProperties: false,
      required: ['next'],
      properties: { if: ref('expression'), next: ref('stateName') },
    },
    finalState: {
      title: 'a final state',
      type: 'object',
      additionalProperties: false,
      properties: {
        final: { const: true },
        result: ref('expression'),
        error: ref('finalError'),
      },
    },
    finalError: {
      title: 'a final error',
      type: 'object',
      additionalProperties: false,
      required: ['code'],
      properties: { code: ref('errorCode'), message: { type: 'string' } },
    },
    delay: {
      type: 'integer',
      minimum: 0,
      description: 'a whole number of milliseconds (0 or more)',
    },
    positiveMs: {
      type: 'integer',
      minimum: 1,
      description: 'a whole number of milliseconds (1 or more)',
    },
  },
} as const;
