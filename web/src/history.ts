// The layout editor's edit list with undo and redo: the list is what checkLayoutEdits
// and saveLayoutEdits receive, in order.

export type EditKind = 'MOVE' | 'ROTATE' | 'REMOVE' | 'ADD';

export interface LayoutEdit {
  kind: EditKind;
  assetId: string;
  position?: [number, number];
  rotationDeg?: number;
}

export interface EditHistory {
  done: LayoutEdit[];
  undone: LayoutEdit[];
}

export const EMPTY_HISTORY: EditHistory = { done: [], undone: [] };

/** Adds an edit; a new edit clears what could be redone. Consecutive moves of one
 * asset stay separate steps so each can be undone. */
export function pushEdit(history: EditHistory, edit: LayoutEdit): EditHistory {
  return { done: [...history.done, edit], undone: [] };
}

export function undo(history: EditHistory): EditHistory {
  const last = history.done.at(-1);
  if (last === undefined) return history;
  return { done: history.done.slice(0, -1), undone: [last, ...history.undone] };
}

export function redo(history: EditHistory): EditHistory {
  const [next, ...rest] = history.undone;
  if (next === undefined) return history;
  return { done: [...history.done, next], undone: rest };
}

/** The edit list in the API's input shape. */
export function editsInput(history: EditHistory): LayoutEdit[] {
  return history.done.map((edit) => ({ ...edit }));
}

/** Asset ids the edits take out (REMOVE not followed by ADD of the same id). */
export function removedAssets(history: EditHistory): Set<string> {
  const removed = new Set<string>();
  for (const edit of history.done) {
    if (edit.kind === 'REMOVE') removed.add(edit.assetId);
    if (edit.kind === 'ADD') removed.delete(edit.assetId);
  }
  return removed;
}
