/**
 * Sizes shared by the layout and the SVG drawing. Text is measured without
 * a browser, from a generous average glyph width, so that the same graph
 * always gets the same boxes.
 */
export const FONT_FAMILY =
  'system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif';

export const FONT = {
  label: 13,
  detail: 11,
  edge: 11,
  parallel: 12,
  region: 11,
} as const;

/** Room around a state's text, and around a cluster's contents. */
export const PAD = {
  nodeX: 12,
  parallelTop: 30,
  regionTop: 24,
  cluster: 12,
} as const;

export const START_SIZE = 16;
export const LINE_HEIGHT = 16;
export const MIN_NODE_WIDTH = 64;

/** Average glyph width as a share of the font size, on the wide side. */
const GLYPH = 0.62;

export function textWidth(text: string, fontSize: number): number {
  return Math.ceil([...text].length * fontSize * GLYPH);
}
