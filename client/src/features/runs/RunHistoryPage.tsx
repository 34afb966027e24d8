/** Run history — screen to be built (issue 5). */
export function RunHistoryPage(_props: { organizationId: string }) {
  return (
    <section>
      <h1>Run history</h1>
    </section>
  );
}
