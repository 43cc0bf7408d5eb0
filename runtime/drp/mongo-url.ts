import { WfeError } from '../errors.js';

/** What the store needs to know of a MongoDB URL before connecting. */
export interface MongoUrl {
  /** The URL with any password masked; safe to log. */
  display: string;
  /** The database named in the path, or 'wfe'. */
  database: string;
}

const SHAPE = /^(mongodb(?:\+srv)?:\/\/)(?:([^@/]*)@)?([^/?]*)(?:\/([^?]*))?/;

/**
 * Reads the parts of a MongoDB connection string that wfe logs and uses.
 * The driver parses it fully when it connects; this catches the shapes
 * that are plainly wrong with an error that says what a URL looks like.
 */
export function parseMongoUrl(url: string): MongoUrl {
  const match = typeof url === 'string' ? SHAPE.exec(url) : null;
  if (!match || !match[3]) {
    throw new WfeError(
      'BAD_CONFIG',
      `not a MongoDB URL: ${JSON.stringify(maskAnyPassword(String(url)))} ` +
        '(expected mongodb://HOST[:PORT][/DATABASE][?OPTIONS])',
    );
  }

  const [, scheme, credentials, hosts, path] = match;
  const user = credentials?.split(':')[0];
  const display =
    scheme + (credentials === undefined ? '' : `${user}:***@`) + hosts;
  let database = 'wfe';
  if (path) {
    try {
      database = decodeURIComponent(path);
    } catch {
      throw new WfeError(
        'BAD_CONFIG',
        `the database name in ${display} is not valid URL encoding`,
      );
    }
  }
  return { display: `${display}/${database}`, database };
}

function maskAnyPassword(text: string): string {
  return text.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
