// Administration (admins): members (their role changed, removed) and invitations with
// roles, API keys (created with their token shown once, revoked), and the installed
// strategies with their versions (reloadable).
import { useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorBanner, useApi, useLoad } from '../api';
import { execute } from '../client';
import { describeError } from '../errors';
import { roleLabel } from '../format';
import {
  ChangeMemberRoleMutation, CreateApiKeyMutation, InviteMemberMutation, RemoveMemberMutation, MembersAndKeysQuery, ReloadStrategiesMutation, RevokeApiKeyMutation,
  StrategiesQuery,
} from '../operations';
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
      {viewer.viewer.role === 'ADMIN' && <MembersAndKeys />}
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
    </section>
  );
}

/** The organization's members and API keys (admins only: the API refuses anyone else). */
function MembersAndKeys() {
  const { client } = useApi();
  const loaded = useLoad(MembersAndKeysQuery, {});
  const [name, setName] = useState('');
  const [role, setRole] = useState<MemberRole>('EDITOR');
  const [token, setToken] = useState<{ name: string; token: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      const data = await execute(client, CreateApiKeyMutation, { name, role }, 'mutation');
      setToken({ name: data.createApiKey.key.name, token: data.createApiKey.token });
      setName('');
      loaded.reload();
    } catch (error) { setProblem(describeError(error)); }
  }

  async function changeRole(userId: string, email: string, newRole: MemberRole) {
    setProblem(null);
    try {
      await execute(client, ChangeMemberRoleMutation, { userId, role: newRole }, 'mutation');
      setNotice(`${email} is now ${roleLabel(newRole)}.`);
    } catch (error) { setProblem(describeError(error)); }
    // Reloaded either way: a refused change puts the select back to the stored role.
    loaded.reload();
  }

  async function remove(userId: string, email: string) {
    if (!window.confirm(`Remove ${email} from the organization? Their sessions and keys stop working here at once.`)) return;
    setProblem(null);
    try {
      await execute(client, RemoveMemberMutation, { userId }, 'mutation');
      setNotice(`${email} was removed.`);
      loaded.reload();
    } catch (error) { setProblem(describeError(error)); }
  }

  async function revoke(id: string, keyName: string) {
    if (!window.confirm(`Revoke the key “${keyName}”? Anything using it stops working at once.`)) return;
    setProblem(null);
    try {
      await execute(client, RevokeApiKeyMutation, { id }, 'mutation');
      loaded.reload();
    } catch (error) { setProblem(describeError(error)); }
  }

  const when = (value: unknown) => (typeof value === 'string' ? new Date(value).toLocaleString() : '—');
  return (
    <>
      <ErrorBanner message={loaded.error ?? problem} />
      <h2>Members</h2>
      {notice && <p role="status">{notice}</p>}
      <table aria-label="Members">
        <thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Joined</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {loaded.data?.members.map((member) => (
            <tr key={member.user.id}>
              <td>{member.user.displayName}</td><td>{member.user.email}</td>
              <td>
                <select aria-label={`Role of ${member.user.email}`} value={member.role}
                  onChange={(e) => void changeRole(member.user.id, member.user.email, e.target.value as MemberRole)}>
                  <option value="VIEWER">viewer</option><option value="EDITOR">editor</option><option value="ADMIN">admin</option>
                </select>
              </td>
              <td>{when(member.joinedAt)}</td>
              <td><button type="button" onClick={() => void remove(member.user.id, member.user.email)}>Remove {member.user.email}</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>API keys</h2>
      <form className="inline" onSubmit={(event) => void create(event)}>
        <label>Key name<input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Key role
          <select value={role} onChange={(e) => setRole(e.target.value as MemberRole)}>
            <option value="VIEWER">viewer</option><option value="EDITOR">editor</option><option value="ADMIN">admin</option>
          </select>
        </label>
        <button type="submit">Create a key</button>
      </form>
      {token && (
        <p role="status">Key “{token.name}” created. Copy its token now, it is not shown again: <code>{token.token}</code></p>
      )}
      <table aria-label="API keys">
        <thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Role</th><th scope="col">Last used</th><th scope="col">Revoked</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {loaded.data?.apiKeys.map((key) => (
            <tr key={key.id}>
              <td>{key.name}</td><td><code>{key.prefix}</code></td><td>{roleLabel(key.role)}</td><td>{when(key.lastUsedAt)}</td><td>{when(key.revokedAt)}</td>
              <td>{key.revokedAt ? null : <button type="button" onClick={() => void revoke(key.id, key.name)}>Revoke {key.name}</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
