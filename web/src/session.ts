// The only thing the console keeps in the browser: the bearer token (a session token
// from signIn, or a pasted API key), in localStorage under `entmoot.token`.

export const TOKEN_STORAGE_KEY = 'entmoot.token';

export type TokenKind = 'session' | 'apiKey';

/** What a pasted or stored token is, by its prefix; null when it is neither. */
export function tokenKind(token: string): TokenKind | null {
  const trimmed = token.trim();
  if (/^ems_\S{8,}$/.test(trimmed)) return 'session';
  if (/^emk_[a-z0-9]+_\S{4,}$/.test(trimmed)) return 'apiKey';
  return null;
}

/** Explains what is wrong with a pasted key, or null when it looks right. */
export function pastedKeyProblem(token: string): string | null {
  const trimmed = token.trim();
  if (trimmed === '') return 'Paste an API key (it starts with emk_).';
  if (trimmed.startsWith('Bearer ')) return 'Paste the key alone, without “Bearer ”.';
  if (tokenKind(trimmed) === null) return 'This is not an Entmoot API key: keys look like emk_<prefix>_<secret>.';
  return null;
}

export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function readToken(store: TokenStore): string | null {
  const token = store.getItem(TOKEN_STORAGE_KEY);
  return token !== null && tokenKind(token) !== null ? token : null;
}

export function writeToken(store: TokenStore, token: string | null): void {
  if (token === null) store.removeItem(TOKEN_STORAGE_KEY);
  else store.setItem(TOKEN_STORAGE_KEY, token.trim());
}
