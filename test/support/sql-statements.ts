import type { DataSource } from 'typeorm';

/**
 * Counts the statements TypeORM sends while `act` runs (the database watch's `SELECT 1` ping and
 * authentication's token lookup aside: they are the same for every request).
 */
export function statementCounter(dataSource: DataSource) {
  const seen: string[] = [];
  const logger = dataSource.logger;
  const original = logger.logQuery.bind(logger);
  logger.logQuery = (query, parameters, runner) => {
    if (query.trim() !== 'SELECT 1' && !/"api_tokens"/.test(query)) seen.push(query);
    return original(query, parameters, runner);
  };
  return async <T>(act: () => Promise<T>): Promise<{ result: T; statements: string[] }> => {
    seen.length = 0;
    const result = await act();
    return { result, statements: seen.splice(0) };
  };
}
