#!/bin/bash
# agent.t: the guest agent with the real kernel, on an image made by `umlkit image build`:
# `umlkit start --ready=agent`, `umlkit exec` (exit status, signals, separate streams, stdin
# with -i, a terminal with -t, several at once, thousands of tiny writes in order), `umlkit
# cp` (a binary file both ways with its mode, a tree with -r, 300 small files both ways with
# equal checksums, a missing destination directory refused with nothing written),
# refusals without a hang (a stopped guest, a guest whose image has no agent), and another
# user (nobody) kept off the agent's socket.
. "$(dirname "$0")/lib.sh"

case "$T" in *,* | *:*) test_skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
PATH=$PATH:/usr/sbin:/sbin

# guest_exec ARGS...: umlkit exec bounded in time (a hang fails instead of blocking the run)
guest_exec() { timeout 60 "$UMLKIT" exec "$@"; }

test_expect_success UML,AGENT_BUILT,BUSYBOX,DEBUGFS 'setup: an image with the agent, a guest ready at its hello' '
	"$UMLKIT" image build --size 128M "$T/agent.img" &&
	debugfs -R "stat /usr/sbin/umlkit-agent" "$T/agent.img" 2>/dev/null | grep -q "Mode: *0755" &&
	run "$UMLKIT" start --name web --mem 128M --disk "$T/web.cow,$T/agent.img" \
		--ready=agent --wait --timeout 120 &&
	track web &&
	test_is "$rc" 0 &&
	test_like "$out" "^web: running" &&
	test_set_prereq WEB
'

test_expect_success WEB 'exec: exit status 0 and 3, stdout and stderr kept apart' '
	run guest_exec web true &&
	test_is "$rc" 0 &&
	run guest_exec web sh -c "echo to-out; echo to-err >&2; exit 3" &&
	test_is "$rc" 3 &&
	test_is "$out" to-out &&
	test_is "$err" to-err
'

test_expect_success WEB 'the kernel skipped its RAID6 benchmark (umlkit-guest(1), UMLKIT_KERNEL_RAID6)' '
	run guest_exec web cat /proc/cmdline &&
	test_like "$out" " initcall_blacklist=raid6_select_algo,raid6_init " &&
	run guest_exec web dmesg &&
	test_is "$rc" 0 &&
	test_like "$out" "Linux version" &&
	test_unlike "$out" "raid6: .*gen()"
'

test_expect_success WEB 'exec: a command killed by signal N exits 128+N' '
	run guest_exec web sh -c "kill -TERM \$\$" &&
	test_is "$rc" 143 &&
	run guest_exec web sh -c "kill -KILL \$\$" &&
	test_is "$rc" 137
'

test_expect_success WEB 'exec: a missing command is 127 with the guest named, options after --' '
	run guest_exec web -- no-such-command arg &&
	test_is "$rc" 127 &&
	test_like "$err" "guest .web.: no-such-command: No such file or directory" &&
	run guest_exec web -- ls -d / &&
	test_is "$out" /
'

test_expect_success WEB 'exec -i: a binary blob round-trips through cat, EOF passed on' '
	head -c 3145728 /dev/urandom >"$T/blob" &&
	guest_exec -i web cat <"$T/blob" >"$T/blob.back" &&
	test_is "$(sum_of "$T/blob.back")" "$(sum_of "$T/blob")" &&
	run guest_exec -i web wc -c <"$T/blob" &&
	test_is "$(echo $out)" 3145728 &&
	run guest_exec web sh -c "cat | wc -c" <"$T/blob" &&
	test_is "$(echo $out)" 0
'

test_expect_success WEB 'exec -t: the command has a terminal; without -t it has none' '
	run guest_exec -t web tty &&
	test_is "$rc" 0 &&
	test_like "$out" "^/dev/pts/[0-9]+" &&
	run guest_exec -t web test -t 0 &&
	test_is "$rc" 0 &&
	run guest_exec web test -t 0 &&
	test_is "$rc" 1
'

test_expect_success WEB 'exec: eight at once, each with its own output' '
	for i in 1 2 3 4 5 6 7 8; do
		guest_exec web sh -c "sleep 1; echo session-$i; exit $i" >"$T/par.$i" 2>&1 &
		pids="$pids $!"
	done &&
	n=0 &&
	for p in $pids; do n=$((n + 1)); wait $p; test_is "$?" "$n" || return 1; done &&
	for i in 1 2 3 4 5 6 7 8; do test_is "$(cat "$T/par.$i")" "session-$i" || return 1; done
