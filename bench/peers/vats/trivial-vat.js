// Trivial vat for the launch workload: a root object with one method.
import { Far } from '@endo/far';

export function buildRootObject() {
  return Far('Trivial', {
    bootstrap() {
      return 'ready';
    },
    hello() {
      return 'hello';
    },
  });
}
