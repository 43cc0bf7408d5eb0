// The job's subtree: every job below it, nested by parentId.
import type { VNode } from 'preact';

import { jobDuration, shortId } from './format.js';
import { jobHash } from './router.js';
import { StatusBadge } from './status-badge.js';
import type { JobRecord } from './types.js';

interface Props {
  rootId: string;
  tree: JobRecord[];
  now: number;
}

export function JobTree({ rootId, tree, now }: Props) {
  const jobs = Array.isArray(tree) ? tree.filter((j) => j && j.id) : [];
  const ids = new Set(jobs.map((j) => j.id));
  const byParent = new Map<string, JobRecord[]>();
  for (const job of jobs) {
    if (job.id === rootId) continue;
    // A job whose parent is missing from the list hangs under the root.
    const parent =
      job.parentId && ids.has(job.parentId) ? job.parentId : rootId;
    byParent.set(parent, [...(byParent.get(parent) ?? []), job]);
  }

  const rows: VNode[] = [];
  const walk = (job: JobRecord, depth: number, path: Set<string>) => {
    rows.push(
      <TreeRow
        key={job.id}
        job={job}
        depth={depth}
        current={job.id === rootId}
        now={now}
      />,
    );
    for (const child of byParent.get(job.id) ?? []) {
      // Guard against a cycle in bad data rather than loop forever.
      if (path.has(child.id)) continue;
      walk(child, depth + 1, new Set([...path, child.id]));
    }
  };
  const root = jobs.find((j) => j.id === rootId);
  if (!root) return <p class="muted">no subtree</p>;
  walk(root, 0, new Set([rootId]));

  return (
    <table class="grid job-tree" data-testid="job-tree">
      <tbody>{rows}</tbody>
    </table>
  );
}

interface RowProps {
  job: JobRecord;
  depth: number;
  current: boolean;
  now: number;
}

function TreeRow({ job, depth, current, now }: RowProps) {
  return (
    <tr data-tree-job-id={job.id} class={current ? 'current' : ''}>
      <td class="mono" style={{ paddingLeft: `${depth * 16 + 4}px` }}>
        {current ? (
          shortId(job.id)
        ) : (
          <a href={jobHash(job.id)} title={job.id}>
            {shortId(job.id)}
          </a>
        )}
      </td>
      <td>{job.action}</td>
      <td class="muted">{job.target ?? ''}</td>
      <td data-field="status">
        <StatusBadge status={job.status} />
      </td>
      <td class="num">{jobDuration(job, now)}</td>
    </tr>
  );
}
