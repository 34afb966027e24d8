/** Organization — screen to be built (issue 5). */
export function OrganizationPage(_props: { id: string }) {
  return (
    <section>
      <h1>Organization</h1>
    </section>
  );
}
