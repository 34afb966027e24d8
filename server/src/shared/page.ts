/**
 * One page of a list, as a service returns it for the GraphQL edge to turn into a connection
 * (graphql/pagination.ts). The order must end on a unique column (the id) so that an offset
 * names the same place from one request to the next while nothing is inserted before it.
 */
import type { FindManyOptions, ObjectLiteral, Repository } from 'typeorm';

/** Where a page starts and how many items it holds at most. */
export interface PageRequest {
  offset: number;
  limit: number;
}

export interface PageOf<T> {
  items: T[];
  /** Every item the list has, all pages together. */
  total: number;
}

export async function findPage<T extends ObjectLiteral>(
  repository: Repository<T>,
  query: Required<Pick<FindManyOptions<T>, 'where' | 'order'>>,
  page: PageRequest,
): Promise<PageOf<T>> {
  const [items, total] = await repository.findAndCount({ ...query, skip: page.offset, take: page.limit });
  return { items, total };
}
