/** Organizations — screen to be built (issue 5). */
export function OrganizationsPage() {
  return (
    <section>
      <h1>Organizations</h1>
    </section>
  );
}
