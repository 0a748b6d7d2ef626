// Map labels that never overprint: each asset offers its full label and a short one;
// labels are placed greedily, biggest assets first, and one that would overlap a label
// already placed (or leave the map) tries its short form and is otherwise left out.

export interface LabelCandidate {
  id: string;
  /** Screen position of the label's centre, pixels. */
  x: number;
  y: number;
  /** Texts to try, longest first. */
  texts: string[];
  /** Higher is placed first (the asset's area on screen, say). */
  priority: number;
}

export interface PlacedLabel {
  id: string;
  text: string;
  /** The label's box on screen: left, top, width, height in pixels. */
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Labels are kept this far apart (pixels), so neighbours stay readable. */
const GAP = 2;
const CELL = 64;

export function placeLabels(
  candidates: LabelCandidate[],
  textWidth: (text: string) => number,
  lineHeight: number,
  viewport: { width: number; height: number },
): PlacedLabel[] {
  const placed: PlacedLabel[] = [];
  // A grid of the boxes placed so far: each test looks at a few cells, not every box.
  const grid = new Map<string, PlacedLabel[]>();
  const cellsOf = (box: PlacedLabel) => {
    const keys: string[] = [];
    for (let cx = Math.floor(box.left / CELL); cx <= Math.floor((box.left + box.width) / CELL); cx += 1) {
      for (let cy = Math.floor(box.top / CELL); cy <= Math.floor((box.top + box.height) / CELL); cy += 1) keys.push(`${cx}:${cy}`);
    }
    return keys;
  };
  const overlaps = (a: PlacedLabel, b: PlacedLabel) =>
    a.left < b.left + b.width + GAP && b.left < a.left + a.width + GAP
    && a.top < b.top + b.height + GAP && b.top < a.top + a.height + GAP;
  const ordered = [...candidates].sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  for (const candidate of ordered) {
    for (const text of candidate.texts) {
      const width = textWidth(text);
      const box: PlacedLabel = { id: candidate.id, text, left: candidate.x - width / 2, top: candidate.y - lineHeight / 2, width, height: lineHeight };
      const inside = box.left >= 0 && box.top >= 0 && box.left + width <= viewport.width && box.top + lineHeight <= viewport.height;
      if (!inside) continue;
      const keys = cellsOf(box);
      if (keys.some((key) => (grid.get(key) ?? []).some((other) => overlaps(box, other)))) continue;
      placed.push(box);
      for (const key of keys) grid.set(key, [...(grid.get(key) ?? []), box]);
      break;
    }
  }
  return placed;
}

/** The texts an asset offers: its name (numbered when several assets share it) and a
 * short form of initials and number ("Warehouse 3" → "W3"). */
export function assetLabelTexts(name: string, assetId: string, nameIsShared: boolean): string[] {
  const number = /-(\d+)$/.exec(assetId)?.[1] ?? '';
  const full = nameIsShared && number !== '' ? `${name} ${number}` : name;
  const initials = name.split(/\s+/).filter((word) => word.length > 0).map((word) => word[0]?.toUpperCase() ?? '').join('').slice(0, 3);
  const short = `${initials}${number}`;
  return short !== '' && short !== full ? [full, short] : [full];
}
