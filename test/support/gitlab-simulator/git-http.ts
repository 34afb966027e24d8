import type { Request, Response } from 'express';
import type { ServerDeps } from './server.js';

export function isGitPath(path: string): boolean {
  return /\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(path);
}

export async function handleGitRequest(_deps: ServerDeps, _req: Request, res: Response): Promise<void> {
  res.status(501).send('not implemented');
}
