/** Dashboard — screen to be built (issue 5). */
export function DashboardPage() {
  return (
    <section>
      <h1>Dashboard</h1>
    </section>
  );
}
