import type { Express } from 'express';
import type { SimContext } from './context.js';

export function registerOAuthRoutes(_ctx: SimContext, _app: Express): void {}
