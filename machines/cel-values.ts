/**
 * Values into and out of CEL. Workflow data is JSON; CEL has ints
 * (BigInt here), doubles, maps and lists, and a few types JSON lacks.
 */
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';

/**
 * JSON into CEL. Whole numbers become CEL ints, so that `ctx.count + 1`
 * works (CEL adds no int to a double); other numbers stay doubles.
 * Keys whose value is undefined are left out, as JSON would.
 */
export function toCel(value: unknown): unknown {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map(toCel);
  if (isPlainObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) result[key] = toCel(item);
    }
    return result;
  }
  return value;
}

/**
 * A CEL result as JSON, or the reason it has none: a string naming what
 * was found, for the caller to put in its error.
 */
export function fromCel(
  value: unknown,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: convert(value) };
  } catch (err) {
    if (err instanceof NotJson) return { ok: false, reason: err.message };
    throw err;
  }
}

class NotJson extends Error {}

function convert(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'bigint':
      return safeNumber(value);
    case 'number':
      if (!Number.isFinite(value)) throw new NotJson(`${value} is not JSON`);
      return value;
  }

  if (value === null) return null;
  if (value instanceof UnsignedInt) return safeNumber(value.value);
  if (Array.isArray(value)) return value.map(convert);
  if (value instanceof Map) {
    return Object.fromEntries(
      [...value].map(([key, item]) => [String(key), convert(item)]),
    );
  }
  if (value instanceof Date) return value.toISOString();
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, convert(item)]),
    );
  }

  const kind = value instanceof Uint8Array ? 'bytes' : describeObject(value);
  throw new NotJson(`a ${kind} value is not JSON`);
}

function safeNumber(value: bigint): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) {
    throw new NotJson(`${value} is too large for a JSON number`);
  }
  return number;
}

function describeObject(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value;
  return Object.prototype.toString.call(value).slice(8, -1);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