'

test_expect_success WEB 'cp: a binary file in and out, the same bytes and mode' '
	head -c 4194304 /dev/urandom >"$T/data.bin" &&
	chmod 0751 "$T/data.bin" &&
	run timeout 60 "$UMLKIT" cp "$T/data.bin" web:/root/ &&
	test_is "$rc" 0 &&
	run guest_exec web sha256sum /root/data.bin &&
	test_is "${out%% *}" "$(sum_of "$T/data.bin")" &&
	run guest_exec web stat -c %a /root/data.bin &&
	test_is "$out" 751 &&
	mkdir "$T/back" &&
	run timeout 60 "$UMLKIT" cp web:/root/data.bin "$T/back/copy.bin" &&
	test_is "$rc" 0 &&
	test_is "$(sum_of "$T/back/copy.bin")" "$(sum_of "$T/data.bin")" &&
	test_is "$(stat -c %a "$T/back/copy.bin")" 751 &&
	test_is "$(ls -A "$T/back")" copy.bin
'

test_expect_success WEB 'cp -r: a small tree in and out, symlinks kept as symlinks' '
	mkdir -p "$T/tree/sub/deeper" &&
	echo one >"$T/tree/one" &&
	echo two >"$T/tree/sub/deeper/two" &&
	chmod 0600 "$T/tree/one" &&
	chmod 0700 "$T/tree/sub" &&
	ln -s one "$T/tree/link" &&
	run timeout 60 "$UMLKIT" cp "$T/tree" web:/root/ &&
	test_is "$rc" 1 &&
	test_like "$err" "is a directory \(use -r\)" &&
	run timeout 60 "$UMLKIT" cp -r "$T/tree" web:/root/ &&
	test_is "$rc" 0 &&
	run guest_exec web sh -c "cat /root/tree/sub/deeper/two; readlink /root/tree/link; stat -c %a /root/tree/one /root/tree/sub" &&
	test_is "$out" "$(printf "two\none\n600\n700")" &&
	run timeout 60 "$UMLKIT" cp -r web:/root/tree "$T/tree.back" &&
	test_is "$rc" 0 &&
	diff -r --no-dereference "$T/tree" "$T/tree.back" &&
	test_is "$(stat -c %a "$T/tree.back/sub")" 700 &&
	test_is "$(readlink "$T/tree.back/link")" one
'

# Many small frames arrive in one read on either side (the relay and the agent batch them):
# every byte must still land in its own stream, in order.
test_expect_success WEB 'exec: 2000 tiny writes on each stream, every byte in order' '
	run guest_exec web sh -c "i=0; while [ \$i -lt 2000 ]; do echo \$i; echo e\$i >&2; i=\$((i + 1)); done" &&
	test_is "$rc" 0 &&
	test_is "$(printf "%s\n" "$out" | sum_of /dev/stdin)" "$(seq 0 1999 | sum_of /dev/stdin)" &&
	test_is "$(printf "%s\n" "$err" | sum_of /dev/stdin)" "$(seq -f e%g 0 1999 | sum_of /dev/stdin)"
'

test_expect_success WEB 'cp -r: 300 small files in and out, every checksum equal' '
	mkdir -p "$T/many/a" "$T/many/b" &&
	for i in $(seq 1 300); do
		d=a && [ $((i % 2)) = 0 ] && d=b
		head -c $((i * 7 % 257)) /dev/urandom >"$T/many/$d/f$i" || return 1
	done &&
	sums() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum); } &&
	test_is "$(find "$T/many" -type f | wc -l)" 300 &&
	run timeout 600 "$UMLKIT" cp -r "$T/many" web:/root/ &&
	test_is "$rc" 0 &&
	run timeout 600 "$UMLKIT" exec web sh -c \
		"cd /root/many && find . -type f | sort | xargs sha256sum" &&
	test_is "$rc" 0 &&
	test_is "$out" "$(sums "$T/many")" &&
	run timeout 600 "$UMLKIT" cp -r web:/root/many "$T/many.back" &&
	test_is "$rc" 0 &&
	test_is "$(sums "$T/many.back")" "$(sums "$T/many")"
'

