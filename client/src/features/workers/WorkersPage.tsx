/** Workers — screen to be built (issue 5). */
export function WorkersPage() {
  return (
    <section>
      <h1>Workers</h1>
    </section>
  );
}
