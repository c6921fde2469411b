import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize } from './serialize.js';

void test('JSON: one <command>response key, unset fields left out', () => {
  const text = serialize(
    'json',
    'listzonesresponse',
    { count: 1, zone: [{ id: 'z1', name: 'a', clusterid: undefined, x: null }] },
    'v',
  );
  assert.deepEqual(JSON.parse(text), { listzonesresponse: { count: 1, zone: [{ id: 'z1', name: 'a' }] } });
});

void test('XML: lists become repeated elements, nested objects elements, every value escaped', () => {
  const text = serialize(
    'xml',
    'listzonesresponse',
    { count: 2, zone: [{ name: `<a href="x">&'` }, { name: 'b', tags: { k: 'v' } }], ok: true },
    '4"x',
  );
  assert.equal(
    text,
    '<?xml version="1.0" encoding="UTF-8"?><listzonesresponse cloud-stack-version="4&quot;x"><count>2</count>' +
      '<zone><name>&lt;a href=&quot;x&quot;&gt;&amp;&apos;</name></zone><zone><name>b</name><tags><k>v</k></tags></zone><ok>true</ok></listzonesresponse>',
  );
});
