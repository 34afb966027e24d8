/** Published when a worker registers, stops, or reports a different number of running jobs. */
export interface WorkerChanged {
  workerId: string;
  name: string;
  runningJobs: number;
  stopped: boolean;
  at: string;
}
