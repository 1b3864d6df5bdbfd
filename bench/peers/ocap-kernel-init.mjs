// SES lockdown for the ocap-kernel benchmark, with the options of the
// ocap-kernel monorepo's own Node shim (@metamask/kernel-shims endoify, not
// published).  PEER_LOCKDOWN=fast (default) adds __hardenTaming__: 'unsafe'
// (harden() freezes nothing, as in @endo/init/unsafe-fast.js, which the
// SwingSet run uses too); PEER_LOCKDOWN=safe keeps real harden.
import '@endo/init/pre-remoting.js';

export const lockdownMode = process.env.PEER_LOCKDOWN === 'safe' ? 'safe' : 'fast';

// stdout carries only the JSON figures: console output goes to stderr.  The
// published 0.5.0 kernel calls console.debug on every kernel promise and
// object it creates and every message it enqueues; that is dropped, as a
// host that keeps stdout for itself would.
console.log = console.error;
console.info = console.error;
console.debug = () => {};

lockdown({
  consoleTaming: 'unsafe',
  errorTaming: 'unsafe',
  overrideTaming: 'severe',
  domainTaming: 'unsafe',
  stackFiltering: 'concise',
  ...(lockdownMode === 'fast' ? { __hardenTaming__: 'unsafe' } : {}),
});
