import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { body, listBody, need, type Command } from '../command.js';
import { read } from '../params.js';
import * as r from '../render.js';

/**
 * The file a registerTemplate `url` names: `file:///…` or an absolute path. Strata does not
 * download templates, so any other scheme is refused; the path itself is checked by the template
 * service against the directories the operator allows (STRATA_TEMPLATE_DIRS).
 */
export function templateFile(url: string): string {
  if (url.startsWith('/')) return url;
  const refuse = (reason: string): never => {
    throw new StrataError('INVALID_ARGUMENT', { field: 'url', reason });
  };
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    refuse('must be a file:// URL or an absolute path');
  }
  if (parsed?.protocol !== 'file:')
    refuse(
      `only file:// URLs or absolute paths under an allowed template directory (STRATA_TEMPLATE_DIRS); Strata does not download ${parsed?.protocol ?? ''} URLs`,
    );
  if (parsed?.host) refuse('a file:// URL must name no host');
  return fileURLToPath(parsed!);
}

function format(value: string): 'qcow2' | 'raw' {
  const f = value.toLowerCase();
  if (f === 'qcow2' || f === 'raw') return f;
  throw new StrataError('INVALID_ARGUMENT', { field: 'format', reason: 'must be QCOW2 or RAW' });
}

export const registerTemplate: Command = {
  name: 'registerTemplate',
  description:
    'Registers a template from a file the operator allows (file:// URL or absolute path under STRATA_TEMPLATE_DIRS; admins); its size is read from the file',
  isAsync: false,
  entity: 'template',
  params: {
    name: { type: 'string', required: true, description: 'the template name' },
    url: {
      type: 'string',
      required: true,
      description: 'file:///path or /path under an allowed template directory; nothing is downloaded',
    },
    format: { type: 'string', required: true, description: 'QCOW2 or RAW' },
    hypervisor: { type: 'string', required: true, description: 'KVM' },
    displaytext: { type: 'string', description: 'accepted; Strata answers the name' },
    zoneid: { type: 'string', description: 'accepted; a template serves every zone' },
    ostypeid: { type: 'string', description: 'accepted; one OS type stands for all (listOsTypes)' },
  },
  async handler(ctx) {
    const p = ctx.params;
    const hypervisor = read.required(read.str(p, 'hypervisor'));
    if (hypervisor.toLowerCase() !== 'kvm')
      throw new StrataError('INVALID_ARGUMENT', { field: 'hypervisor', reason: 'must be KVM' });
    const t = await need(ctx, 'templates').register(ctx.caller, {
      name: read.required(read.str(p, 'name')),
      path: templateFile(read.required(read.str(p, 'url'))),
      format: format(read.required(read.str(p, 'format'))),
    });
    return listBody('template', 1, [r.template(t)]);
  },
};

export const deleteTemplate: Command = {
  name: 'deleteTemplate',
  description: 'Deletes a template no volume stands on (admins)',
  isAsync: false,
  params: {
    id: { type: 'uuid', required: true, description: 'the template' },
    zoneid: { type: 'string', description: 'accepted; a template serves every zone' },
  },
  async handler(ctx) {
    await need(ctx, 'templates').remove(ctx.caller, read.required(read.str(ctx.params, 'id')));
    return body({ success: true });
  },
};
