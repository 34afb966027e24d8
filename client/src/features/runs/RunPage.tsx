/** Backup run — screen to be built (issue 5). */
export function RunPage(_props: { id: string }) {
  return (
    <section>
      <h1>Backup run</h1>
    </section>
  );
}
