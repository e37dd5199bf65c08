"""`daytona autocomplete SHELL`: print or install a shell completion script."""

from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import get_completion_class

from ._common import err

PROG = "daytona"
ENV_VAR = "_DAYTONA_COMPLETE"

RC_FILES = {"bash": "~/.bashrc", "zsh": "~/.zshrc"}
FISH_FILE = "~/.config/fish/completions/daytona.fish"


def _words(command: click.Command) -> dict[str, list[str]]:
    """Each command path ("daytona sandbox") mapped to the subcommands and options that follow it."""
    table: dict[str, list[str]] = {}

    def walk(cmd: click.Command, path: str) -> None:
        words = [opt for param in cmd.params for opt in getattr(param, "opts", []) if opt.startswith("-")]
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                words.append(name)
                walk(sub, f"{path} {name}")
        table[path] = [*sorted(set(words)), "--help"]

    walk(command, PROG)
    return table


def powershell_script(command: click.Command) -> str:
    lines = [f"    '{path}' = @({', '.join(repr(w) for w in words)})" for path, words in _words(command).items()]
    table = "\n".join(lines).replace('"', "'")
    return f"""# daytona completion for PowerShell: add to your $PROFILE
Register-ArgumentCompleter -Native -CommandName {PROG} -ScriptBlock {{
  param($wordToComplete, $commandAst, $cursorPosition)
  $words = @{{
{table}
  }}
  $parts = @($commandAst.CommandElements | ForEach-Object {{ $_.ToString() }} | Where-Object {{ $_ -notlike '-*' }})
  if ($wordToComplete) {{ $parts = $parts[0..($parts.Count - 2)] }}
  $key = ($parts -join ' ')
  while ($key -and -not $words.ContainsKey($key)) {{ $key = $key.Substring(0, $key.LastIndexOf(' ')) }}
  $words[$key] | Where-Object {{ $_ -like "$wordToComplete*" }} |
    ForEach-Object {{ [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }}
}}
"""


def script_for(shell: str, command: click.Command) -> str:
    if shell == "powershell":
        return powershell_script(command)
    completion = get_completion_class(shell)
    assert completion is not None
    return completion(command, {}, PROG, ENV_VAR).source()


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish", "powershell"]))
@click.option("--install", is_flag=True, help="Install it for your user instead of printing it.")
@click.pass_context
def autocomplete(ctx: click.Context, shell: str, install: bool) -> None:
    """Print (or --install) a completion script for SHELL."""
    root = ctx.find_root().command
    script = script_for(shell, root)
    if not install:
        click.echo(script)
        return
    if shell == "powershell":
        raise click.UsageError("for PowerShell, add the printed script to $PROFILE: daytona autocomplete powershell")
    if shell == "fish":
        target = Path(FISH_FILE).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script)
    else:
        target = Path(f"~/.daytona-completion.{shell}").expanduser()
        target.write_text(script)
        rc = Path(RC_FILES[shell]).expanduser()
        line = f"source {target}"
        if not rc.exists() or line not in rc.read_text():
            with rc.open("a") as fh:
                fh.write(f"\n# daytona completion\n{line}\n")
    err.print(f"Installed {shell} completion in {target}; open a new shell to use it")
