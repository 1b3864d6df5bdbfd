// Workloads 1, 2 and 4 on Agoric SwingSet (@agoric/swingset-vat): local
// workers, on-disk swing-store, defaultReapInterval=1000.
// usage: node --expose-gc swingset.mjs   (counts from env: see common.mjs)
//
// Lockdown first (swingset-init.mjs awaits a dynamic import); the Agoric
// packages call harden() at import time, so they are imported dynamically
// in main(), after it.
import { lockdownMode } from './swingset-init.mjs';

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, emit, settings, measure, gc, rssKB } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const REAP = 1000;

const main = async () => {
  const { seqN, pipeN, launchM, reps } = settings();
  const { initSwingStore } = await import('@agoric/swing-store');
  const { buildVatController } = await import('@agoric/swingset-vat');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swingset-bench-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const { kernelStorage, hostStorage } = initSwingStore(dir);
  const config = {
    bootstrap: 'ping',
    defaultManagerType: 'local',
    defaultReapInterval: REAP,
    pinBootstrapRoot: true, // the host sends to the driver vat's root
    vats: {
      ping: { sourceSpec: path.join(here, 'vats/ping-vat.js') },
      pong: { sourceSpec: path.join(here, 'vats/ping-vat.js') },
    },
    bundles: {
      trivial: { sourceSpec: path.join(here, 'vats/trivial-vat.js') },
    },
  };
  log('swingset: initializing (bundling kernel and vats)...');
  const c = await buildVatController(config, [], {
    kernelStorage,
    // keep every launched vat online, so RSS counts them all
    warehousePolicy: { maxVatsOnline: launchM + 50 },
  });
  await c.run();
  hostStorage.commit();

  // One host message to the driver vat, run the kernel to quiescence, then
  // commit the swing-store (what a host does at the end of a block).
  const call = async (method, arg, expect) => {
    const kpid = c.queueToVatRoot('ping', method, [arg], 'panic');
    await c.run();
    hostStorage.commit();
    const status = c.kpStatus(kpid);
    if (status !== 'fulfilled') {
      throw Error(`${method}(${arg}) ${status}: ${JSON.stringify(c.kpResolution(kpid))}`);
    }
    const got = JSON.parse(c.kpResolution(kpid).body.replace(/^#/, ''));
    if (expect !== undefined && got !== expect) {
      throw Error(`${method}(${arg}) returned ${got}, expected ${expect}`);
    }
  };
  const sum = n => (n * (n + 1)) / 2;

  await call('sequential', 10, sum(10)); // warm-up
  await call('pipelined', 10, sum(10));
  const base = `defaultReapInterval=${REAP}, on-disk swing-store (commit after each run), local workers, lockdown=${lockdownMode}`;

  log(`swingset: sequential n=${seqN} x${reps}`);
  const seq = await measure('sequential', reps, seqN, () =>
    call('sequential', seqN, sum(seqN)),
  );
  emit('swingset', 'sequential', seq, 'round trips/s',
    `${base}, n=${seqN}, median of ${reps}`);

  log(`swingset: pipelined n=${pipeN} x${reps}`);
  const pipe = await measure('pipelined', reps, pipeN, () =>
    call('pipelined', pipeN, sum(pipeN)),
  );
  emit('swingset', 'pipelined', pipe, 'deliveries/s',
    `${base}, n=${pipeN} pings (1 delivery = 1 ping), median of ${reps}`);

  log(`swingset: launch m=${launchM} (one run)`);
  gc();
  const rss0 = rssKB();
  const launch = await measure('launch', 1, launchM, () =>
    call('launch', launchM, launchM),
  );
  gc();
  const rss1 = rssKB();
  const lbase = `vatAdmin createVat of a trivial bundle + one message to its root, sequential, ${base}, maxVatsOnline=${launchM + 50}, m=${launchM}, one run`;
  emit('swingset', 'launch', launch, 'vats/s', lbase);
  if (launchM >= 20) {
    emit('swingset', 'launch', (rss1 - rss0) / launchM, 'KB/vat',
      `RSS delta after gc (${Math.round(rss0 / 1024)} -> ${Math.round(rss1 / 1024)} MB) / m, all vats resident in one process, ${lbase}`);
  } else {
    log('swingset: m < 20, too few vats for an RSS-per-vat figure');
  }

  await c.shutdown();
  hostStorage.close();
};

main().then(
  () => process.exit(0),
  err => {
    console.error('swingset benchmark failed:', err);
    process.exit(1);
  },
);
