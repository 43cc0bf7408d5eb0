// Hash routing: the page never reloads, and the hash carries the page and
// the jobs filters so a reload or a shared link lands on the same view.
import { useEffect, useState } from 'preact/hooks';

export interface JobFilters {
  status: string;
  action: string;
  /** `t:<epochMs>` for the time filter, or a job id cursor. */
  before: string;
}

export type Route =
  | { page: 'system' }
  | { page: 'jobs'; filters: JobFilters }
  | { page: 'job'; id: string }
  | { page: 'unknown'; hash: string };

export function parseHash(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?', 2);
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return { page: 'system' };

  if (parts[0] !== 'jobs') return { page: 'unknown', hash };

  if (parts.length === 1) {
    const params = new URLSearchParams(query);
    return {
      page: 'jobs',
      filters: {
        status: params.get('status') ?? '',
        action: params.get('action') ?? '',
        before: params.get('before') ?? '',
      },
    };
  }

  if (parts.length === 2) {
    return { page: 'job', id: decodeURIComponent(parts[1] ?? '') };
  }

  return { page: 'unknown', hash };
}

export function jobsHash(filters: JobFilters): string {
  const params = new URLSearchParams();
  if (filters.status) params.set('status', filters.status);
  if (filters.action) params.set('action', filters.action);
  if (filters.before) params.set('before', filters.before);
  const query = params.toString();
  return query ? `#/jobs?${query}` : '#/jobs';
}

export function jobHash(id: string): string {
  return `#/jobs/${encodeURIComponent(id)}`;
}

export function navigate(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

/** The current route, updated on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));

  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);

  return route;
}
