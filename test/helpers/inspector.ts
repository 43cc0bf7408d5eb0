import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Test } from 'tap';

import type { EngineOptions } from '../../runtime/engine.js';
import {
  startInspector,
  type Inspector,
  type InspectorOptions,
} from '../../runtime/inspector/server.js';
import { engineTarget } from '../../runtime/inspector/target.js';
import { testEngine, writeTree, type TestEngine } from './engine.js';

/** Actions for the inspector's tests: quick, slow, logging, rscripts. */
export const INSPECTED_TASKLETS = {
  'rootobject/demo/echo/main.mjs': `
    export function main(ctx) {
      ctx.log.info('echoing', { say: ctx.params.say ?? null });
      return { said: ctx.params.say ?? null };
    }`,
  'rootobject/demo/slow/main.mjs': `
    export function main(ctx) {
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, ctx.params.ms ?? 60000);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }`,
  'actor/hv/ticks/main.mjs': `
    export function main(ctx) {
      return ctx.agents.run('local', '../rscripts/ticks.sh', {
        params: { n: ctx.params.n ?? 5, pause: ctx.params.pause ?? 0.3 },
      });
    }`,
  'actor/hv/remote/main.mjs': `
    export function main(ctx) {
      return ctx.agents.run(ctx.params.agent, '../rscripts/ticks.sh', {
        params: { n: 3, pause: 0.3 },
      });
    }`,
  'actor/hv/rscripts/ticks.sh': `#!/bin/sh
    n=$(echo "$WFE_PARAMS" | sed 's/.*"n":\\([0-9]*\\).*/\\1/')
    pause=$(echo "$WFE_PARAMS" | sed 's/.*"pause":\\([0-9.]*\\).*/\\1/')
    i=1
    while [ "$i" -le "$n" ]; do
      echo "tick $i"
      echo "warn $i" >&2
      sleep "$pause"
      i=$((i + 1))
    done`,
};

/** A workflow that runs a step, waits for approval, then another step. */
export const GATE_WORKFLOW = `
name: gate
version: 1
implements: flow.gate
initial: prepare
states:
  prepare:
    action: demo.echo
    input: { say: "'prepared'" }
    next: approval
  approval:
    on:
      approve: finish
      reject: refused
  finish:
    action: demo.slow
    input: { ms: "300" }
    next: done
  done:
    final: true
    result: "{'ok': true}"
  refused:
    final: true
    error: { code: REFUSED, message: the change was refused }
`;

export interface InspectedEngine extends TestEngine {
  inspector: Inspector;
  base: string;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
}

/** An engine with the test actions and workflow, and its inspector. */
export async function inspectedEngine(
  t: Test,
  options: Partial<InspectorOptions> = {},
  engineOptions: Partial<EngineOptions> = {},
): Promise<InspectedEngine> {
  const workflows = mkdtempSync(join(tmpdir(), 'wfe-inspected-'));
  t.teardown(() => rmSync(workflows, { recursive: true, force: true }));
  writeTree(workflows, { 'gate.yaml': GATE_WORKFLOW });

  const tested = await testEngine(t, INSPECTED_TASKLETS, {
    workflowRoots: [workflows],
    ...engineOptions,
  });
  const inspector = await startInspector({
    target: engineTarget(tested.engine),
    port: 0,
    version: 'test',
    ...options,
  });
  t.teardown(() => inspector.close());

  const base = new URL(inspector.url).origin;
  return {
    ...tested,
    inspector,
    base,
    get: (path, headers = {}) => fetch(base + path, { headers }),
    post: (path, body, headers = {}) =>
      fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }),
  };
}

export interface ServerEvent {
  event: string;
  data: any;
}

/**
 * Reads a server-sent-events stream until `done` says so or the stream
 * ends, and returns every event read.
 */
export async function readEvents(
  url: string,
  done: (events: ServerEvent[]) => boolean,
  timeoutMs = 15_000,
): Promise<ServerEvent[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const events: ServerEvent[] = [];
  try {
    const response = await fetch(url, { signal: abort.signal });
    if (!response.ok || !response.body) {
      throw new Error(`${url}: HTTP ${response.status}`);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseBlock(block);
        if (event) events.push(event);
      }
      if (done(events)) break;
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return events;
}

function parseBlock(block: string): ServerEvent | null {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    if (line.startsWith('data: ')) data += line.slice(6);
  }
  return data === '' ? null : { event, data: JSON.parse(data) };
}
