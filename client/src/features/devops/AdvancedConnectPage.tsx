/** Advanced mode — screen to be built (issue 5). */
export function AdvancedConnectPage() {
  return (
    <section>
      <h1>Advanced mode</h1>
    </section>
  );
}
