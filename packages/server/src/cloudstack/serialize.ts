import { escapeXml } from '@strata/core';

/** A CloudStack answer body: lower-case keys; arrays become repeated elements in XML. */
export type CsValue = string | number | boolean | null | undefined | CsObject | readonly CsValue[];
export interface CsObject {
  readonly [key: string]: CsValue;
}

export type ResponseFormat = 'json' | 'xml';

export function contentType(format: ResponseFormat): string {
  return format === 'json' ? 'application/json; charset=UTF-8' : 'text/xml; charset=UTF-8';
}

/** `{ "<name>": body }`, CloudStack's one-key wrapper. */
export function serialize(format: ResponseFormat, name: string, body: CsObject, version: string): string {
  if (format === 'json') return JSON.stringify({ [name]: prune(body) });
  return `<?xml version="1.0" encoding="UTF-8"?><${name} cloud-stack-version="${escapeXml(version)}">${xmlChildren(body)}</${name}>`;
}

/** Drops null and undefined fields, as CloudStack leaves unset fields out. */
function prune(value: CsValue): CsValue {
  if (Array.isArray(value)) return value.map(prune);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, CsValue> = {};
    for (const [k, v] of Object.entries(value as CsObject))
      if (v !== null && v !== undefined) out[k] = prune(v);
    return out;
  }
  return value;
}

function xmlChildren(obj: CsObject): string {
  let out = '';
  for (const [key, value] of Object.entries(obj)) out += xmlElement(key, value);
  return out;
}

function xmlElement(key: string, value: CsValue): string {
  if (value === null || value === undefined) return '';
  // Keys come from our own tables, never from users; still refuse anything that is not a name.
  const tag = /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key) ? key : 'item';
  if (Array.isArray(value)) return value.map((v: CsValue) => xmlElement(tag, v)).join('');
  if (typeof value === 'object') return `<${tag}>${xmlChildren(value as CsObject)}</${tag}>`;
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}
