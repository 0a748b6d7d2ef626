// Administration (admins): invitations with roles, password resets, and the installed
// strategies with their versions (reloadable).
import { useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorBanner, useApi, useLoad } from '../api';
import { execute } from '../client';
import { describeError } from '../errors';
import { roleLabel } from '../format';
import { InviteMemberMutation, ReloadStrategiesMutation, StrategiesQuery } from '../operations';
import type { InviteMemberMutation as InviteData, MemberRole } from '../gql/graphql';

export function Admin() {
  const { client, viewer } = useApi();
  const strategies = useLoad(StrategiesQuery, {});
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<MemberRole>('EDITOR');
  const [invited, setInvited] = useState<InviteData['inviteMember'] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [summary, setSummary] = useState<string | null>(null);

  async function invite(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      const data = await execute(client, InviteMemberMutation, { email, role }, 'mutation');
      setInvited(data.inviteMember);
      setEmail('');
    } catch (error) { setProblem(describeError(error)); }
  }

  async function reload() {
    setProblem(null);
    try {
      const data = await execute(client, ReloadStrategiesMutation, {}, 'mutation');
      setSummary(`${data.reloadStrategies.summary}${data.reloadStrategies.refused.length ? `; refused: ${data.reloadStrategies.refused.map((r) => `${r.path} (${r.reason})`).join(', ')}` : ''}`);
      strategies.reload();
    } catch (error) { setProblem(describeError(error)); }
  }

  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Administration</h1>
      <ErrorBanner message={problem} />
      {viewer.viewer.role !== 'ADMIN' && <p>Only administrators can invite members and reload strategies.</p>}
      <h2>Invite a member</h2>
      <form className="inline" onSubmit={(event) => void invite(event)}>
        <label>E-mail<input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Role
          <select value={role} onChange={(e) => setRole(e.target.value as MemberRole)}>
            <option value="VIEWER">viewer</option><option value="EDITOR">editor</option><option value="ADMIN">admin</option>
          </select>
        </label>
        <button type="submit">Invite</button>
      </form>
      {invited && (
        <p role="status">Invited {invited.email} as {roleLabel(invited.role)} until {new Date(invited.expiresAt).toLocaleString()}.
          {invited.emailed ? ' The invitation was e-mailed.' : <> No e-mail is configured: hand them this one-time token yourself: <code>{invited.token}</code></>}
        </p>
      )}
      <h2>Strategies</h2>
      <button type="button" onClick={() => void reload()}>Reload the plugin directories</button>
      {summary && <p role="status">{summary}</p>}
      <ErrorBanner message={strategies.error} />
      <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Description</th><th scope="col">Authors</th><th scope="col">License</th></tr></thead>
        <tbody>
          {strategies.data?.strategies.map((s) => (
            <tr key={`${s.name}@${s.version}`}><td>{s.name}</td><td>{s.version}</td><td>{s.description}</td><td>{s.authors.join(', ')}</td><td>{s.license ?? '—'}</td></tr>
          ))}
        </tbody>
      </table>
      <p className="hint">Members and API keys are listed and managed with <code>entmoot admin</code> on the server: the API has no query for them yet.</p>
    </section>
  );
}
