import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError, StrataError } from '../errors/strata-error.js';
import { agentCommandNames, isAgentCommand } from './commands.js';
import {
  decodeMessage,
  encodeMessage,
  toWireError,
  type RequestMessage,
  type WireError,
} from './protocol.js';
import { fromWireError } from './wire-error.js';

test('a request survives encode and decode unchanged', () => {
  const request: RequestMessage = {
    kind: 'request',
    id: 'r1',
    command: 'vm.start',
    params: { vm: 'a "b" <c>' },
    timeoutMs: 5,
  };
  assert.deepEqual(decodeMessage(encodeMessage(request)), request);
});

test('malformed frames are INVALID_ARGUMENT naming what is wrong', () => {
  const bad = (text: string, field: string) =>
    assert.throws(
      () => decodeMessage(text),
      (e) => isStrataError(e, 'INVALID_ARGUMENT') && e.params['field'] === field,
    );
  bad('not json', 'frame');
  bad('[1]', 'frame');
  bad('{"kind":"shout"}', 'kind');
  bad('{"kind":"request","id":"x","timeoutMs":1}', 'command');
  bad('{"kind":"response","id":"x","ok":false}', 'error');
});

test('a coded error crosses the wire with its code, params and retryable flag', () => {
  const original = new StrataError('TIMEOUT', { what: 'freeze', ms: 100 });
  const back = fromWireError(JSON.parse(JSON.stringify(toWireError(original))) as WireError);
  assert.equal(back.code, 'TIMEOUT');
  assert.equal(back.message, original.message);
  assert.equal(back.retryable, true);
});

test('a plain Error becomes INTERNAL keeping its message; an unknown code stays visible', () => {
  const wire = toWireError(new Error('virsh exploded'));
  assert.equal(wire.code, 'INTERNAL');
  assert.match(fromWireError(wire).message, /virsh exploded/);
  const future = fromWireError({ code: 'FROM_A_NEWER_AGENT', message: 'something new', retryable: false });
  assert.equal(future.code, 'INTERNAL');
  assert.match(future.message, /FROM_A_NEWER_AGENT: something new/);
});

test('command names: the list is the map, nothing else is a command', () => {
  assert.equal(new Set(agentCommandNames).size, agentCommandNames.length);
  assert.ok(isAgentCommand('guest.freeze'));
  assert.ok(!isAgentCommand('rm -rf /'));
  assert.ok(!isAgentCommand('toString'));
});
