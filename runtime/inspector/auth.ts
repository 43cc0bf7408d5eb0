import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import { WfeError } from '../errors.js';

export const TOKEN_COOKIE = 'wfe_inspector';

/** Addresses only this host can reach; anything else needs a token. */
export function isLoopback(host: string): boolean {
  return (
    host === 'localhost' ||
    host === '::1' ||
    host === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/**
 * How a request proves it may look: the token from `Authorization:
 * Bearer`, the cookie the page got, or `?token=` on the first visit.
 */
export function presentedToken(
  request: IncomingMessage,
  url: URL,
): string | null {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();

  const cookie = cookieValue(request.headers.cookie, TOKEN_COOKIE);
  if (cookie !== null) return cookie;
  return url.searchParams.get('token');
}

/** Compares in constant time, so the token cannot be guessed by timing. */
export function tokenMatches(expected: string, given: string | null): boolean {
  if (given === null) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

export function tokenCookie(token: string): string {
  const value = encodeURIComponent(token);
  return `${TOKEN_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/`;
}

/**
 * Refuses requests whose Host names another site. Without it, a page on
 * the web could rebind its name to 127.0.0.1 and read the inspector.
 */
export function checkHost(request: IncomingMessage, allowed: string[]) {
  const host = (request.headers.host ?? '').toLowerCase();
  const name = host.startsWith('[')
    ? host.slice(0, host.indexOf(']') + 1)
    : host.split(':')[0]!;
  if (!allowed.includes(name)) {
    throw new WfeError(
      'FORBIDDEN',
      `the inspector does not answer for host '${host}'`,
    );
  }
}

/** Actions must come from the page itself, as JSON, never a form post. */
export function checkActionRequest(request: IncomingMessage): void {
  const type = request.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    throw new WfeError(
      'UNSUPPORTED_MEDIA_TYPE',
      'actions take a JSON body (Content-Type: application/json)',
    );
  }
  const origin = request.headers.origin;
  if (origin !== undefined && new URL(origin).host !== request.headers.host) {
    throw new WfeError(
      'FORBIDDEN',
      `actions are refused from another origin (${origin})`,
    );
  }
}

function cookieValue(header: string | undefined, name: string) {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}
