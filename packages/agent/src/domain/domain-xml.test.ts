import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '@strata/core';
import { diskXml } from './disk-xml.js';
import { domainXml, GUEST_AGENT_CHANNEL } from './domain-xml.js';

const NASTY = `a'b"c<d>&e $(x);|`;

void test('every user string is escaped and the guest agent channel is always present', () => {
  const xml = domainXml({
    name: NASTY,
    cpus: 1,
    memoryBytes: 128 << 20,
    disks: [
      {
        volumeId: 'vol-1',
        target: 'vda',
        source: { kind: 'file', path: `/p/${NASTY}.qcow2`, format: 'qcow2' },
      },
    ],
  });
  assert.ok(xml.includes('<name>a&apos;b&quot;c&lt;d&gt;&amp;e $(x);|</name>'));
  assert.ok(xml.includes(`file='/p/a&apos;b&quot;c&lt;d&gt;&amp;e $(x);|.qcow2'`));
  assert.ok(!xml.includes(NASTY));
  assert.ok(xml.includes(`name='${GUEST_AGENT_CHANNEL}'`));
  assert.ok(xml.includes('<serial>vol-1</serial>'));
  assert.ok(xml.includes("<domain type='qemu'>"));
  assert.ok(xml.includes("<tb-cache unit='MiB'>32</tb-cache>"));
});

void test('iSCSI disks carry the initiator name and CHAP by secret reference; RBD disks cephx', () => {
  const iscsi = diskXml({
    volumeId: 'v2',
    target: 'vdb',
    source: {
      kind: 'iscsi',
      portal: '10.0.0.1',
      iqn: 'iqn.x:t',
      lun: 3,
      initiatorIqn: 'iqn.h:1',
      chap: { username: `u${NASTY}`, secretUuid: 'uuid-1' },
    },
    iotune: { totalIopsSec: 100, totalIopsSecMax: 200, totalIopsSecMaxLength: 5 },
  });
  assert.match(iscsi, /<source protocol='iscsi' name='iqn.x:t\/3'><host name='10.0.0.1' port='3260'\/>/);
  assert.match(iscsi, /<initiator><iqn name='iqn.h:1'\/><\/initiator>/);
  assert.match(
    iscsi,
    /<auth username='ua&apos;b&quot;c&lt;d&gt;&amp;e \$\(x\);\|'><secret type='iscsi' uuid='uuid-1'\/><\/auth>/,
  );
  assert.match(
    iscsi,
    /<total_iops_sec>100<\/total_iops_sec>.*<total_iops_sec_max>200<\/total_iops_sec_max><total_iops_sec_max_length>5</,
  );
  const rbd = diskXml({
    volumeId: 'v3',
    target: 'vdc',
    source: {
      kind: 'rbd',
      pool: 'p',
      image: 'i',
      monitors: ['127.0.0.1'],
      auth: { username: 'hv', secretUuid: 'uuid-2' },
    },
  });
  assert.match(
    rbd,
    /<source protocol='rbd' name='p\/i'><host name='127.0.0.1' port='3300'\/><auth username='hv'><secret type='ceph' uuid='uuid-2'\/><\/auth><\/source>/,
  );
});

void test('disks on remote storage pause the guest on an I/O error; local files keep the default', () => {
  const stop = /<driver [^>]*error_policy='stop' rerror_policy='stop'\/>/;
  const iscsi = { kind: 'iscsi', portal: '10.0.0.1', iqn: 'iqn.x:t', lun: 1 } as const;
  const rbd = { kind: 'rbd', pool: 'p', image: 'i', monitors: ['127.0.0.1'] } as const;
  for (const source of [iscsi, rbd, { kind: 'block', path: '/dev/sdz' } as const])
    assert.match(diskXml({ volumeId: 'v', target: 'vdb', source }), stop, source.kind);
  const file = diskXml({
    volumeId: 'v',
    target: 'vdb',
    source: { kind: 'file', path: '/x', format: 'qcow2' },
  });
  assert.doesNotMatch(file, /error_policy/);
});

void test('bad targets, serials and duplicate targets are refused with INVALID_ARGUMENT', () => {
  const file = { kind: 'file', path: '/x', format: 'raw' } as const;
  assert.throws(
    () => diskXml({ volumeId: 'v', target: 'sda; rm', source: file }),
    (e) => isStrataError(e, 'INVALID_ARGUMENT'),
  );
  assert.throws(
    () => diskXml({ volumeId: `v${NASTY}`, target: 'vdb', source: file }),
    (e) => isStrataError(e, 'INVALID_ARGUMENT'),
  );
  assert.throws(
    () =>
      domainXml({
        name: 'x',
        cpus: 1,
        memoryBytes: 128 << 20,
        disks: [
          { volumeId: 'a', target: 'vdb', source: file },
          { volumeId: 'b', target: 'vdb', source: file },
        ],
      }),
    (e) => isStrataError(e, 'INVALID_ARGUMENT'),
  );
});
