/**
 * Writes docs/COVERAGE.md from the coverage matrix (coverage.ts):
 *   node --import @swc-node/register/esm-register server/src/restore/coverage-emit.ts
 * test/restore/coverage-matrix.test.ts fails when the file and the code disagree.
 */
import { writeFileSync } from 'node:fs';
import { renderCoverageMatrix } from './coverage.js';

const target = new URL('../../../docs/COVERAGE.md', import.meta.url);
writeFileSync(target, renderCoverageMatrix());
console.log(`wrote ${target.pathname}`);
