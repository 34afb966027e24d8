/**
 * Import boundaries of server/src, as docs/DESIGN.md ("Layers") draws them. `npm run boundaries`
 * checks the tree; test/house/boundaries.test.ts shows each rule failing on a fixture tree.
 *
 * Layers (folders of server/src):
 *   foundations  shared/ config/                        import nothing of the domain
 *   adapters     gitlab/ storage/ git/ events/          import no domain module, no edge
 *   domains      access/ credentials/ connections/ organizations/ workers/ snapshot/ backup/
 *                restore/ dashboard/ metrics/ webhooks/ audit/ alerts/  never import an edge
 *   edges        graphql/ jobs/ web/, and inside a domain its GraphQL surface (*.resolver.ts,
 *                *.type.ts, *.inputs.ts, *.args.ts) and HTTP routes (*.routes.ts)
 *   root         app.ts main.ts worker.ts services.ts db/  may import everything
 *
 * A new folder under server/src fails the check (rule `layer-unknown`) until it is given a layer
 * here and in docs/DESIGN.md, so the picture and the tree cannot drift apart.
 */

const DOMAINS =
  'access|credentials|connections|organizations|workers|snapshot|backup|restore|dashboard|metrics|webhooks|storages|audit|alerts';
const ADAPTERS = 'gitlab|storage|git|events';
const EDGES = 'graphql|jobs|web';
const FOUNDATIONS = 'shared|config';
const ROOT_FOLDERS = 'db';
const KNOWN_FOLDERS = [DOMAINS, ADAPTERS, EDGES, FOUNDATIONS, ROOT_FOLDERS].join('|');

