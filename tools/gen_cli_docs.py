#!/usr/bin/env python3
"""Writes pq's man page pq(1) and its bash completion from the built tool's
own help: `pq --help` and `pq SUBCOMMAND --help` for each subcommand that
lists. Run at build time (CMakeLists.txt), so neither can drift from the CLI.

usage: gen_cli_docs.py PQ_BINARY --man OUT.1.gz --completion OUT.bash

The man page is gzipped with no timestamp (mtime 0) and dated by
SOURCE_DATE_EPOCH when set (else undated), so a rebuild is byte-identical.
"""
import argparse
import gzip
import os
import re
import subprocess
import sys
import time

# Options whose help shows no value but that take one (CLI11 prints its
# config option as a flag).
kValueWithoutType = {"--config"}


class Option:
    """One option or positional as a help text lists it."""

    def __init__(self, names, value, description):
        self.names = names            # ["-o", "--output"], or ["MODEL"] for a positional
        self.value = value            # "TEXT REQUIRED", "INT:POSITIVE", "" for a flag
        self.description = description  # lines

    @property
    def takes_value(self):
        return bool(self.value) or any(n in kValueWithoutType for n in self.names)

    @property
    def choices(self):
        """The values of a TEXT:{a,b,c} option, else []."""
        m = re.search(r":\{([^}]*)\}", self.value)
        return m.group(1).split(",") if m else []

    @property
    def numeric(self):
        return self.value.startswith(("INT", "FLOAT", "UINT"))


class Help:
    """A parsed help text: summary, usage, sections of options, subcommands,
    footer."""

    def __init__(self, text):
        lines = text.rstrip("\n").split("\n")
        self.summary = lines[0]
        self.usage = ""
        self.positionals = []
        self.options = []
        self.subcommands = []  # (name, summary)
        self.footer = []
        section = None
        for line in lines[1:]:
            if line.startswith("Usage: "):
                self.usage = line[len("Usage: "):]
                continue
            if line in ("Positionals:", "Options:", "Subcommands:"):
                section = line[:-1]
                continue
            if not line.strip():
                if section:
                    section = "after"
                continue
            if section == "after" or (section is None and self.usage):
                self.footer.append(line)
                continue
            self._add(section, line)

    def _add(self, section, line):
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if indent > 2:  # a description on its own line, or its continuation
            target = self.subcommands if section == "Subcommands" else (
                self.positionals if section == "Positionals" else self.options)
            if section != "Subcommands" and target:
                target[-1].description.append(body)
            return
        parts = re.split(r"\s{2,}", body, maxsplit=1)
        head = parts[0]
        description = [parts[1]] if len(parts) > 1 else []
        if section == "Subcommands":
            self.subcommands.append((head, description[0] if description else ""))
            return
        names, _, value = head.partition(" ")
        option = Option(names.split(","), value, description)
        (self.positionals if section == "Positionals" else self.options).append(option)


