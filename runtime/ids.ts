import { randomBytes } from 'node:crypto';

export type IdGenerator = () => string;

/**
 * Ids sort by creation time: 9 base-36 characters of milliseconds, a
 * per-millisecond counter, then random characters drawn once per
 * generator, so that two processes never collide.
 */
export function createIdGenerator(now: () => number = Date.now): IdGenerator {
  let lastMs = -1;
  let counter = 0;
  const rand = randomBytes(5).toString('hex');

  return () => {
    const ms = now();
    counter = ms === lastMs ? counter + 1 : 0;
    lastMs = ms;

    const time = ms.toString(36).padStart(9, '0');
    const seq = counter.toString(36).padStart(4, '0');
    return `${time}${seq}${rand}`;
  };
}
