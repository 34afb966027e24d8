/** Every screen and its path. Pages receive path parameters as props. */
import type { ReactElement } from 'react';
import { AlertsPage } from '../features/alerts/AlertsPage';
import { AuditPage } from '../features/audit/AuditPage';
import { ConnectionsPage } from '../features/connections/ConnectionsPage';
import { PasswordManagerPage } from '../features/credentials/PasswordManagerPage';
import { DashboardPage } from '../features/dashboard/DashboardPage';
import { AdvancedConnectPage } from '../features/devops/AdvancedConnectPage';
import { DevOpsPage } from '../features/devops/DevOpsPage';
import { OrganizationPage } from '../features/organizations/OrganizationPage';
import { OrganizationsPage } from '../features/organizations/OrganizationsPage';
import { PolicyPage } from '../features/policy/PolicyPage';
import { RestorePage } from '../features/restore/RestorePage';
import { RunHistoryPage } from '../features/runs/RunHistoryPage';
import { RunPage } from '../features/runs/RunPage';
import { OrganizationDiffPage } from '../features/snapshots/OrganizationDiffPage';
import { SnapshotDiffPage } from '../features/snapshots/SnapshotDiffPage';
import { SnapshotsPage } from '../features/snapshots/SnapshotsPage';
import { ApiTokensPage } from '../features/tokens/ApiTokensPage';
import { StoragesPage } from '../features/storages/StoragesPage';
import { WorkersPage } from '../features/workers/WorkersPage';

export interface RouteDefinition {
  pattern: string;
  title: string;
  render(params: Record<string, string>): ReactElement;
}

export const ROUTES: RouteDefinition[] = [
  { pattern: '/', title: 'Dashboard', render: () => <DashboardPage /> },
  { pattern: '/devops', title: 'DevOps', render: () => <DevOpsPage /> },
  { pattern: '/devops/gitlab/advanced', title: 'Advanced mode', render: () => <AdvancedConnectPage /> },
  { pattern: '/connections', title: 'Connections', render: () => <ConnectionsPage /> },
  { pattern: '/organizations', title: 'Organizations', render: () => <OrganizationsPage /> },
  { pattern: '/organizations/:id', title: 'Organization', render: (p) => <OrganizationPage id={p.id} /> },
  {
    pattern: '/organizations/:id/policy',
    title: 'Customize policy',
    render: (p) => <PolicyPage organizationId={p.id} />,
  },
  {
    pattern: '/organizations/:id/runs',
    title: 'Run history',
    render: (p) => <RunHistoryPage organizationId={p.id} />,
  },
  {
    pattern: '/organizations/:id/changes',
    title: 'What changed',
    render: (p) => <OrganizationDiffPage organizationId={p.id} />,
  },
  { pattern: '/runs/:id', title: 'Backup run', render: (p) => <RunPage id={p.id} /> },
  { pattern: '/repositories/:id/snapshots', title: 'Snapshots', render: (p) => <SnapshotsPage repositoryId={p.id} /> },
  { pattern: '/snapshots/compare', title: 'Compare snapshots', render: () => <SnapshotDiffPage /> },
  { pattern: '/restores/:id', title: 'Restore', render: (p) => <RestorePage id={p.id} /> },
  { pattern: '/password-manager', title: 'Password Manager', render: () => <PasswordManagerPage /> },
  { pattern: '/workers', title: 'Workers', render: () => <WorkersPage /> },
  { pattern: '/api-tokens', title: 'API tokens', render: () => <ApiTokensPage /> },
  { pattern: '/audit-log', title: 'Audit log', render: () => <AuditPage /> },
  { pattern: '/alerts', title: 'Alerts', render: () => <AlertsPage /> },
  { pattern: '/storages', title: 'Storages', render: () => <StoragesPage /> },
];

/** The main navigation, in order. */
export const NAVIGATION: { to: string; label: string }[] = [
  { to: '/', label: 'Dashboard' },
  { to: '/devops', label: 'DevOps' },
  { to: '/organizations', label: 'Organizations' },
  { to: '/connections', label: 'Connections' },
  { to: '/password-manager', label: 'Password Manager' },
  { to: '/workers', label: 'Workers' },
  { to: '/alerts', label: 'Alerts' },
  { to: '/api-tokens', label: 'API tokens' },
  { to: '/audit-log', label: 'Audit log' },
  { to: '/storages', label: 'Storages' },
];
