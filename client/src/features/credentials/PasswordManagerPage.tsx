/** Password Manager — screen to be built (issue 5). */
export function PasswordManagerPage() {
  return (
    <section>
      <h1>Password Manager</h1>
    </section>
  );
}
