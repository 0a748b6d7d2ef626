// Projects: list with search and order, create, rename, describe, delete.
import { useState } from 'react';
import type { FormEvent } from 'react';
import { ErrorBanner, useApi, useLoad } from '../api';
import { execute } from '../client';
import { describeError } from '../errors';
import { CreateProjectMutation, DeleteProjectMutation, ProjectsQuery, UpdateProjectMutation } from '../operations';
import type { ProjectOrderInput } from '../gql/graphql';
import { navigate } from '../router';

export function Projects() {
  const { client } = useApi();
  const [search, setSearch] = useState('');
  const [order, setOrder] = useState<ProjectOrderInput>('NEWEST_FIRST');
  const projects = useLoad(ProjectsQuery, {
    first: 100, filter: search.trim() === '' ? null : { nameContains: search.trim() }, order,
  });
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [editing, setEditing] = useState<{ id: string; name: string; description: string } | null>(null);

  async function run(action: () => Promise<unknown>) {
    setProblem(null);
    try { await action(); projects.reload(); } catch (error) { setProblem(describeError(error)); }
  }

  function create(event: FormEvent) {
    event.preventDefault();
    void run(async () => {
      const data = await execute(client, CreateProjectMutation, {
        input: { name, description: description.trim() === '' ? null : description },
      }, 'mutation');
      setName(''); setDescription('');
      navigate({ screen: 'project', projectId: data.createProject.id });
    });
  }

  return (
    <section aria-labelledby="projects-title">
      <h1 id="projects-title">Projects</h1>
      <form className="inline" onSubmit={create} aria-label="New project">
        <label>Name<input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Description<input value={description} onChange={(e) => setDescription(e.target.value)} /></label>
        <button type="submit">Create project</button>
      </form>
      <ErrorBanner message={problem ?? projects.error} />
      <div className="inline">
        <label>Search<input type="search" value={search} onChange={(e) => setSearch(e.target.value)} /></label>
        <label>Order
          <select value={order} onChange={(e) => setOrder(e.target.value as ProjectOrderInput)}>
            <option value="NEWEST_FIRST">Newest first</option>
            <option value="OLDEST_FIRST">Oldest first</option>
          </select>
        </label>
      </div>
      {projects.loading && !projects.data && <p role="status">Loading projects…</p>}
      {projects.data && projects.data.projects.edges.length === 0 && <p>No project yet: create one above.</p>}
      <ul className="cards">
        {projects.data?.projects.edges.map(({ node }) => (
          <li key={node.id} className="card">
            {editing?.id === node.id ? (
              <form onSubmit={(event) => {
                event.preventDefault();
                void run(async () => {
                  await execute(client, UpdateProjectMutation, { id: node.id, input: { name: editing.name, description: editing.description } }, 'mutation');
                  setEditing(null);
                });
              }}>
                <label>Name<input required value={editing.name} onChange={(e) => setEditing({ ...editing, name: e.target.value })} /></label>
                <label>Description<input value={editing.description} onChange={(e) => setEditing({ ...editing, description: e.target.value })} /></label>
                <button type="submit">Save</button>
                <button type="button" onClick={() => setEditing(null)}>Cancel</button>
              </form>
            ) : (
              <>
                <h2><a href={`/projects/${node.id}`} onClick={(event) => { event.preventDefault(); navigate({ screen: 'project', projectId: node.id }); }}>{node.name}</a></h2>
                {node.description && <p>{node.description}</p>}
                <p className="hint">{node.sites.edges.length}{node.sites.pageInfo.hasNextPage ? '+' : ''} site{node.sites.edges.length === 1 ? '' : 's'} · created {new Date(node.createdAt).toLocaleString()}</p>
                <button type="button" onClick={() => setEditing({ id: node.id, name: node.name, description: node.description ?? '' })}>Rename or describe</button>
                <button type="button" className="danger" onClick={() => {
                  if (!window.confirm(`Delete the project “${node.name}” with its sites, jobs, layouts and files?`)) return;
                  void run(() => execute(client, DeleteProjectMutation, { id: node.id }, 'mutation'));
                }}>Delete</button>
              </>
            )}
          </li>
        ))}
      </ul>
      {projects.data?.projects.pageInfo.hasNextPage && <p className="hint">Showing the first 100 projects: narrow the search to find others.</p>}
    </section>
  );
}
