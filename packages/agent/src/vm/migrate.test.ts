import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rewriteInitiator } from './migrate.js';

const SRC = 'iqn.2026-12.io.strata:host-a';
const DST = 'iqn.2026-12.io.strata:host-b';

test("each iSCSI source's initiator becomes the destination's; other names and disks are kept", () => {
  const xml = [
    "<disk type='network'><source protocol='iscsi' name='iqn.t:1/0'>",
    `<initiator><iqn name='${SRC}'/></initiator></source></disk>`,
    `<disk type='network'><source protocol='iscsi' name='iqn.t:2/0'><initiator><iqn name="${SRC}" /></initiator></source></disk>`,
    "<disk type='network'><source protocol='iscsi' name='iqn.t:3/0'><initiator><iqn name='iqn.other:x'/></initiator></source></disk>",
    "<disk type='file'><source file='/pool/a.qcow2'/></disk>",
  ].join('\n');
  const out = rewriteInitiator(xml, SRC, DST);
  assert.equal(out.split(DST).length - 1, 2);
  assert.ok(!out.includes(SRC));
  assert.ok(out.includes(`<iqn name="${DST}" />`), 'quotes and spacing kept');
  assert.ok(out.includes("<iqn name='iqn.other:x'/>"), 'another initiator is left alone');
  assert.ok(out.includes("<source file='/pool/a.qcow2'/>"));
});

test('a name that is not an iSCSI name is refused, never spliced into the XML', () => {
  assert.throws(() => rewriteInitiator('<x/>', SRC, "iqn.x'/><evil"), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => rewriteInitiator('<x/>', '', DST), { code: 'INVALID_ARGUMENT' });
});
