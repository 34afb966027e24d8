/** Customize policy — screen to be built (issue 5). */
export function PolicyPage(_props: { organizationId: string }) {
  return (
    <section>
      <h1>Customize policy</h1>
    </section>
  );
}
