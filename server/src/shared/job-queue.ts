/** What domains need of the job system: hand work to whichever worker picks it up. */
export interface JobQueue {
  /** Enqueues a job to run as soon as a worker is free. Resolves once it is stored. */
  enqueue(name: string, data: Record<string, unknown>): Promise<void>;
}
