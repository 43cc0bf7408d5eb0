/**
 * A strict reader for the XML that the SVG tests check: enough of XML to
 * prove a document well-formed, no more.
 */
export interface Element {
  name: string;
  attributes: Record<string, string>;
  children: Element[];
  text: string;
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
const TOKEN = /<[^<>]*>|[^<>]+/g;
const OPEN =
  /^<([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<>]*")*)\s*(\/?)>$/;
const ATTRIBUTE = /([A-Za-z_:][\w:.-]*)="([^"]*)"/g;

function decode(text: string): string {
  const named: Record<string, string> = {
    amp: '&',
    lt: '<',
    gt: '>',
    quot: '"',
    apos: "'",
  };
  return text.replace(ENTITY, (entity) => {
    const body = entity.slice(1, -1);
    if (body.startsWith('#x')) {
      return String.fromCodePoint(parseInt(body.slice(2), 16));
    }
    if (body.startsWith('#')) {
      return String.fromCodePoint(Number(body.slice(1)));
    }
    return named[body]!;
  });
}

/**
 * A strict parser for the XML subset an SVG of ours may use: elements,
 * double-quoted attributes, text, the five entities and character
 * references. Anything else (a stray `<` or `&`, a tag left open, two
 * roots) throws.
 */
export function parseXml(source: string): Element {
  const tokens = source.trim().match(TOKEN) ?? [];
  if (tokens.join('') !== source.trim()) throw new Error('stray < or >');

  const root: Element = {
    name: '#root',
    attributes: {},
    children: [],
    text: '',
  };
  const stack = [root];
  for (const token of tokens) {
    const top = stack.at(-1)!;
    if (!token.startsWith('<')) {
      if (token.replace(ENTITY, '').includes('&'))
        throw new Error(`bare & in ${token}`);
      top.text += decode(token);
      continue;
    }
    const close = /^<\/([A-Za-z][\w:.-]*)>$/.exec(token);
    if (close) {
      if (stack.length < 2 || top.name !== close[1])
        throw new Error(`unexpected ${token}`);
      stack.pop();
      continue;
    }
    const open = OPEN.exec(token);
    if (!open) throw new Error(`malformed tag ${token}`);
    const attributes: Record<string, string> = {};
    for (const [, name, value] of open[2]!.matchAll(ATTRIBUTE)) {
      if (name! in attributes) throw new Error(`repeated ${name} in ${token}`);
      if (value!.replace(ENTITY, '').includes('&'))
        throw new Error(`bare & in ${token}`);
      attributes[name!] = decode(value!);
    }
    const element: Element = {
      name: open[1]!,
      attributes,
      children: [],
      text: '',
    };
    top.children.push(element);
    if (open[3] !== '/') stack.push(element);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (root.children.length !== 1 || root.text.trim() !== '')
    throw new Error('not one root');
  return root.children[0]!;
}

/** The element and everything inside it, in document order. */
export function all(element: Element): Element[] {
  return [element, ...element.children.flatMap(all)];
}
