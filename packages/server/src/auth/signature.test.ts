import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { isStrataError } from '@strata/core';
import { contentHash, formatExpires, restSignedParams, signRestRequest } from './rest-signing.js';
import { canonicalString, decodeSignature, parseExpires, signParams, verifySignature } from './signature.js';

const SECRET = 'VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ';
const API_KEY = 'miVr6X7u6bN_sdahOBpjNejPgEsT35eXq-jB8CG20YI3yaxXcgpyuaIRmFI_EJTVwZ0nUkkJbPmY3y2bciKwFQ';

void test("canonical string equals CloudStack's documented example", () => {
  const params = {
    command: 'deployVirtualMachine',
    serviceOfferingId: '1',
    diskOfferingId: '1',
    templateId: '2',
    zoneId: '4',
    apiKey: API_KEY,
  };
  assert.equal(
    canonicalString(params),
    'apikey=mivr6x7u6bn_sdahobpjnejpgest35exq-jb8cg20yi3yaxxcgpyuairmfi_ejtvwz0nukkjbpmy3y2bcikwfq&command=deployvirtualmachine&diskofferingid=1&serviceofferingid=1&templateid=2&zoneid=4',
  );
});

void test('values are encoded like Java URLEncoder with %20 for spaces', () => {
  assert.equal(
    canonicalString({ name: 'a b+c/d*e~f!\'()&=<>"$;`' }),
    'name=a%20b%2bc%2fd*e%7ef%21%27%28%29%26%3d%3c%3e%22%24%3b%60',
  );
});

const python = '/usr/bin/python3';
const haveCs = existsSync('/usr/lib/python3/dist-packages/cs/client.py');

void test(
  "signatures match the real `cs` client's (Debian python3-cs) for awkward values",
  { skip: haveCs ? false : 'python3-cs is not installed' },
  () => {
    const params = {
      command: 'createVolume',
      name: 'vol "one" <two> & $three; `four` ~five* späce',
      apiKey: API_KEY,
      signatureVersion: '3',
      expires: '2031-01-01T00:00:00+0000',
      zoneId: 'Z-1',
    };
    const script = `
import json, sys
from cs.client import CloudStack
c = CloudStack(endpoint='http://x', key='k', secret=sys.argv[1])
data = json.loads(sys.argv[2])
c._sign(data)
print(data['signature'])`;
    const theirs = execFileSync(python, ['-c', script, SECRET, JSON.stringify(params)], {
      encoding: 'utf8',
    }).trim();
    // their string keeps `~` bare and sorts case-sensitively: the verifier must accept it
    assert.doesNotThrow(() =>
      verifySignature({ ...params, signature: theirs }, SECRET, { now: new Date('2030-01-01T00:00:00Z') }),
    );
    assert.equal(signParams(params, SECRET).length, 28);
  },
);

void test('verify accepts a correct v3 signature and refuses tampering, expiry and missing expiry', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const params = {
    command: 'listZones',
    apiKey: API_KEY,
    signatureVersion: '3',
    expires: formatExpires(new Date(now.getTime() + 60_000)),
  };
  const signature = signParams(params, SECRET);
  const ok = verifySignature({ ...params, signature }, SECRET, { now, requireExpires: true });
  assert.equal(ok.apiKey, API_KEY);
  assert.equal(ok.expiresAt?.toISOString(), '2030-01-01T00:01:00.000Z');

  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return isStrataError(e) ? e.code : 'not coded';
    }
    return 'no error';
  };
  assert.equal(
    code(() => verifySignature({ ...params, command: 'listHosts', signature }, SECRET, { now })),
    'AUTH_BAD_SIGNATURE',
  );
  assert.equal(
    code(() => verifySignature({ ...params, signature }, 'other-secret', { now })),
    'AUTH_BAD_SIGNATURE',
  );
  assert.equal(
    code(() => verifySignature({ ...params, signature }, SECRET, { now: new Date('2030-01-01T00:02:00Z') })),
    'AUTH_SIGNATURE_EXPIRED',
  );
  const v1 = { command: 'listZones', apiKey: API_KEY };
  assert.equal(
    code(() =>
      verifySignature({ ...v1, signature: signParams(v1, SECRET) }, SECRET, { now, requireExpires: true }),
    ),
    'AUTH_BAD_SIGNATURE',
  );
  assert.equal(
    code(() => verifySignature({ ...v1, signature: signParams(v1, SECRET) }, SECRET, { now })),
    'no error',
  );
  assert.equal(
    code(() => verifySignature({ command: 'x' }, SECRET, { now })),
    'AUTH_UNAUTHENTICATED',
  );
  assert.equal(
    code(() => verifySignature({ ...params, signature }, SECRET, { now, maxValidityMs: 30_000 })),
    'AUTH_BAD_SIGNATURE',
  );
});

