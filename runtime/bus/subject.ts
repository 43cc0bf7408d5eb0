/**
 * NATS subject matching: tokens split on `.`, `*` matches one token and
 * a final `>` matches one or more.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const have = subject.split('.');

  for (let i = 0; i < want.length; i++) {
    const token = want[i];
    if (token === '>') return have.length > i;
    if (i >= have.length) return false;
    if (token !== '*' && token !== have[i]) return false;
  }
  return want.length === have.length;
}

export function hasWildcard(subject: string): boolean {
  return subject.split('.').some((token) => token === '*' || token === '>');
}

/** A subject is non-empty tokens of printable characters without spaces. */
export function isValidSubject(subject: string): boolean {
  return (
    subject.length > 0 &&
    subject.split('.').every((token) => /^[!-~]+$/.test(token))
  );
}
