#!/bin/bash
# The test library itself (tests/sh/lib.sh): a script of blocks run as a child, its TAP read
# back. A passing body passes, a failing one fails with its output shown, variables reach
# later blocks, prerequisites skip (and a missing environment prerequisite fails once under
# UK_TESTS_MUST_RUN=1), test_must_fail takes a signal or a missing command as a failure,
# test_when_finished runs after a failed body, --run selects blocks, the exit status.
. "$(dirname "$0")/lib.sh"
LIB="$(cd "$(dirname "$0")" && pwd)/lib.sh"

# inner NAME BODY-LINES: write $T/NAME.t, a script that sources lib.sh and ends in test_done
inner() {
	printf '#!/bin/bash\n. "%s"\n%s\ntest_done\n' "$LIB" "$2" >"$T/$1.t"
	chmod +x "$T/$1.t"
}

inner basic '
test_expect_success "setup" "v=hello && test_set_prereq A"
test_expect_success A "sees v" "test_is \"\$v\" hello"
test_expect_success B "needs B" "false"
test_expect_success "fails" "echo visible-output && test_is 1 2"
test_expect_failure "known" "false"'
test_expect_success 'a failing block fails the file (exit 1)' '
	test_expect_code 1 "$T/basic.t" >"$T/basic.out"
'
test_expect_success 'a passing body is ok, with its title' '
	grep -qx "ok 1 - setup" "$T/basic.out" && grep -qx "ok 2 - sees v" "$T/basic.out"
'
test_expect_success 'a missing prerequisite skips with its name' '
	grep -qx "ok 3 # skip needs B (missing B)" "$T/basic.out"
'
test_expect_success 'a failing body is not ok, its output shown as comments' '
	grep -qx "not ok 4 - fails" "$T/basic.out" &&
	grep -q "^#  > visible-output" "$T/basic.out" &&
	grep -q "^#  > test_is: got:  .1." "$T/basic.out"
'
test_expect_success 'a known breakage is a TODO' '
	grep -qx "not ok 5 - known # TODO known breakage" "$T/basic.out"
'
test_expect_success 'the plan counts every block' '
	grep -qx "1..5" "$T/basic.out"
'

inner must_fail '
test_expect_success "signal" "test_must_fail sh -c \"kill -SEGV \\\$\\\$\""
test_expect_success "missing command" "test_must_fail /nonexistent/cmd"
test_expect_success "success" "test_must_fail true"
test_expect_success "ordinary failure" "test_must_fail false"
test_expect_success "expect_code" "test_expect_code 3 sh -c \"exit 3\""'
test_expect_success 'test_must_fail: a signal, a missing command, a success are failures' '
	test_must_fail "$T/must_fail.t" >"$T/mf.out"
	grep -qx "not ok 1 - signal" "$T/mf.out" &&
	grep -qx "not ok 2 - missing command" "$T/mf.out" &&
	grep -qx "not ok 3 - success" "$T/mf.out" &&
	grep -qx "ok 4 - ordinary failure" "$T/mf.out" &&
	grep -qx "ok 5 - expect_code" "$T/mf.out"
'

inner finished '
test_expect_success "cleanup after failure" "test_when_finished \"touch \$T/fin\" && false"
test_expect_success "it ran" "test_path_is_file \$T/fin"'
test_expect_success 'test_when_finished runs after a failed body' '
	test_must_fail "$T/finished.t" >"$T/fin.out"
	grep -qx "ok 2 - it ran" "$T/fin.out"
'

inner lazy '
test_lazy_prereq NEVER false
test_expect_success NEVER "one" true
test_expect_success NEVER "two" true
test_expect_success !NEVER "negated" true'
test_expect_success 'a missing environment prerequisite skips, with MUST_RUN fails once' '
	UK_TESTS_MUST_RUN=0 "$T/lazy.t" >"$T/lazy0.out" &&
	grep -qx "ok 1 # skip one (missing NEVER)" "$T/lazy0.out" &&
	grep -qx "ok 3 - negated" "$T/lazy0.out" &&
	test_must_fail env UK_TESTS_MUST_RUN=1 "$T/lazy.t" >"$T/lazy1.out" &&
	grep -qx "not ok 1 - one: prerequisite NEVER missing and UK_TESTS_MUST_RUN=1" "$T/lazy1.out" &&
	grep -qx "ok 2 # skip two (missing NEVER)" "$T/lazy1.out"
'

inner select '
test_expect_success "a" true
test_expect_success "b" false
test_expect_success "c" true'
test_expect_success '--run=N runs only the blocks named' '
	"$T/select.t" --run=1,3 >"$T/sel.out" &&
	grep -qx "ok 2 # skip b (not in --run)" "$T/sel.out"
'

cat >"$T/jsonrun.body" <<'BODY'
test_expect_success "run and json" '
	run sh -c "echo {\\\"a\\\":[1,2]}; echo err >&2; exit 4" &&
	test_is "$rc" 4 && test_is "$err" err && test_is "$(json ".a[1]")" 2
'
BODY
inner jsonrun "$(cat "$T/jsonrun.body")"
test_expect_success 'run sets rc, out and err; json reads $out' '
	"$T/jsonrun.t" >"$T/json.out"
'

inner traps '
test_expect_success "unset variable" "test_is \"\$no_such_variable\" x"
test_expect_success "return" "test_when_finished \"touch \$T/ret\"; return 3"
test_expect_success "after" "test_path_is_file \$T/ret"'
test_expect_success 'an unset variable or a return fails the block, not the script' '
	test_must_fail "$T/traps.t" >"$T/traps.out"
	grep -qx "not ok 1 - unset variable" "$T/traps.out" &&
	grep -qx "not ok 2 - return" "$T/traps.out" &&
	grep -qx "ok 3 - after" "$T/traps.out" &&
	grep -qx "1..3" "$T/traps.out"
'

test_done
