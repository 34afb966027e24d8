import type { Router } from 'express';
import type { SimContext } from '../context.js';

export function registerIssueRoutes(_ctx: SimContext, _router: Router): void {}
