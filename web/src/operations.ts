// Every GraphQL operation of the console, typed by GraphQL Code Generator (src/gql).
import { graphql } from './gql';

export const ViewerQuery = graphql(`
  query Viewer {
    apiVersion
    viewer {
      user { id email displayName }
      organizationId
      role
      apiKey
      memberships { organizationId organizationName organizationSlug role }
    }
  }
`);

export const SignInMutation = graphql(`
  mutation SignIn($email: String!, $password: String!, $organization: String) {
    signIn(email: $email, password: $password, organization: $organization) {
      token
      role
      organizationId
      user { id email displayName }
    }
  }
`);

export const SignOutMutation = graphql(`
  mutation SignOut { signOut }
`);

export const SwitchOrganizationMutation = graphql(`
  mutation SwitchOrganization($organization: String!) {
    switchOrganization(organization: $organization) { token role organizationId }
  }
`);

export const ProjectsQuery = graphql(`
  query Projects($first: Int, $after: String, $filter: ProjectFilterInput, $order: ProjectOrderInput) {
    projects(first: $first, after: $after, filter: $filter, order: $order) {
      edges { node { id name description createdAt updatedAt sites(first: 100) { edges { node { id name } } pageInfo { hasNextPage } } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const CreateProjectMutation = graphql(`
  mutation CreateProject($input: CreateProjectInput!) {
    createProject(input: $input) { id name }
  }
`);

export const UpdateProjectMutation = graphql(`
  mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {
    updateProject(id: $id, input: $input) { id name description }
  }
`);

export const DeleteProjectMutation = graphql(`
  mutation DeleteProject($id: ID!) { deleteProject(id: $id) }
`);

export const ProjectQuery = graphql(`
  query Project($id: ID!) {
    project(id: $id) {
      id name description
      sites(first: 100) { edges { node { id name areaM2 createdAt latestLayout { id placedCount requestedCount } } } }
    }
  }
`);

export const UploadParcelMutation = graphql(`
  mutation UploadParcel($projectId: ID!, $file: Upload!, $crs: String) {
    uploadParcel(projectId: $projectId, file: $file, crs: $crs) {
      file { id filename sizeBytes }
      format boundary boundaryReason boundaryLocation sourceCrs repairs
      exclusionCandidates { name location suggestedKind polygon }
    }
  }
`);

export const CreateSiteMutation = graphql(`
  mutation CreateSite($input: CreateSiteInput!) {
    createSite(input: $input) { id name }
  }
`);

export const SiteQuery = graphql(`
  query Site($id: ID!) {
    site(id: $id) {
      id name areaM2 bbox boundary setbackMetres entrances updatedAt
      project { id name }
      exclusionZones { kind bufferM name geometry }
      terrainFile { id filename }
      jobs(first: 20) {
        edges { node { id status progress strategy createdAt finishedAt error alternatives } }
      }
    }
  }
`);

export const BuildableAreaQuery = graphql(`
  query BuildableArea($id: ID!, $setbackMetres: Float!) {
    site(id: $id) { id buildableArea(setbackMetres: $setbackMetres) { areaM2 geometry } }
  }
`);

export const SlopeClassesQuery = graphql(`
  query SlopeClasses($id: ID!) {
    site(id: $id) { id slopeClasses { abovePercent atMostPercent areaM2 geometry } }
  }
`);

export const UpdateSiteMutation = graphql(`
  mutation UpdateSite($input: UpdateSiteInput!) {
    updateSite(input: $input) { id name entrances updatedAt exclusionZones { kind bufferM name geometry } }
  }
`);

export const UploadTerrainMutation = graphql(`
  mutation UploadTerrain($projectId: ID!, $file: Upload!) {
    uploadTerrain(projectId: $projectId, file: $file) { file { id filename } }
  }
`);

export const SetSiteTerrainMutation = graphql(`
  mutation SetSiteTerrain($siteId: ID!, $fileId: ID) {
    setSiteTerrain(siteId: $siteId, fileId: $fileId) { id updatedAt terrainFile { id filename } }
  }
`);

export const StrategiesQuery = graphql(`
  query Strategies {
    strategies { name version description authors license capabilities parametersSchema }
  }
`);

export const CreateJobMutation = graphql(`
  mutation CreateJob($input: CreateJobInput!) {
    createJob(input: $input) { id status }
  }
`);

export const CancelJobMutation = graphql(`
  mutation CancelJob($id: ID!) { cancelJob(id: $id) { id status cancelRequested } }
`);

export const RetryJobMutation = graphql(`
  mutation RetryJob($id: ID!) { retryJob(id: $id) { id status } }
`);

export const JobQuery = graphql(`
  query Job($id: ID!) {
    job(id: $id) {
      id status stage progress strategy strategyVersionUsed alternatives seed timeLimitSeconds
      bestObjective error cancelRequested createdAt startedAt finishedAt program keptAssets
      seedLayout { id }
      site { id name boundary project { id name sites(first: 100) { edges { node { id name } } pageInfo { hasNextPage } } } }
      layouts {
        id rank requestedCount placedCount metrics earthwork cost objectives geojson
      }
    }
  }
`);

export const JobProgressSubscription = graphql(`
  subscription JobProgress($jobId: ID!) {
    jobProgress(jobId: $jobId) { jobId status stage percent bestObjective elapsedSeconds message at }
  }
`);

export const ExportLayoutMutation = graphql(`
  mutation ExportLayout($layoutId: ID!, $format: ExportFormat!, $dxfUnits: DxfUnits!) {
    exportLayout(layoutId: $layoutId, format: $format, dxfUnits: $dxfUnits) {
      url expiresAt file { id filename contentType sizeBytes }
    }
  }
`);

export const CheckLayoutEditsQuery = graphql(`
  query CheckLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {
    checkLayoutEdits(layoutId: $layoutId, edits: $edits) {
      valid placedCount requestedCount geojson
      violations { rule assetIds message }
      unplacedAssets { assetId name assetType widthM lengthM }
    }
  }
`);

export const SaveLayoutEditsMutation = graphql(`
  mutation SaveLayoutEdits($layoutId: ID!, $edits: [LayoutEditInput!]!) {
    saveLayoutEdits(layoutId: $layoutId, edits: $edits) { id placedCount }
  }
`);

export const InviteMemberMutation = graphql(`
  mutation InviteMember($email: String!, $role: MemberRole!) {
    inviteMember(email: $email, role: $role) { email role expiresAt emailed token }
  }
`);

export const ReloadStrategiesMutation = graphql(`
  mutation ReloadStrategies {
    reloadStrategies { summary refused { path reason } strategies { name version } }
  }
`);

export const MembersAndKeysQuery = graphql(`
  query MembersAndKeys {
    members { user { id email displayName } role joinedAt }
    apiKeys { id name prefix role ownerId expiresAt revokedAt lastUsedAt createdAt }
  }
`);

export const ChangeMemberRoleMutation = graphql(`
  mutation ChangeMemberRole($userId: ID!, $role: MemberRole!) {
    changeMemberRole(userId: $userId, role: $role) { user { id email } role }
  }
`);

export const RemoveMemberMutation = graphql(`
  mutation RemoveMember($userId: ID!) {
    removeMember(userId: $userId) { user { id email } }
  }
`);

export const CreateApiKeyMutation = graphql(`
  mutation CreateApiKey($name: String!, $role: MemberRole!) {
    createApiKey(name: $name, role: $role) { token key { id name prefix role } }
  }
`);

export const RevokeApiKeyMutation = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) { id revokedAt }
  }
`);
