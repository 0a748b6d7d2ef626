// Errors in plain words: the API's messages with their `extensions.code`, transport
// failures named as such, and validation messages attached to the field they concern.
import type { CombinedError } from '@urql/core';

export interface ApiProblem {
  message: string;
  code: string | null;
  /** The validator's violations, for saveLayoutEdits refusals. */
  violations: unknown[];
  /** The input the error concerns when the API names it (`extensions.field`, e.g. `crs`). */
  field: string | null;
}

function codeOf(extensions: Record<string, unknown> | undefined): string | null {
  const code = extensions?.code;
  return typeof code === 'string' ? code : null;
}

/** Every problem an operation reported, network failures included. */
export function problemsOf(error: CombinedError): ApiProblem[] {
  const problems: ApiProblem[] = error.graphQLErrors.map((graphQLError) => {
    const violations = graphQLError.extensions?.violations;
    const field = graphQLError.extensions?.field;
    return {
      message: graphQLError.message,
      code: codeOf(graphQLError.extensions),
      violations: Array.isArray(violations) ? violations : [],
      field: typeof field === 'string' ? field : null,
    };
  });
  if (error.networkError) {
    problems.push({
      message: `The API could not be reached or answered badly: ${error.networkError.message}`,
      code: null,
      violations: [],
      field: null,
    });
  }
  if (problems.length === 0) problems.push({ message: error.message, code: null, violations: [], field: null });
  return problems;
}

/** One line for a banner: "message (CODE)". */
export function describeProblem(problem: ApiProblem): string {
  return problem.code === null ? problem.message : `${problem.message} (${problem.code})`;
}

export function describeError(error: unknown): string {
  if (isCombinedError(error)) return problemsOf(error).map(describeProblem).join('; ');
  if (error instanceof Error) return error.message;
  return String(error);
}

export function isCombinedError(error: unknown): error is CombinedError {
  return typeof error === 'object' && error !== null && 'graphQLErrors' in error && 'name' in error
    && (error as { name: unknown }).name === 'CombinedError';
}

/**
 * Which program field a validation message concerns. The API reports program errors
 * as text only (no path in `extensions`), so the field is read from the words the
 * validator uses: `assets[2]`, `setback`, `max_coverage`, … Returns `form` when no
 * field is named.
 */
export function programFieldOf(message: string): string {
  const asset = /assets?\[(\d+)\](?:\.(\w+))?/.exec(message);
  if (asset) return asset[2] ? `assets.${asset[1]}.${asset[2]}` : `assets.${asset[1]}`;
  const known = ['side_setbacks', 'spacing_overrides', 'min_spacing', 'max_coverage', 'setback', 'units',
    'alternatives', 'timeLimitSeconds', 'seed', 'parameters', 'strategy', 'objectiveWeights'];
  for (const field of known) {
    if (new RegExp(`\\b${field}\\b`).test(message)) return field;
  }
  return 'form';
}
