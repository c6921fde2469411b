import assert from 'node:assert/strict';
import { test } from 'node:test';
import { targetBackings } from './stale-targets.js';

// tgtadm's own layout (tgt 1.0.85): LUN 0 is the controller with no backing file.
const SHOW = `Target 1: iqn.2026-11.io.strata:pool-a.vol-1
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
        LUN: 1
            Type: disk
            Backing store path: /pools/a b/vol-1.raw
    Account information:
    ACL information:
        ALL
Target 7: iqn.2026-11.io.strata:pool-a.vol-2
    System information:
        Driver: iscsi
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
`;

test('each target with the files its LUNs serve; the controller LUN has none', () => {
  assert.deepEqual(targetBackings(SHOW), [
    { tid: 1, files: ['/pools/a b/vol-1.raw'] },
    { tid: 7, files: [] },
  ]);
});
