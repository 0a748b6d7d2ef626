// Sign in with e-mail and password (a session), or by pasting an API key.
import { useState } from 'react';
import type { FormEvent } from 'react';
import type { ConsoleConfig } from '../config';
import { createApiClient, execute } from '../client';
import { SignInMutation } from '../operations';
import { describeError } from '../errors';
import { pastedKeyProblem } from '../session';

export function SignIn({ config, onSignedIn, notice }: {
  config: ConsoleConfig;
  onSignedIn: (token: string) => void;
  notice: string | null;
}) {
  const [mode, setMode] = useState<'password' | 'key'>('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [organization, setOrganization] = useState('');
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState<string | null>(notice);
  const [busy, setBusy] = useState(false);

  async function submitPassword(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    const api = createApiClient(config, null);
    try {
      const data = await execute(api.urql, SignInMutation, {
        email, password, organization: organization.trim() === '' ? null : organization.trim(),
      }, 'mutation');
      onSignedIn(data.signIn.token);
    } catch (error) {
      setProblem(describeError(error));
    } finally {
      api.dispose();
      setBusy(false);
    }
  }

  function submitKey(event: FormEvent) {
    event.preventDefault();
    const keyProblem = pastedKeyProblem(key);
    if (keyProblem !== null) { setProblem(keyProblem); return; }
    onSignedIn(key.trim());
  }

  return (
    <main className="centred sign-in">
      <h1>Sign in to Entmoot</h1>
      <div role="group" aria-label="How to sign in" className="tabs">
        <button type="button" aria-pressed={mode === 'password'} onClick={() => setMode('password')}>E-mail and password</button>
        <button type="button" aria-pressed={mode === 'key'} onClick={() => setMode('key')}>API key</button>
      </div>
      {problem && <p className="error" role="alert">{problem}</p>}
      {mode === 'password' ? (
        <form onSubmit={(event) => void submitPassword(event)}>
          <label>E-mail<input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
          <label>Password<input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} /></label>
          <label>Organization (optional slug)<input value={organization} onChange={(e) => setOrganization(e.target.value)} /></label>
          <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        </form>
      ) : (
        <form onSubmit={submitKey}>
          <label>API key<input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} placeholder="emk_…" /></label>
          <p className="hint">The key is kept in this browser's local storage until you sign out.</p>
          <button type="submit">Use this key</button>
        </form>
      )}
    </main>
  );
}
