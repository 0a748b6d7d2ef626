/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Viewer {\n    apiVersion\n    viewer {\n      user { id email displayName }\n      organizationId\n      role\n      apiKey\n      memberships { organizationId organizationName organizationSlug role }\n    }\n  }\n": typeof types.ViewerDocument,
    "\n  mutation SignIn($email: String!, $password: String!, $organization: String) {\n    signIn(email: $email, password: $password, organization: $organization) {\n      token\n      role\n      organizationId\n      user { id email displayName }\n    }\n  }\n": typeof types.SignInDocument,
    "\n  mutation SignOut { signOut }\n": typeof types.SignOutDocument,
    "\n  query Projects($first: Int, $after: String, $filter: ProjectFilterInput, $order: ProjectOrderInput) {\n    projects(first: $first, after: $after, filter: $filter, order: $order) {\n      edges { node { id name description createdAt updatedAt sites { id name } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.ProjectsDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) { id name }\n  }\n": typeof types.CreateProjectDocument,
    "\n  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {\n    updateProject(id: $id, input: $input) { id name description }\n  }\n": typeof types.UpdateProjectDocument,
    "\n  mutation DeleteProject($id: ID!) { deleteProject(id: $id) }\n": typeof types.DeleteProjectDocument,
    "\n  query Project($id: ID!) {\n    project(id: $id) {\n      id name description\n      sites { id name areaM2 createdAt latestLayout { id placedCount requestedCount } }\n    }\n  }\n": typeof types.ProjectDocument,
    "\n  mutation UploadParcel($projectId: ID!, $file: Upload!) {\n    uploadParcel(projectId: $projectId, file: $file) {\n      file { id filename sizeBytes }\n      format boundary boundaryReason boundaryLocation sourceCrs repairs\n      exclusionCandidates { name location suggestedKind polygon }\n    }\n  }\n": typeof types.UploadParcelDocument,
    "\n  mutation CreateSite($input: CreateSiteInput!) {\n    createSite(input: $input) { id name }\n  }\n": typeof types.CreateSiteDocument,
    "\n  query Site($id: ID!) {\n    node(id: $id) {\n      __typename\n      ... on Site {\n        id name areaM2 bbox boundary setbackMetres entrances\n        project { id name }\n        exclusionZones { kind bufferM name geometry }\n        jobs(first: 20) {\n          edges { node { id status progress strategy createdAt finishedAt error alternatives } }\n        }\n      }\n    }\n  }\n": typeof types.SiteDocument,
    "\n  query BuildableArea($id: ID!, $setbackMetres: Float!) {\n    node(id: $id) {\n      __typename\n      ... on Site { id buildableArea(setbackMetres: $setbackMetres) { areaM2 geometry } }\n    }\n  }\n": typeof types.BuildableAreaDocument,
    "\n  query Strategies {\n    strategies { name version description authors license capabilities parametersSchema }\n  }\n": typeof types.StrategiesDocument,
    "\n  mutation CreateJob($input: CreateJobInput!) {\n    createJob(input: $input) { id status }\n  }\n": typeof types.CreateJobDocument,
    "\n  mutation CancelJob($id: ID!) { cancelJob(id: $id) { id status cancelRequested } }\n": typeof types.CancelJobDocument,
    "\n  mutation RetryJob($id: ID!) { retryJob(id: $id) { id status } }\n": typeof types.RetryJobDocument,
    "\n  query Job($id: ID!) {\n    job(id: $id) {\n      id status stage progress strategy strategyVersionUsed alternatives seed timeLimitSeconds\n      bestObjective error cancelRequested createdAt startedAt finishedAt program keptAssets\n      seedLayout { id }\n      site { id name boundary project { id name } }\n      layouts {\n        id rank requestedCount placedCount metrics earthwork cost objectives geojson\n      }\n    }\n  }\n": typeof types.JobDocument,
    "\n  subscription JobProgress($jobId: ID!) {\n    jobProgress(jobId: $jobId) { jobId status stage percent bestObjective elapsedSeconds message at }\n  }\n": typeof types.JobProgressDocument,
    "\n  mutation ExportLayout($layoutId: ID!, $format: ExportFormat!, $dxfUnits: DxfUnits!) {\n    exportLayout(layoutId: $layoutId, format: $format, dxfUnits: $dxfUnits) {\n      url expiresAt file { id filename contentType sizeBytes }\n    }\n  }\n": typeof types.ExportLayoutDocument,
    "\n  query CheckLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {\n    checkLayoutEdits(layoutId: $layoutId, edits: $edits) {\n      valid placedCount requestedCount geojson\n      violations { rule assetIds message }\n    }\n  }\n": typeof types.CheckLayoutEditsDocument,
    "\n  mutation SaveLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {\n    saveLayoutEdits(layoutId: $layoutId, edits: $edits) { id placedCount }\n  }\n": typeof types.SaveLayoutEditsDocument,
    "\n  mutation InviteMember($email: String!, $role: MemberRole!) {\n    inviteMember(email: $email, role: $role) { email role expiresAt emailed token }\n  }\n": typeof types.InviteMemberDocument,
    "\n  mutation ReloadStrategies {\n    reloadStrategies { summary refused { path reason } strategies { name version } }\n  }\n": typeof types.ReloadStrategiesDocument,
};
const documents: Documents = {
    "\n  query Viewer {\n    apiVersion\n    viewer {\n      user { id email displayName }\n      organizationId\n      role\n      apiKey\n      memberships { organizationId organizationName organizationSlug role }\n    }\n  }\n": types.ViewerDocument,
    "\n  mutation SignIn($email: String!, $password: String!, $organization: String) {\n    signIn(email: $email, password: $password, organization: $organization) {\n      token\n      role\n      organizationId\n      user { id email displayName }\n    }\n  }\n": types.SignInDocument,
    "\n  mutation SignOut { signOut }\n": types.SignOutDocument,
    "\n  query Projects($first: Int, $after: String, $filter: ProjectFilterInput, $order: ProjectOrderInput) {\n    projects(first: $first, after: $after, filter: $filter, order: $order) {\n      edges { node { id name description createdAt updatedAt sites { id name } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.ProjectsDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) { id name }\n  }\n": types.CreateProjectDocument,
    "\n  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {\n    updateProject(id: $id, input: $input) { id name description }\n  }\n": types.UpdateProjectDocument,
    "\n  mutation DeleteProject($id: ID!) { deleteProject(id: $id) }\n": types.DeleteProjectDocument,
    "\n  query Project($id: ID!) {\n    project(id: $id) {\n      id name description\n      sites { id name areaM2 createdAt latestLayout { id placedCount requestedCount } }\n    }\n  }\n": types.ProjectDocument,
    "\n  mutation UploadParcel($projectId: ID!, $file: Upload!) {\n    uploadParcel(projectId: $projectId, file: $file) {\n      file { id filename sizeBytes }\n      format boundary boundaryReason boundaryLocation sourceCrs repairs\n      exclusionCandidates { name location suggestedKind polygon }\n    }\n  }\n": types.UploadParcelDocument,
    "\n  mutation CreateSite($input: CreateSiteInput!) {\n    createSite(input: $input) { id name }\n  }\n": types.CreateSiteDocument,
    "\n  query Site($id: ID!) {\n    node(id: $id) {\n      __typename\n      ... on Site {\n        id name areaM2 bbox boundary setbackMetres entrances\n        project { id name }\n        exclusionZones { kind bufferM name geometry }\n        jobs(first: 20) {\n          edges { node { id status progress strategy createdAt finishedAt error alternatives } }\n        }\n      }\n    }\n  }\n": types.SiteDocument,
    "\n  query BuildableArea($id: ID!, $setbackMetres: Float!) {\n    node(id: $id) {\n      __typename\n      ... on Site { id buildableArea(setbackMetres: $setbackMetres) { areaM2 geometry } }\n    }\n  }\n": types.BuildableAreaDocument,
    "\n  query Strategies {\n    strategies { name version description authors license capabilities parametersSchema }\n  }\n": types.StrategiesDocument,
    "\n  mutation CreateJob($input: CreateJobInput!) {\n    createJob(input: $input) { id status }\n  }\n": types.CreateJobDocument,
    "\n  mutation CancelJob($id: ID!) { cancelJob(id: $id) { id status cancelRequested } }\n": types.CancelJobDocument,
    "\n  mutation RetryJob($id: ID!) { retryJob(id: $id) { id status } }\n": types.RetryJobDocument,
    "\n  query Job($id: ID!) {\n    job(id: $id) {\n      id status stage progress strategy strategyVersionUsed alternatives seed timeLimitSeconds\n      bestObjective error cancelRequested createdAt startedAt finishedAt program keptAssets\n      seedLayout { id }\n      site { id name boundary project { id name } }\n      layouts {\n        id rank requestedCount placedCount metrics earthwork cost objectives geojson\n      }\n    }\n  }\n": types.JobDocument,
    "\n  subscription JobProgress($jobId: ID!) {\n    jobProgress(jobId: $jobId) { jobId status stage percent bestObjective elapsedSeconds message at }\n  }\n": types.JobProgressDocument,
    "\n  mutation ExportLayout($layoutId: ID!, $format: ExportFormat!, $dxfUnits: DxfUnits!) {\n    exportLayout(layoutId: $layoutId, format: $format, dxfUnits: $dxfUnits) {\n      url expiresAt file { id filename contentType sizeBytes }\n    }\n  }\n": types.ExportLayoutDocument,
    "\n  query CheckLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {\n    checkLayoutEdits(layoutId: $layoutId, edits: $edits) {\n      valid placedCount requestedCount geojson\n      violations { rule assetIds message }\n    }\n  }\n": types.CheckLayoutEditsDocument,
    "\n  mutation SaveLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {\n    saveLayoutEdits(layoutId: $layoutId, edits: $edits) { id placedCount }\n  }\n": types.SaveLayoutEditsDocument,
    "\n  mutation InviteMember($email: String!, $role: MemberRole!) {\n    inviteMember(email: $email, role: $role) { email role expiresAt emailed token }\n  }\n": types.InviteMemberDocument,
    "\n  mutation ReloadStrategies {\n    reloadStrategies { summary refused { path reason } strategies { name version } }\n  }\n": types.ReloadStrategiesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    apiVersion\n    viewer {\n      user { id email displayName }\n      organizationId\n      role\n      apiKey\n      memberships { organizationId organizationName organizationSlug role }\n    }\n  }\n"): (typeof documents)["\n  query Viewer {\n    apiVersion\n    viewer {\n      user { id email displayName }\n      organizationId\n      role\n      apiKey\n      memberships { organizationId organizationName organizationSlug role }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignIn($email: String!, $password: String!, $organization: String) {\n    signIn(email: $email, password: $password, organization: $organization) {\n      token\n      role\n      organizationId\n      user { id email displayName }\n    }\n  }\n"): (typeof documents)["\n  mutation SignIn($email: String!, $password: String!, $organization: String) {\n    signIn(email: $email, password: $password, organization: $organization) {\n      token\n      role\n      organizationId\n      user { id email displayName }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignOut { signOut }\n"): (typeof documents)["\n  mutation SignOut { signOut }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Projects($first: Int, $after: String, $filter: ProjectFilterInput, $order: ProjectOrderInput) {\n    projects(first: $first, after: $after, filter: $filter, order: $order) {\n      edges { node { id name description createdAt updatedAt sites { id name } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query Projects($first: Int, $after: String, $filter: ProjectFilterInput, $order: ProjectOrderInput) {\n    projects(first: $first, after: $after, filter: $filter, order: $order) {\n      edges { node { id name description createdAt updatedAt sites { id name } } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) { id name }\n  }\n"): (typeof documents)["\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) { id name }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {\n    updateProject(id: $id, input: $input) { id name description }\n  }\n"): (typeof documents)["\n  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {\n    updateProject(id: $id, input: $input) { id name description }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteProject($id: ID!) { deleteProject(id: $id) }\n"): (typeof documents)["\n  mutation DeleteProject($id: ID!) { deleteProject(id: $id) }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Project($id: ID!) {\n    project(id: $id) {\n      id name description\n      sites { id name areaM2 createdAt latestLayout { id placedCount requestedCount } }\n    }\n  }\n"): (typeof documents)["\n  query Project($id: ID!) {\n    project(id: $id) {\n      id name description\n      sites { id name areaM2 createdAt latestLayout { id placedCount requestedCount } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UploadParcel($projectId: ID!, $file: Upload!) {\n    uploadParcel(projectId: $projectId, file: $file) {\n      file { id filename sizeBytes }\n      format boundary boundaryReason boundaryLocation sourceCrs repairs\n      exclusionCandidates { name location suggestedKind polygon }\n    }\n  }\n"): (typeof documents)["\n  mutation UploadParcel($projectId: ID!, $file: Upload!) {\n    uploadParcel(projectId: $projectId, file: $file) {\n      file { id filename sizeBytes }\n      format boundary boundaryReason boundaryLocation sourceCrs repairs\n      exclusionCandidates { name location suggestedKind polygon }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateSite($input: CreateSiteInput!) {\n    createSite(input: $input) { id name }\n  }\n"): (typeof documents)["\n  mutation CreateSite($input: CreateSiteInput!) {\n    createSite(input: $input) { id name }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Site($id: ID!) {\n    node(id: $id) {\n      __typename\n      ... on Site {\n        id name areaM2 bbox boundary setbackMetres entrances\n        project { id name }\n        exclusionZones { kind bufferM name geometry }\n        jobs(first: 20) {\n          edges { node { id status progress strategy createdAt finishedAt error alternatives } }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Site($id: ID!) {\n    node(id: $id) {\n      __typename\n      ... on Site {\n        id name areaM2 bbox boundary setbackMetres entrances\n        project { id name }\n        exclusionZones { kind bufferM name geometry }\n        jobs(first: 20) {\n          edges { node { id status progress strategy createdAt finishedAt error alternatives } }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query BuildableArea($id: ID!, $setbackMetres: Float!) {\n    node(id: $id) {\n      __typename\n      ... on Site { id buildableArea(setbackMetres: $setbackMetres) { areaM2 geometry } }\n    }\n  }\n"): (typeof documents)["\n  query BuildableArea($id: ID!, $setbackMetres: Float!) {\n    node(id: $id) {\n      __typename\n      ... on Site { id buildableArea(setbackMetres: $setbackMetres) { areaM2 geometry } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Strategies {\n    strategies { name version description authors license capabilities parametersSchema }\n  }\n"): (typeof documents)["\n  query Strategies {\n    strategies { name version description authors license capabilities parametersSchema }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateJob($input: CreateJobInput!) {\n    createJob(input: $input) { id status }\n  }\n"): (typeof documents)["\n  mutation CreateJob($input: CreateJobInput!) {\n    createJob(input: $input) { id status }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelJob($id: ID!) { cancelJob(id: $id) { id status cancelRequested } }\n"): (typeof documents)["\n  mutation CancelJob($id: ID!) { cancelJob(id: $id) { id status cancelRequested } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryJob($id: ID!) { retryJob(id: $id) { id status } }\n"): (typeof documents)["\n  mutation RetryJob($id: ID!) { retryJob(id: $id) { id status } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Job($id: ID!) {\n    job(id: $id) {\n      id status stage progress strategy strategyVersionUsed alternatives seed timeLimitSeconds\n      bestObjective error cancelRequested createdAt startedAt finishedAt program keptAssets\n      seedLayout { id }\n      site { id name boundary project { id name } }\n      layouts {\n        id rank requestedCount placedCount metrics earthwork cost objectives geojson\n      }\n    }\n  }\n"): (typeof documents)["\n  query Job($id: ID!) {\n    job(id: $id) {\n      id status stage progress strategy strategyVersionUsed alternatives seed timeLimitSeconds\n      bestObjective error cancelRequested createdAt startedAt finishedAt program keptAssets\n      seedLayout { id }\n      site { id name boundary project { id name } }\n      layouts {\n        id rank requestedCount placedCount metrics earthwork cost objectives geojson\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription JobProgress($jobId: ID!) {\n    jobProgress(jobId: $jobId) { jobId status stage percent bestObjective elapsedSeconds message at }\n  }\n"): (typeof documents)["\n  subscription JobProgress($jobId: ID!) {\n    jobProgress(jobId: $jobId) { jobId status stage percent bestObjective elapsedSeconds message at }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ExportLayout($layoutId: ID!, $format: ExportFormat!, $dxfUnits: DxfUnits!) {\n    exportLayout(layoutId: $layoutId, format: $format, dxfUnits: $dxfUnits) {\n      url expiresAt file { id filename contentType sizeBytes }\n    }\n  }\n"): (typeof documents)["\n  mutation ExportLayout($layoutId: ID!, $format: ExportFormat!, $dxfUnits: DxfUnits!) {\n    exportLayout(layoutId: $layoutId, format: $format, dxfUnits: $dxfUnits) {\n      url expiresAt file { id filename contentType sizeBytes }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CheckLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {\n    checkLayoutEdits(layoutId: $layoutId, edits: $edits) {\n      valid placedCount requestedCount geojson\n      violations { rule assetIds message }\n    }\n  }\n"): (typeof documents)["\n  query CheckLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {\n    checkLayoutEdits(layoutId: $layoutId, edits: $edits) {\n      valid placedCount requestedCount geojson\n      violations { rule assetIds message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SaveLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {\n    saveLayoutEdits(layoutId: $layoutId, edits: $edits) { id placedCount }\n  }\n"): (typeof documents)["\n  mutation SaveLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {\n    saveLayoutEdits(layoutId: $layoutId, edits: $edits) { id placedCount }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InviteMember($email: String!, $role: MemberRole!) {\n    inviteMember(email: $email, role: $role) { email role expiresAt emailed token }\n  }\n"): (typeof documents)["\n  mutation InviteMember($email: String!, $role: MemberRole!) {\n    inviteMember(email: $email, role: $role) { email role expiresAt emailed token }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ReloadStrategies {\n    reloadStrategies { summary refused { path reason } strategies { name version } }\n  }\n"): (typeof documents)["\n  mutation ReloadStrategies {\n    reloadStrategies { summary refused { path reason } strategies { name version } }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;