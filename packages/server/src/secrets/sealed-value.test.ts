import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '@strata/core';
import { isSealed, newSecretKey, openWith, sealWith, sealedKeyId } from './sealed-value.js';

const context = 'storage_pools/pool-1/details/chapKey';

test('a sealed value opens to the plain text and does not contain it', () => {
  const key = newSecretKey();
  const sealed = sealWith(key, 'chap-secret-value', context);
  assert.match(sealed, /^enc:v1:[A-Za-z0-9_-]{11}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
  assert.equal(sealedKeyId(sealed), key.id);
  assert.doesNotMatch(sealed, /chap-secret-value/);
  assert.equal(openWith(key, sealed, context), 'chap-secret-value');
});

test('each sealing draws a new nonce: the same value seals differently', () => {
  const key = newSecretKey();
  assert.notEqual(sealWith(key, 'same', context), sealWith(key, 'same', context));
});

test('a plain value is recognised as plain; the empty string seals and opens', () => {
  const key = newSecretKey();
  assert.equal(isSealed('plain-old-secret'), false);
  assert.equal(sealedKeyId('plain-old-secret'), null);
  assert.equal(openWith(key, sealWith(key, '', context), context), '');
});

test('a value moved to another row or field, altered, or opened with another key is refused', () => {
  const key = newSecretKey();
  const sealed = sealWith(key, 'chap-secret-value', context);
  const refused = (f: () => unknown) =>
    assert.throws(f, (e: unknown) => isStrataError(e, 'SECRETS_OPEN_FAILED'));
  refused(() => openWith(key, sealed, 'storage_pools/pool-2/details/chapKey'));
  const body = sealed.slice(sealed.lastIndexOf(':') + 1);
  const flipped = (body[0] === 'A' ? 'B' : 'A') + body.slice(1);
  refused(() => openWith(key, sealed.slice(0, sealed.lastIndexOf(':') + 1) + flipped, context));
  refused(() => openWith(newSecretKey(), sealed, context));
  refused(() => openWith(key, `${sealed}:extra`, context));
});

test('the key id is derived from the key: the same bytes give the same id, other bytes another', () => {
  const a = newSecretKey();
  const b = newSecretKey();
  assert.notEqual(a.id, b.id);
  assert.equal(sealedKeyId(sealWith({ id: a.id, bytes: Buffer.from(a.bytes) }, 'x', context)), a.id);
});
