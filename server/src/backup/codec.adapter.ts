/** The ArtifactCodec the engine uses: artifact-codec.ts (compression, then chunked AES-256-GCM). */
export { artifactCodec as codec } from './artifact-codec.js';
