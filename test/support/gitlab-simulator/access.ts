/**
 * Who may see what, after GitLab's permission model (doc/user/permissions.md,
 * doc/user/project/members/index.md "Inherited membership"): a group membership applies to every
 * subgroup and project below it; the owner of a personal namespace owns its projects; public
 * resources are visible to everyone and internal ones to every signed-in user.
 */
import type { NamespaceRecord, ProjectRecord, UserRecord } from './model.js';
import type { SimulatorState } from './state.js';

export class Access {
  constructor(private readonly state: SimulatorState) {}

  /** Effective (maximum inherited) access level of a user in a group. */
  groupAccess(user: UserRecord | null, groupId: number): number {
    if (!user) return 0;
    if (user.isAdmin) return 50;
    let level = 0;
    for (const ns of this.state.ancestors(groupId)) {
      level = Math.max(level, this.state.members.get(`group:${ns.id}:${user.id}`) ?? 0);
    }
    return level;
  }

  projectAccess(user: UserRecord | null, project: ProjectRecord): number {
    if (!user) return 0;
    if (user.isAdmin) return 50;
    const namespace = this.state.namespaces.get(project.namespaceId);
    if (namespace?.kind === 'user' && namespace.ownerId === user.id) return 50;
    const direct = this.state.members.get(`project:${project.id}:${user.id}`) ?? 0;
    const inherited = namespace?.kind === 'group' ? this.groupAccess(user, namespace.id) : 0;
    return Math.max(direct, inherited);
  }

  /** Direct project membership level and effective group level, as in `permissions` of a project. */
  projectPermissions(
    user: UserRecord,
    project: ProjectRecord,
  ): {
    project_access: { access_level: number; notification_level: number } | null;
    group_access: { access_level: number; notification_level: number } | null;
  } {
    const direct = this.state.members.get(`project:${project.id}:${user.id}`);
    const namespace = this.state.namespaces.get(project.namespaceId);
    const group = namespace?.kind === 'group' ? this.groupAccess(user, namespace.id) : 0;
    return {
      project_access: direct ? { access_level: direct, notification_level: 3 } : null,
      group_access: group ? { access_level: group, notification_level: 3 } : null,
    };
  }

  canReadProject(user: UserRecord | null, project: ProjectRecord): boolean {
    if (project.visibility === 'public') return true;
    if (project.visibility === 'internal' && user) return true;
    return this.projectAccess(user, project) >= 10;
  }

  /**
   * A private group is readable by its members and also by members of anything inside it
   * (GroupPolicy: read_group via descendant membership), so users can navigate to their projects.
   */
  canReadGroup(user: UserRecord | null, group: NamespaceRecord): boolean {
    if (group.visibility === 'public') return true;
    if (group.visibility === 'internal' && user) return true;
    if (!user) return false;
    if (this.groupAccess(user, group.id) > 0) return true;
    const inside = new Set([group.id, ...this.state.descendantGroups(group.id).map((g) => g.id)]);
    for (const g of inside) if (this.state.members.has(`group:${g}:${user.id}`)) return true;
    for (const p of this.state.projects.values()) {
      if (inside.has(p.namespaceId) && this.state.members.has(`project:${p.id}:${user.id}`)) return true;
    }
    return false;
  }

  canReadNamespace(user: UserRecord | null, namespace: NamespaceRecord): boolean {
    if (namespace.kind === 'group') return this.canReadGroup(user, namespace);
    return !!user && (user.isAdmin || namespace.ownerId === user.id);
  }

  /** Groups the user belongs to directly or through an ancestor (User#authorized_groups). */
  authorizedGroups(user: UserRecord): NamespaceRecord[] {
    return [...this.state.namespaces.values()].filter((n) => n.kind === 'group' && this.groupAccess(user, n.id) > 0);
  }
}
