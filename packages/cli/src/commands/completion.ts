import { Command } from 'commander';

function words(cmds: readonly Command[]): string {
  return cmds.flatMap((c) => [c.name(), ...c.aliases()]).join(' ');
}

function flags(c: Command): string {
  return c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x))).join(' ');
}

/** A bash completion script generated from the command tree itself, so it never falls behind. */
export function bashCompletion(program: Command): string {
  const top = program.commands;
  const globals = flags(program);
  const subCases = top
    .filter((c) => c.commands.length > 0)
    .map((c) => `    ${[c.name(), ...c.aliases()].join('|')}) subs="${words(c.commands)}" ;;`)
    .join('\n');
  const optCases = top
    .flatMap((c) =>
      c.commands.length > 0
        ? c.commands.map((s) => `    "${c.name()} ${s.name()}") opts="${flags(s)}" ;;`)
        : [`    "${c.name()} "*) opts="${flags(c)}" ;;`],
    )
    .join('\n');
  return `# bash completion for strata; load with: source <(strata completion bash)
_strata() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="" sub="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    if [[ -z "$cmd" ]]; then cmd="$w"; elif [[ -z "$sub" ]]; then sub="$w"; fi
  done
  local subs="" opts=""
  case "$cmd" in
${subCases}
  esac
  if [[ -z "$cmd" ]]; then
    COMPREPLY=( $(compgen -W "${words(top)} ${globals}" -- "$cur") )
    return
  fi
  if [[ -z "$sub" && -n "$subs" && "$cur" != -* ]]; then
    COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
    return
  fi
  case "$cmd $sub" in
${optCases}
  esac
  COMPREPLY=( $(compgen -W "$opts ${globals}" -- "$cur") )
}
complete -F _strata strata
`;
}

export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .description('print a shell completion script (bash): source <(strata completion bash)')
    .argument('[shell]', 'bash', 'bash')
    .action((shell: string) => {
      if (shell !== 'bash') {
        process.stderr.write(
          `error: only bash completion is generated (zsh users: autoload bashcompinit && bashcompinit, then source it)\n`,
        );
        process.exitCode = 2;
        return;
      }
      process.stdout.write(bashCompletion(program()));
    });
}
