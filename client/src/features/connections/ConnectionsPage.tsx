/** Connections — screen to be built (issue 5). */
export function ConnectionsPage() {
  return (
    <section>
      <h1>Connections</h1>
    </section>
  );
}
