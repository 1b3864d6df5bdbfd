// Workloads 1, 2 and 4 on MetaMask ocap-kernel (@metamask/ocap-kernel): vats
// in-process (each VatSupervisor talks to the kernel over its own
// node:worker_threads MessageChannel), kernel state in an SQLite file.
// usage: node --expose-gc ocap-kernel.mjs   (counts from env: see common.mjs)
import { lockdownMode } from './ocap-kernel-init.mjs';

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import bundleSource from '@endo/bundle-source';
import { Kernel, VatSupervisor, kunser } from '@metamask/ocap-kernel';
import { makeSQLKernelDatabase } from '@metamask/kernel-store/sqlite/nodejs';
import { NodeWorkerDuplexStream } from '@metamask/streams';
import { Logger, splitLoggerStream } from '@metamask/logger';
import { isJsonRpcMessage } from '@metamask/kernel-utils';
import { log, emit, settings, measure, gc, rssKB } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

// Only warnings and errors, and only to stderr.
const quietLogger = tags =>
  new Logger({
    tags,
    transports: [
      ({ level, tags: t, message, data }) => {
        if (level === 'error' || level === 'warn') {
          process.stderr.write(
            `[${t.join(',')}] ${level}: ${message ?? ''} ${(data ?? []).map(String).join(' ')}\n`,
          );
        }
      },
    ],
  });

// Reads a bundle from a file: URL (what the nodejs vat worker does).
const fetchBlob = async url =>
  new Response(await fs.promises.readFile(fileURLToPath(url)));

// The VatWorkerService the kernel needs: launch / terminate / terminateAll.
// Each vat runs in this thread, connected over its own MessageChannel.
class InProcessVatWorkerService {
  #vats = new Map();

  async launch(vatId) {
    const { port1, port2 } = new MessageChannel();
    const kernelSide = new NodeWorkerDuplexStream(port1, isJsonRpcMessage);
    const vatSide = new NodeWorkerDuplexStream(port2, isJsonRpcMessage);
    const { kernelStream } = splitLoggerStream(vatSide);
    const logger = quietLogger(['vat', vatId]);
    await Promise.all([kernelSide.synchronize(), vatSide.synchronize()]);
    const supervisor = new VatSupervisor({
      id: vatId,
      kernelStream,
      logger,
      fetchBlob,
      vatPowers: { logger },
    });
    this.#vats.set(vatId, { supervisor, kernelSide, port1, port2 });
    return kernelSide;
  }

  async terminate(vatId) {
    const v = this.#vats.get(vatId);
    if (!v) throw Error(`no vat ${vatId}`);
    this.#vats.delete(vatId);
    await v.kernelSide.return();
    await v.supervisor.terminate();
    v.port1.close();
    v.port2.close();
  }

  async terminateAll() {
    for (const vatId of [...this.#vats.keys()]) {
      // eslint-disable-next-line no-await-in-loop
      await this.terminate(vatId);
    }
  }
}

const main = async () => {
  const { seqN, pipeN, launchM, reps } = settings();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocap-bench-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const bundleURL = async name => {
    const bundle = await bundleSource(path.join(here, `vats/${name}.js`));
    const file = path.join(dir, `${name}.bundle`);
    fs.writeFileSync(file, JSON.stringify(bundle));
    return pathToFileURL(file).href;
  };
  log('ocap-kernel: bundling vats...');
  const pingSpec = await bundleURL('ping-vat');
  const trivialSpec = await bundleURL('trivial-vat');

  // makeSQLKernelDatabase puts the file under $TMPDIR/ocap-sqlite/: make
  // that our temporary directory.
  process.env.TMPDIR = dir;
  const db = await makeSQLKernelDatabase({ dbFilename: 'kernel.db' });
  const { port1: commandPort } = new MessageChannel();
  const commandStream = new NodeWorkerDuplexStream(commandPort);
  const workers = new InProcessVatWorkerService();
  const kernel = await Kernel.make(commandStream, workers, db, {
    resetStorage: true,
    logger: quietLogger(['kernel']),
  });

  log('ocap-kernel: launching ping/pong subcluster...');
  const boot = await kernel.launchSubcluster({
    bootstrap: 'ping',
    vats: {
      ping: { bundleSpec: pingSpec, parameters: { role: 'ping' } },
      pong: { bundleSpec: pingSpec, parameters: { role: 'pong' } },
    },
  });
  if (kunser(boot) !== 'ready') throw Error(`bootstrap returned ${kunser(boot)}`);
  const pingVat = kernel.getVats().find(v => v.config.parameters?.role === 'ping');
  const root = kernel.pinVatRoot(pingVat.id);

  const call = async (method, arg, expect) => {
    const got = kunser(await kernel.queueMessage(root, method, [arg]));
    if (got !== expect) {
      throw Error(`${method}(${arg}) returned ${got}, expected ${expect}`);
    }
  };
  const sum = n => (n * (n + 1)) / 2;

  await call('sequential', 10, sum(10)); // warm-up
  await call('pipelined', 10, sum(10));
  const base = `in-process vats (MessageChannel), SQLite-file kernel store, lockdown=${lockdownMode}`;

  log(`ocap-kernel: sequential n=${seqN} x${reps}`);
  const seq = await measure('sequential', reps, seqN, () =>
    call('sequential', seqN, sum(seqN)),
  );
  emit('ocap-kernel', 'sequential', seq, 'round trips/s',
    `${base}, n=${seqN}, median of ${reps}`);

  log(`ocap-kernel: pipelined n=${pipeN} x${reps}`);
  const pipe = await measure('pipelined', reps, pipeN, () =>
    call('pipelined', pipeN, sum(pipeN)),
  );
  emit('ocap-kernel', 'pipelined', pipe, 'deliveries/s',
    `${base}, n=${pipeN} pings (1 delivery = 1 ping), median of ${reps}`);

  log(`ocap-kernel: launch m=${launchM} (one run)`);
  const trivialConfig = {
    bootstrap: 't',
    vats: { t: { bundleSpec: trivialSpec } },
  };
  gc();
  const rss0 = rssKB();
  const launch = await measure('launch', 1, launchM, async () => {
    for (let i = 0; i < launchM; i += 1) {
      // eslint-disable-next-line no-await-in-loop
      const r = await kernel.launchSubcluster(trivialConfig);
      if (kunser(r) !== 'ready') throw Error(`launch ${i} returned ${kunser(r)}`);
    }
  });
  gc();
  const rss1 = rssKB();
  const lbase = `kernel.launchSubcluster of a one-vat config (bootstrap message included), sequential, ${base}, m=${launchM}, one run`;
  emit('ocap-kernel', 'launch', launch, 'vats/s', lbase);
  if (launchM >= 20) {
    emit('ocap-kernel', 'launch', (rss1 - rss0) / launchM, 'KB/vat',
      `RSS delta after gc (${Math.round(rss0 / 1024)} -> ${Math.round(rss1 / 1024)} MB) / m, all vats resident in one process, ${lbase}`);
  } else {
    log('ocap-kernel: m < 20, too few vats for an RSS-per-vat figure');
  }

  await workers.terminateAll();
};

main().then(
  () => process.exit(0),
  err => {
    console.error('ocap-kernel benchmark failed:', err);
    process.exit(1);
  },
);
