// Bundled by esbuild (browser conditions) into dist/peer.js for the page: the peer's
// whole v3 schema and fflate. Never part of the tikcast package.
export * as proto from 'tiktok-live-proto/v3';
export { gunzipSync } from 'fflate';
