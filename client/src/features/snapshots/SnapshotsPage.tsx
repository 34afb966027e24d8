/** Snapshots — screen to be built (issue 5). */
export function SnapshotsPage(_props: { repositoryId: string }) {
  return (
    <section>
      <h1>Snapshots</h1>
    </section>
  );
}
