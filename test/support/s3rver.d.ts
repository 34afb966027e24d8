/** The parts of s3rver 3 (CommonJS, untyped) the test S3 server uses. */
declare module 's3rver' {
  import type { Server } from 'node:http';
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    configureBuckets?: { name: string }[];
    vhostBuckets?: boolean;
  }
  type Middleware = (ctx: any, next: () => Promise<void>) => Promise<void> | void;
  class S3rver {
    constructor(options: S3rverOptions);
    middleware: Middleware[];
    store: any;
    context: { store: any };
    httpServer?: Server;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
  export default S3rver;
}

declare module 's3rver/lib/stores/filesystem.js' {
  class FilesystemStore {
    constructor(rootDirectory: string);
    rootDirectory: string;
    getBucketPath(bucket: string): string;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    putMetadata(bucket: string, key: string, metadata: unknown, md5?: string): Promise<void>;
    existsObject(bucket: string, key: string): Promise<boolean>;
    putObject(object: { bucket: string; key: string; content: unknown; metadata: unknown }): Promise<{
      size: number;
      md5: string;
    }>;
  }
  export default FilesystemStore;
}

declare module 's3rver/lib/models/error.js' {
  class S3Error extends Error {
    constructor(code: string, message?: string, detail?: Record<string, string>);
    code: string;
    status: number;
  }
  export default S3Error;
}
