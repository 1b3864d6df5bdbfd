// SES lockdown for the SwingSet benchmark.  PEER_LOCKDOWN=fast (default):
// @endo/init/unsafe-fast.js, as Agoric's own node host (ag-chain-cosmos)
// does, where harden() freezes nothing.  PEER_LOCKDOWN=safe: @endo/init
// (real harden).
import '@endo/init/pre-bundle-source.js';

// stdout carries only the JSON figures: console output goes to stderr.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

export const lockdownMode = process.env.PEER_LOCKDOWN === 'safe' ? 'safe' : 'fast';
await (lockdownMode === 'safe'
  ? import('@endo/init')
  : import('@endo/init/unsafe-fast.js'));
