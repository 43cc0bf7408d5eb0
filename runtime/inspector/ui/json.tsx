// Pretty JSON with keys, strings and literals told apart by colour.
import type { ComponentChildren } from 'preact';

const TOKEN =
  /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

export function Json({
  value,
  empty = 'none',
}: {
  value: unknown;
  empty?: string;
}) {
  if (value === undefined) return <p class="muted">{empty}</p>;

  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    text = String(value);
  }

  return <pre class="json">{highlight(text)}</pre>;
}

function highlight(text: string): ComponentChildren[] {
  const parts: ComponentChildren[] = [];
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    const at = match.index ?? 0;
    if (at > last) parts.push(text.slice(last, at));

    const [whole, string, colon, literal] = match;
    const kind = string ? (colon ? 'key' : 'str') : literal ? 'lit' : 'num';
    parts.push(<span class={`j-${kind}`}>{string ?? whole}</span>);
    if (colon) parts.push(colon);
    last = at + whole.length;
  }
  parts.push(text.slice(last));
  return parts;
}
