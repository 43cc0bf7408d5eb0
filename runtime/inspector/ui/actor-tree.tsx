// The supervision tree of actors as an indented, collapsible table.
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';

import { formatAgo, formatTime } from './format.js';
import { jobHash } from './router.js';
import type { ActorNode, MailboxView } from './types.js';

// Single jobs and workflows start folded: there can be many of them and
// their inner actors matter only when one is being looked at.
const FOLDED_KINDS = new Set(['job', 'workflow', 'agent-proxy']);
const MAILBOX_WARN = 0.8;

interface Props {
  root: ActorNode | null | undefined;
  now: number;
}

export function ActorTree({ root, now }: Props) {
  const [open, setOpen] = useState<Record<string, boolean>>({});
  if (!root) return <p class="muted">no actors reported</p>;

  const toggle = (key: string, isOpen: boolean) =>
    setOpen((prev) => ({ ...prev, [key]: !isOpen }));
  const rows: VNode[] = [];
  const walk = (node: ActorNode, depth: number, key: string) => {
    const children = Array.isArray(node.children) ? node.children : [];
    const more = node.more > 0 ? node.more : 0;
    const hasChildren = children.length > 0 || more > 0;
    const isOpen = open[key] ?? !FOLDED_KINDS.has(node.kind);
    rows.push(
      <ActorRow
        key={key}
        node={node}
        depth={depth}
        now={now}
        toggle={hasChildren ? () => toggle(key, isOpen) : undefined}
        isOpen={isOpen}
      />,
    );
    if (!hasChildren || !isOpen) return;

    children.forEach((child, i) =>
      walk(child, depth + 1, `${key}/${child.id ?? i}`),
    );
    if (more > 0) {
      rows.push(
        <tr key={`${key}/+more`} class="more-row">
          <td style={{ paddingLeft: `${(depth + 1) * 16 + 22}px` }} colSpan={6}>
            +{more} more
          </td>
        </tr>,
      );
    }
  };
  walk(root, 0, root.id ?? 'root');

  return (
    <table class="grid actor-tree">
      <thead>
        <tr>
          <th>actor</th>
          <th>kind</th>
          <th>state</th>
          <th>mailbox</th>
          <th class="num">restarts</th>
          <th>last error</th>
        </tr>
      </thead>
      <tbody>{rows}</tbody>
    </table>
  );
}

interface RowProps {
  node: ActorNode;
  depth: number;
  now: number;
  isOpen: boolean;
  toggle: (() => void) | undefined;
}

function ActorRow({ node, depth, now, isOpen, toggle }: RowProps) {
  const error = node.lastError;
  return (
    <tr data-actor-id={node.id}>
      <td class="actor-id" style={{ paddingLeft: `${depth * 16 + 4}px` }}>
        {toggle ? (
          <button
            type="button"
            class="toggle"
            aria-expanded={isOpen}
            aria-label={isOpen ? 'fold' : 'unfold'}
            onClick={toggle}
          >
            {isOpen ? '▾' : '▸'}
          </button>
        ) : (
          <span class="toggle" />
        )}
        {node.jobId ? <a href={jobHash(node.jobId)}>{node.id}</a> : node.id}
      </td>
      <td class="muted">{node.kind}</td>
      <td data-field="state">
        <span class={`actor-state state-${node.state}`}>{node.state}</span>
      </td>
      <td data-field="mailbox">
        <MailboxBar mailbox={node.mailbox} />
      </td>
      <td class={`num ${node.restarts > 0 ? 'warn-text' : ''}`}>
        {node.restarts ?? 0}
      </td>
      <td class="actor-error">
        {error && (
          <span title={formatTime(error.at)}>
            <code class="err-text">{error.code}</code> {error.message}{' '}
            <span class="muted">({formatAgo(error.at, now)})</span>
          </span>
        )}
      </td>
    </tr>
  );
}

function MailboxBar({ mailbox }: { mailbox: MailboxView | null }) {
  if (!mailbox) return <span class="muted">—</span>;

  const capacity = mailbox.capacity > 0 ? mailbox.capacity : 0;
  const fill = capacity ? Math.min(1, mailbox.depth / capacity) : 0;
  const title =
    `${mailbox.name}: high water ${mailbox.highWater}, ` +
    `overflow ${mailbox.overflow}, rejected ${mailbox.rejected}`;
  return (
    <span class={`mailbox ${fill > MAILBOX_WARN ? 'warn' : ''}`} title={title}>
      <span class="bar">
        <i style={{ width: `${(fill * 100).toFixed(1)}%` }} />
      </span>
      <span class="num">
        {mailbox.depth}/{capacity || '∞'}
      </span>
    </span>
  );
}
