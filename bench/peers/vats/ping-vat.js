// Ping vat, shared by the SwingSet and ocap-kernel benchmarks.  Two roles in
// one file, as in bench/vats/ping.lua: the bootstrap vat ("ping") drives,
// the other ("pong") answers.
import { E, Far } from '@endo/far';

export function buildRootObject() {
  let peer;
  let vatAdminSvc; // SwingSet only: for the launch workload
  let trivialCap;
  const launched = []; // keep launched roots alive (idle vats)

  return Far('Ping', {
    async bootstrap(vats, devices) {
      peer = vats.pong;
      if (vats.vatAdmin && devices && devices.vatAdmin) {
        vatAdminSvc = await E(vats.vatAdmin).createVatAdminService(
          devices.vatAdmin,
        );
        trivialCap = await E(vatAdminSvc).getNamedBundleCap('trivial');
      }
      return 'ready';
    },
    ping(i) {
      return i;
    },
    async sequential(n) {
      let sum = 0;
      for (let i = 1; i <= n; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        sum += await E(peer).ping(i);
      }
      return sum;
    },
    async pipelined(n) {
      const ps = [];
      for (let i = 1; i <= n; i += 1) {
        ps.push(E(peer).ping(i));
      }
      const results = await Promise.all(ps);
      return results.reduce((a, b) => a + b, 0);
    },
    // SwingSet: create m dynamic vats one after another; each launch is done
    // when the new vat's root has answered one message.
    async launch(m) {
      for (let i = 0; i < m; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        const { root, adminNode } = await E(vatAdminSvc).createVat(trivialCap, {
          name: `trivial${launched.length}`,
        });
        // eslint-disable-next-line no-await-in-loop
        await E(root).hello();
        launched.push({ root, adminNode });
      }
      return launched.length;
    },
  });
}