def run_help(pq, args):
    proc = subprocess.run([pq] + args + ["--help"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"gen_cli_docs: {pq} {' '.join(args)} --help failed: {proc.stderr.strip()}")
    return proc.stdout


def version_of(pq):
    out = subprocess.run([pq, "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("\n")[0].split(" ", 1)[1]


# ---- man page -------------------------------------------------------------

def roff(text):
    """Escapes text for roff: backslashes, hyphens, and a leading . or '."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def man_option(o):
    names = ", ".join(f"\\fB{roff(n)}\\fR" for n in o.names)
    # \: lets a long list of choices break after a comma.
    value = " \\fI" + roff(o.value).replace(",", ",\\:") + "\\fR" if o.value else ""
    body = "\n.br\n".join(roff(d) for d in o.description) or "."
    return f".TP\n{names}{value}\n{body}\n"


def man_page(pq, top, subs):
    version = version_of(pq)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    date = time.strftime("%Y-%m-%d", time.gmtime(int(epoch))) if epoch else ""
    name, _, what = top.summary.partition(": ")
    out = [f'.TH PQ 1 "{date}" "pq {version}" "User Commands"',
           ".SH NAME", f"pq \\- {roff(what or name)}",
           ".SH SYNOPSIS",
           ".B pq\n[\\fIOPTIONS\\fR] \\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]",
           ".SH DESCRIPTION",
           roff(top.summary) + ".",
           "Each subcommand is described below; \\fBpq \\fISUBCOMMAND\\fB \\-\\-help\\fR prints the same text.",
           ".SH OPTIONS"]
    out += [man_option(o).rstrip("\n") for o in top.options]
    out.append(".SH COMMANDS")
    for (sub_name, _), sub in zip(top.subcommands, subs):
        usage = sub.usage.split(" ", 1)[1] if " " in sub.usage else sub.usage
        out.append(f'.SS "pq {roff(usage)}"')
        out.append(roff(sub.summary) + ".")
        out += [man_option(o).rstrip("\n") for o in sub.positionals + sub.options]
    out.append('.SH "EXIT STATUS"')
    out.append("\n.br\n".join(roff(line) for line in top.footer))
    out += [".SH ENVIRONMENT", ".TP", "\\fBSOURCE_DATE_EPOCH\\fR",
            "Seconds since 1970: the time written into reports and attestations, "
            "so that the same work gives byte-identical files.",
            '.SH "SEE ALSO"', "The README of pq, and \\fBpq \\fISUBCOMMAND\\fB \\-\\-help\\fR."]
    return "\n".join(out) + "\n"


# ---- bash completion ------------------------------------------------------

def shell_words(words):
    return " ".join(words)


def completion(top, subs):
    sub_names = [name for name, _ in top.subcommands]
    lines = [
        "# bash completion for pq; generated from pq's own --help by tools/gen_cli_docs.py.",
        "_pq() {",
        '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" sub="" i',
        "  for ((i = 1; i < COMP_CWORD; i++)); do",
        '    case "${COMP_WORDS[i]}" in',
        f"      {'|'.join(sub_names)}) sub=\"${{COMP_WORDS[i]}}\"; break ;;",
        "    esac",
        "  done",
        "  # The value of the option before the cursor.",
        '  case "$sub:$prev" in',
    ]

    def value_cases(scope, options):
        for o in options:
            longs = [n for n in o.names if n.startswith("-")]
            if not longs or not o.takes_value:
                continue
            pattern = "|".join(f"{scope}:{n}" for n in longs)
            if o.choices:
                action = f'COMPREPLY=($(compgen -W "{shell_words(o.choices)}" -- "$cur"))'
            elif o.numeric:
                action = "COMPREPLY=()"
            else:
                action = 'COMPREPLY=($(compgen -f -- "$cur"))'
            lines.append(f"    {pattern}) {action}; return ;;")

    value_cases("*", top.options)  # global options are accepted after a subcommand too
    for name, sub in zip(sub_names, subs):
        value_cases(name, sub.options)
    lines += ["  esac", '  case "$sub" in']
    global_names = [n for o in top.options for n in o.names if n.startswith("-")]
    lines.append(f'    "") COMPREPLY=($(compgen -W "{shell_words(sub_names + global_names)}" -- "$cur")); '
                 "return ;;")
    for name, sub in zip(sub_names, subs):
        names = [n for o in sub.options for n in o.names if n.startswith("-")] + global_names
        lines.append(f'    {name}) local opts="{shell_words(names)}" ;;')
    lines += [
        "  esac",
        '  if [[ "$cur" == -* ]]; then',
        '    COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
        "  else",
        '    COMPREPLY=($(compgen -f -- "$cur"))',
        "  fi",
        "}",
        "complete -o filenames -o bashdefault -F _pq pq",
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pq")
    parser.add_argument("--man", required=True)
    parser.add_argument("--completion", required=True)
    args = parser.parse_args()
    top = Help(run_help(args.pq, []))
    if not top.subcommands or not top.options:
        sys.exit(f"gen_cli_docs: no subcommands or options in `{args.pq} --help`")
    subs = [Help(run_help(args.pq, [name])) for name, _ in top.subcommands]
    with open(args.man, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=9, mtime=0) as z:
            z.write(man_page(args.pq, top, subs).encode())
    with open(args.completion, "w") as f:
        f.write(completion(top, subs))


if __name__ == "__main__":
    main()
