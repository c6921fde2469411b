import { StrataError, validateName } from '@strata/core';

/**
 * Storage tags (CloudStack's disk offering and pool `tags`): a volume from an offering that names
 * tags goes only to a pool carrying every one. A tag is a short word-like label; CloudStack sends
 * them comma-separated, so a comma cannot be part of one.
 */
const MAX_TAGS = 16;

/** Validated, unique and sorted; a comma-separated string is split as CloudStack does. */
export function storageTagsOf(field: string, value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list))
    throw new StrataError('INVALID_ARGUMENT', { field, reason: 'must be a list of tags' });
  const tags = new Set<string>();
  for (const raw of list) {
    if (typeof raw !== 'string')
      throw new StrataError('INVALID_ARGUMENT', { field, reason: 'every tag must be a string' });
    const tag = raw.trim();
    if (tag === '') continue;
    validateName(field, tag, 64);
    if (tag.includes(','))
      throw new StrataError('INVALID_ARGUMENT', { field, reason: 'a tag cannot contain a comma' });
    tags.add(tag);
  }
  if (tags.size > MAX_TAGS)
    throw new StrataError('INVALID_ARGUMENT', { field, reason: `at most ${MAX_TAGS} tags` });
  return [...tags].sort();
}

/** The tags a row keeps (JSONB array of strings). */
export function storageTagsFromRow(r: Record<string, unknown>): string[] {
  const v = r['storage_tags'];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The tags of `wanted` that `carried` lacks. */
export function missingTags(wanted: readonly string[], carried: readonly string[]): string[] {
  return wanted.filter((t) => !carried.includes(t));
}
