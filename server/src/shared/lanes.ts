/**
 * Runs `task` over `items` at most `concurrency` at a time, keeping the items that share a lane
 * (`laneOf`) in their given order, one after another: independent work overlaps, dependent work
 * does not. Every task runs to its end (a task that throws does not stop the others); the first
 * error is thrown once all have ended.
 */
export async function inLanes<T>(
  items: readonly T[],
  laneOf: (item: T) => string,
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const lanes = new Map<string, { item: T; index: number }[]>();
  items.forEach((item, index) => {
    const key = laneOf(item);
    const lane = lanes.get(key) ?? [];
    lane.push({ item, index });
    lanes.set(key, lane);
  });
  const queue = [...lanes.values()];
  let firstError: { error: unknown } | null = null;
  const runner = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift())
      for (const { item, index } of lane) {
        try {
          await task(item, index);
        } catch (error) {
          firstError ??= { error };
        }
      }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, runner));
  if (firstError) throw (firstError as { error: unknown }).error;
}