void test('expires parses CloudStack and ISO forms and refuses zoneless times', () => {
  assert.equal(parseExpires('2030-01-01T10:00:00+0000').toISOString(), '2030-01-01T10:00:00.000Z');
  assert.equal(parseExpires('2030-01-01T10:00:00+0100').toISOString(), '2030-01-01T09:00:00.000Z');
  assert.equal(parseExpires('2030-01-01T10:00:00Z').toISOString(), '2030-01-01T10:00:00.000Z');
  assert.throws(
    () => parseExpires('2030-01-01T10:00:00'),
    (e) => isStrataError(e, 'AUTH_BAD_SIGNATURE'),
  );
  assert.throws(
    () => parseExpires('tomorrow'),
    (e) => isStrataError(e, 'AUTH_BAD_SIGNATURE'),
  );
});

void test('REST signing covers method, path and body', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const body = JSON.stringify({ name: 'v1', sizeBytes: 1024 });
  const qs = signRestRequest({
    method: 'POST',
    path: '/v1/volumes',
    body,
    apiKey: API_KEY,
    secretKey: SECRET,
    now,
  });
  const query = Object.fromEntries(new URLSearchParams(qs));
  const check = (method: string, path: string, b: string) => () =>
    verifySignature(restSignedParams(method, path, query, b), SECRET, { now });
  assert.doesNotThrow(check('POST', '/v1/volumes', body));
  assert.throws(check('PUT', '/v1/volumes', body), (e) => isStrataError(e, 'AUTH_BAD_SIGNATURE'));
  assert.throws(check('POST', '/v1/zones', body), (e) => isStrataError(e, 'AUTH_BAD_SIGNATURE'));
  assert.throws(check('POST', '/v1/volumes', body.replace('1024', '2048')), (e) =>
    isStrataError(e, 'AUTH_BAD_SIGNATURE'),
  );
  assert.equal(contentHash(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

void test('a signature is accepted in its one canonical spelling only (replay guard keys on it)', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const params = {
    command: 'createVolume',
    apiKey: API_KEY,
    signatureVersion: '3',
    expires: formatExpires(new Date(now.getTime() + 60_000)),
  };
  const signature = signParams(params, SECRET);
  assert.equal(verifySignature({ ...params, signature }, SECRET, { now }).signature, signature);
  const bare = signature.replace(/=+$/, '');
  for (const spelled of [
    bare,
    `${signature}junk`,
    `${signature}=`,
    ` ${signature}`,
    `${signature.slice(0, 9)} ${signature.slice(9)}`,
    `${signature.slice(0, 9)}\n${signature.slice(9)}`,
    signature.replace(/\+/g, '-').replace(/\//g, '_'),
    `${signature.slice(0, 3)}.${signature.slice(3)}`,
  ]) {
    if (spelled === signature) continue; // a signature without + or / has one base64url spelling
    // Node's decoder reads each as the same bytes: only the strict check tells them apart
    assert.ok(Buffer.from(spelled, 'base64').equals(Buffer.from(signature, 'base64')), spelled);
    assert.throws(
      () => verifySignature({ ...params, signature: spelled }, SECRET, { now }),
      (e) => isStrataError(e, 'AUTH_BAD_SIGNATURE'),
      JSON.stringify(spelled),
    );
  }
  assert.equal(decodeSignature(signature).length, 20);
  assert.throws(
    () => decodeSignature(bare),
    (e) => isStrataError(e, 'AUTH_BAD_SIGNATURE'),
  );
});
