// What a job's live progress shows, folded from jobProgress events: the newest event
// wins, and nothing moves a job back from a terminal status.

export interface ProgressEvent {
  status: string;
  stage?: string | null;
  percent: number;
  bestObjective?: number | null;
  elapsedSeconds: number;
  message?: string | null;
  at: string;
}

export const TERMINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export function isTerminal(status: string): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function foldProgress(current: ProgressEvent | null, event: ProgressEvent): ProgressEvent {
  if (current !== null && isTerminal(current.status)) return current;
  if (current !== null && event.at < current.at && !isTerminal(event.status)) return current;
  return event;
}

/** "running — routing roads, 42 %" and the like. */
export function describeProgress(event: ProgressEvent): string {
  const parts = [event.status];
  if (event.stage) parts.push(event.stage);
  return `${parts.join(' — ')}, ${Math.round(event.percent)} %`;
}
