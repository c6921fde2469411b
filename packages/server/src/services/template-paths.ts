import { isAbsolute, normalize, sep } from 'node:path';
import { StrataError, type FileFormat } from '@strata/core';
import type { AgentPort } from '../orchestration/agent-port.js';

/**
 * A template's files are read by `qemu-img convert` and libvirt with the agents' rights, so a
 * path is the operator's to allow. The server checks its text: absolute and normal (no `..`), not
 * starting with `-` (else a tool reads it as an option), under one of the directories the operator
 * allows (`STRATA_TEMPLATE_DIRS`, docs/security.md). The file itself is on the hosts and the
 * storage node, not here: an agent that has it checks it again there (TemplateFiles).
 */
export function checkTemplatePath(field: string, path: string, allowedDirs: readonly string[]): string {
  const bad = (reason: string): never => {
    throw new StrataError('INVALID_ARGUMENT', { field, reason });
  };
  if (path.startsWith('-')) bad('must not start with "-"');
  if (path.includes('\0')) bad('must not contain a NUL character');
  if (!isAbsolute(path)) bad('must be an absolute path');
  if (normalize(path) !== path || path.endsWith(sep)) bad('must be a normal path (no "..", "." or "//")');
  if (allowedDirs.length === 0)
    bad('no template directory is allowed on this server (set STRATA_TEMPLATE_DIRS)');
  const under = (dir: string) => {
    const d = normalize(dir);
    return path.startsWith(d.endsWith(sep) ? d : d + sep);
  };
  if (!allowedDirs.some(under))
    bad(`must be under one of the allowed template directories: ${allowedDirs.join(', ')}`);
  return path;
}

/** Template files as the agents see them. */
export interface TemplateFiles {
  /**
   * Checks the file on an agent that has it (links followed, under an allowed directory, a regular
   * file) and, with a format, answers its virtual size (else null). INVALID_ARGUMENT for a refused
   * or missing file; UNAVAILABLE when no agent could look.
   */
  inspect(
    field: string,
    path: string,
    allowedDirs: readonly string[],
    format?: FileFormat,
  ): Promise<number | null>;
}

/**
 * TemplateFiles over the agent channel: each connected agent is asked in turn (hosts and storage
 * nodes alike; the template directory is shared or copied to the machines that clone from it),
 * the first that has the file decides.
 */
export function agentTemplateFiles(agent: AgentPort, connected: () => readonly string[]): TemplateFiles {
  return {
    async inspect(field, path, allowedDirs, format) {
      const hosts = [...connected()].sort();
      let failure: unknown = null;
      for (const hostId of hosts) {
        let r;
        try {
          r = await agent.send(hostId, 'template.inspect', {
            path,
            allowedDirs: [...allowedDirs],
            ...(format && { format }),
          });
        } catch (e) {
          // An agent that went away, timed out or is older than this command: ask the next.
          failure ??= e;
          continue;
        }
        if (r.state === 'ok') return r.virtualSize;
        if (r.state === 'refused')
          throw new StrataError('INVALID_ARGUMENT', {
            field,
            reason: `${r.reason} (checked on host ${hostId})`,
          });
      }
      if (hosts.length === 0 || failure !== null)
        throw new StrataError('UNAVAILABLE', {
          what: 'the template file check',
          reason:
            hosts.length === 0
              ? 'no agent is connected to read the file (the server does not read host files itself)'
              : `no connected agent has the file and one could not look: ${(failure as Error).message}`,
        });
      throw new StrataError('INVALID_ARGUMENT', {
        field,
        reason: `does not exist on any connected agent's machine (asked ${hosts.length})`,
      });
    },
  };
}