test_expect_success WEB 'cp: a missing destination directory is refused, nothing written' '
	run timeout 60 "$UMLKIT" cp "$T/data.bin" web:/nonexistent/dir/x &&
	test_is "$rc" 1 &&
	test_like "$err" "guest .web.: /nonexistent/dir: no such directory" &&
	run guest_exec web ls -A / &&
	test_unlike "$out" nonexistent &&
	run timeout 60 "$UMLKIT" cp web:/root/data.bin "$T/missing/x" &&
	test_is "$rc" 1 &&
	test_like "$err" "missing: no such directory" &&
	test_path_is_missing "$T/missing" &&
	run timeout 60 "$UMLKIT" cp web:/root/no-such-file "$T/back/" &&
	test_is "$rc" 1 &&
	test_like "$err" "guest .web.: /root/no-such-file: No such file or directory" &&
	test_is "$(ls -A "$T/back")" copy.bin
'

test_expect_success WEB,NOBODY 'another user (nobody) cannot use the agent' '
	stage_for_others &&
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$UMLKIT" exec web touch /tmp/by-nobody &&
	test_is "$rc" 125 &&
	sock="$XDG_RUNTIME_DIR/umlkit/guests/web/agent" &&
	test_is "$(stat -c %a "$sock")" 600 &&
	# even with every directory and the socket opened to all, the supervisor checks who
	# connects (SO_PEERCRED) and closes on anyone but the owner and root
	test_when_finished "chmod 0700 \"$XDG_RUNTIME_DIR/umlkit/guests/web\"; chmod 0600 \"$sock\"" &&
	chmod o+x "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/umlkit" "$XDG_RUNTIME_DIR/umlkit/guests" \
		"$XDG_RUNTIME_DIR/umlkit/guests/web" &&
	chmod 0777 "$sock" &&
	run setpriv --reuid=nobody --regid=nogroup --clear-groups timeout 60 "$UMLKIT" exec web touch /tmp/by-nobody &&
	test_is "$rc" 125 &&
	test_like "$err" "guest .web.: the connection to its agent was lost" &&
	run guest_exec web ls /tmp &&
	test_unlike "$out" by-nobody
'

test_expect_success UML,BUSYBOX 'exec to a guest whose image has no agent: refused in bounded time' '
	guest_image "$T/plain.img" 32M &&
	printf "echo umlkit-ready >/proc/mconsole\nsleep 600\n" >"$T/plain.sh" &&
	"$UMLKIT" start --name plain --mem 64M --disk "$T/plain.cow,$T/plain.img" \
		--disk "ubdb=$T/plain.sh" --append init=/init --wait --timeout 90 &&
	track plain &&
	run timeout 30 "$UMLKIT" exec --timeout 3 plain true &&
	test_is "$rc" 125 &&
	test_like "$err" "guest .plain.: no agent answered in 3 s \(does its image have umlkit-agent\?" &&
	echo x >"$T/small" &&
	run timeout 30 "$UMLKIT" cp --timeout 3 "$T/small" plain:/tmp/ &&
	test_is "$rc" 1 &&
	test_like "$err" "no agent answered" &&
	"$UMLKIT" stop plain --timeout 30
'

test_expect_success WEB 'exec and cp to a stopped guest: refused at once, naming it' '
	"$UMLKIT" stop web --timeout 60 &&
	run timeout 30 "$UMLKIT" exec web true &&
	test_is "$rc" 125 &&
	test_like "$err" "guest .web. is not running" &&
	echo x >"$T/small" &&
	run timeout 30 "$UMLKIT" cp "$T/small" web:/root/ &&
	test_is "$rc" 1 &&
	test_like "$err" "guest .web. is not running" &&
	test_path_is_missing "$XDG_RUNTIME_DIR/umlkit/guests/web/agent" &&
	test_path_is_missing "$XDG_RUNTIME_DIR/umlkit/guests/web/agent.ring"
'

test_expect_success 'usage errors: exit 2' '
	test_expect_code 2 "$UMLKIT" exec &&
	test_expect_code 2 "$UMLKIT" exec web &&
	test_expect_code 2 "$UMLKIT" exec -x web true &&
	test_expect_code 2 "$UMLKIT" cp a &&
	test_expect_code 2 "$UMLKIT" cp a b &&
	test_expect_code 2 "$UMLKIT" cp web:/a other:/b &&
	test_expect_code 2 "$UMLKIT" cp web:/a other:/b /tmp/
'

test_done
