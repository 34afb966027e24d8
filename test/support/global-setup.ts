// Placeholder: replaced by the database setup (embedded PostgreSQL shared by all test files).
export default async function globalSetup(): Promise<void> {}
