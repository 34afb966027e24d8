/** Restore — screen to be built (issue 5). */
export function RestorePage(_props: { id: string }) {
  return (
    <section>
      <h1>Restore</h1>
    </section>
  );
}