const domain = `^server/src/(${DOMAINS})/`;
const adapter = `^server/src/(${ADAPTERS})/`;
const edge = `^server/src/(${EDGES})/`;
const foundation = `^server/src/(${FOUNDATIONS})/`;
const compositionRoot = '^server/src/(app|main|worker|services)\\.ts$';
/** The files of a domain folder that belong to the GraphQL or HTTP edge (STYLE.md: one folder per domain). */
const domainSurface = `^server/src/(${DOMAINS})/.+\\.(resolver|type|inputs|args|routes)\\.ts$`;
/** Packages of the edges: a service imports none of them (STYLE.md, "Thin resolvers, testable domain"). */
const edgePackages =
  '(^|/)node_modules/(type-graphql|graphql|graphql-ws|graphql-scalars|@apollo/server|@as-integrations/express5|@graphql-yoga/subscription|express|agenda|@agendajs/[^/]+)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'layer-unknown',
      severity: 'error',
      comment:
        'Every folder of server/src has a layer in docs/DESIGN.md and in .dependency-cruiser.cjs; ' +
        'give this one its layer (and the rules that come with it) before importing it.',
      from: {},
      to: { path: `^server/src/(?!(${KNOWN_FOLDERS})/)[^/]+/` },
    },
    {
      name: 'foundations-import-no-domain',
      severity: 'error',
      comment: 'shared/ and config/ are the floor every layer stands on: they import only each other.',
      from: { path: foundation },
      to: { path: '^server/src/', pathNot: foundation },
    },
    {
      name: 'adapters-import-no-domain',
      severity: 'error',
      comment:
        'gitlab/, storage/, git/ and events/ are adapters behind interfaces: they import no domain, ' +
        'no edge and no composition root (domain code runs against their fakes). What both sides ' +
        'need (a type list, an error code) lives in the adapter or in shared/.',
      from: { path: adapter },
      to: { path: `${domain}|${edge}|${compositionRoot}|^server/src/(${ROOT_FOLDERS})/` },
    },
    {
      name: 'domains-import-no-edge',
      severity: 'error',
      comment:
        'graphql/, jobs/ and web/ depend on domains; domains never import them (nor the composition ' +
        'root). A service enqueues work through shared/job-queue.ts and publishes through its ' +
        "injected publisher. Only a domain's GraphQL surface (*.resolver.ts, *.type.ts, " +
        '*.inputs.ts, *.args.ts) may import graphql/ (context, pagination).',
      from: { path: domain, pathNot: domainSurface },
      to: { path: `${edge}|${compositionRoot}` },
    },
    {
      name: 'domain-surface-imports-no-jobs',
      severity: 'error',
      comment:
        'A resolver or route calls one service method; it never touches jobs/, web/ or the ' +
        'composition root (the service enqueues).',
      from: { path: domainSurface },
      to: { path: `^server/src/(jobs|web)/|${compositionRoot}` },
    },
    {
      name: 'domains-use-no-edge-package',
      severity: 'error',
      comment:
        'Services, entities and domain logic import nothing from type-graphql, graphql, Apollo, ' +
        'graphql-ws, express or agenda, so a test builds a service with fakes in three lines. ' +
        "Those packages belong to the edges and to a domain's GraphQL surface.",
      from: { path: domain, pathNot: domainSurface },
      to: { path: edgePackages },
    },
    {
      name: 'restore-reads-through-snapshot',
      severity: 'error',
      comment:
        'restore/ (restores, drills, DOWNLOAD) reads snapshots through snapshot/ (reader, checker, ' +
        'format) and takes only the policy from backup/ (its policy.*.ts modules: drills are ' +
        'configured there); it never reaches into the backup engine.',
      from: { path: '^server/src/restore/' },
      to: { path: '^server/src/backup/', pathNot: '^server/src/backup/policy\\.[a-z-]+\\.ts$' },
    },
    {
      name: 'webhooks-start-runs-through-the-run-service',
      severity: 'error',
      comment:
        'webhooks/ (event-driven backups) turns GitLab events into BackupRuns through the public ' +
        'BackupRunService.runNow only; it never reaches into the backup engine (repository backup, ' +
        'snapshots, retention).',
      from: { path: '^server/src/webhooks/' },
      to: { path: '^server/src/backup/', pathNot: '^server/src/backup/(backup-run\\.service|backup\\.entity)\\.ts$' },
    },
    {
      name: 'no-domain-depends-on-webhooks',
      severity: 'error',
      comment:
        'Event-driven backups sit on top of the other domains: none of them imports webhooks/ (a ' +
        'connection learns of it only through the beforeDisconnect hook the composition root wires).',
      from: { path: domain, pathNot: '^server/src/webhooks/' },
      to: { path: '^server/src/webhooks/' },
    },
    {
      name: 'alerts-read-rows-not-domains',
      severity: 'error',
      comment:
        'alerts/ (notification channels, rules, deliveries) is told of finished runs, failed drills and ' +
        'anomalies by the composition root and reads their rows; of the other domains it imports only ' +
        'credentials/ (the Password Manager holds its secrets), so every domain stays free of it.',
      from: { path: '^server/src/alerts/', pathNot: domainSurface },
      to: { path: domain, pathNot: '^server/src/(alerts|credentials)/' },
    },
    {
      name: 'no-domain-depends-on-alerts',
      severity: 'error',
      comment: 'Domains report to alerts through callbacks the composition root wires; none imports alerts/.',
      from: { path: domain, pathNot: '^server/src/alerts/' },
      to: { path: '^server/src/alerts/' },
    },
    {
      name: 'snapshot-below-backup-and-restore',
      severity: 'error',
      comment:
        'snapshot/ owns the open format that backup/ writes and restore/ reads; it imports neither ' +
        'of them (nor any other domain but credentials/ for keys), so the format has one room.',
      from: { path: '^server/src/snapshot/', pathNot: domainSurface },
      to: {
        path: `^server/src/(backup|restore|connections|organizations|workers|access|dashboard|metrics|webhooks|audit|alerts)/`,
      },
    },
    {
      name: 'composition-root-imported-by-no-module',
      severity: 'error',
      comment:
        'app.ts starts everything; only main.ts and worker.ts import it. The edges read the ' +
        'Services type of services.ts (which builds the services), and nothing else of the root.',
      from: { path: '^server/src/', pathNot: '^server/src/(main|worker)\\.ts$' },
      to: { path: '^server/src/(app|main|worker)\\.ts$' },
    },
    {
      name: 'client-talks-graphql-only',
      severity: 'error',
      comment: 'The web client reaches the server through the GraphQL API and generated types only.',
      from: { path: '^client/' },
      to: { path: '^(server|test)/' },
    },
    {
      name: 'server-uses-no-dev-dependency',
      severity: 'error',
      comment: 'Production installs omit devDependencies (Dockerfile); server code may import them only ' + 'as types.',
      from: {
        path: '^server/src/',
        pathNot: '^server/src/graphql/emit-schema\\.ts$|^server/src/db/cli-data-source\\.ts$',
      },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing is a broken import.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too: a domain that imports a GraphQL context type is
    // coupled to it, even if the import is erased at run time.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    // The client's generated types need no rule.
    exclude: { path: '^client/src/graphql/generated/' },
  },
};
