#!/bin/bash
# cli_help.t: every command `umlkit --help` names answers `--help` with its usage on stdout,
# nothing on stderr and exit 0 (and `logs` and `console` too, which once took --help for an
# unknown option or a guest's name).
. "$(dirname "$0")/lib.sh"

test_expect_success 'umlkit --help names the commands' '
	run "$UMLKIT" --help &&
	test_is "$rc" 0 &&
	cmds=$(printf "%s\n" "$out" | sed -n "/^Commands:/,/^\$/p" |
		grep -oE "^  [a-z]+(, [a-z]+)*" | tr -d " " | tr , "\n") &&
	test_like "$(echo $cmds)" "cow image run start list status logs console stop kill rm trim exec cp" &&
	test_set_prereq CMDS
'

test_expect_success CMDS 'each command: COMMAND --help is its usage, exit 0, stderr empty' '
	for c in $cmds; do
		run "$UMLKIT" "$c" --help &&
		test_is "$rc" 0 &&
		test_like "$out" "^Usage:" &&
		test_is "$err" "" || { echo "# umlkit $c --help"; return 1; }
	done
'

test_done
