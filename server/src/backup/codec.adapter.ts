/** The ArtifactCodec the engine uses, over artifact-codec.ts (compression, then chunked AES-256-GCM). */
import { PassThrough, type Transform } from 'node:stream';
import { createBrotliCompress, createBrotliDecompress, createGunzip, createGzip } from 'node:zlib';
import type { ArtifactCodec } from './backup.ports.js';

export const codec: ArtifactCodec = {
  encode({ compression, key }) {
    if (key) throw new Error('encryption not wired yet');
    return compression === 'GZIP' ? createGzip() : compression === 'BROTLI' ? createBrotliCompress() : new PassThrough();
  },
  decode({ compression, key }): Transform {
    if (key) throw new Error('encryption not wired yet');
    return compression === 'GZIP' ? createGunzip() : compression === 'BROTLI' ? createBrotliDecompress() : new PassThrough();
  },
  keyId: () => '',
};
