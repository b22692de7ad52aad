// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/guest/ready.c: the --ready modes and their words, and the pure readers of what the
 * kernel shows (init started, reboot or halt, the mount table); lib/guest/spec.c: the unit
 * and the command line of the modules image.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/guest.h"
#include "../../lib/guest/guest-internal.h"

static void test_ready_parse(void **state)
{
	struct uk_guest_start_opts o = {0};
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(uk_guest_ready_parse(&o, "mconsole", &err), 0);
	assert_int_equal(o.ready, UK_READY_MCONSOLE);
	assert_int_equal(uk_guest_ready_parse(&o, "console:^web login: ?$", &err), 0);
	assert_int_equal(o.ready, UK_READY_CONSOLE);
	assert_string_equal(o.ready_arg, "^web login: ?$");
	assert_int_equal(uk_guest_ready_parse(&o, "agent", &err), 0);
	assert_int_equal(o.ready, UK_READY_AGENT);
	assert_int_equal(uk_guest_ready_parse(&o, "notify", &err), 0);
	assert_int_equal(o.ready, UK_READY_NOTIFY);
	assert_string_equal(o.ready_arg, "");
}

static void ready_bad(const char *arg, int code, const char *want)
{
	struct uk_guest_start_opts o = {.ready = UK_READY_MCONSOLE};
	struct uk_err err = {0};

	assert_int_equal(uk_guest_ready_parse(&o, arg, &err), -code);
	assert_non_null(strstr(err.msg, want));
	assert_int_equal(o.ready, UK_READY_MCONSOLE); /* unchanged */
}

static void test_ready_bad(void **state)
{
	char long_re[300];

	(void)state;
	ready_bad("bogus", EINVAL, "use notify, mconsole, agent or console:REGEX");
	ready_bad("agent:x", EINVAL, "agent takes no argument");
	ready_bad("notifyx", EINVAL, "use notify");
	ready_bad("notify:x", EINVAL, "notify takes no argument");
	ready_bad("console", EINVAL, "want console:REGEX");
	ready_bad("console:", EINVAL, "want console:REGEX");
	ready_bad("console:a(", EINVAL, "bad extended regex");
	ready_bad("console:a\tb", EINVAL, "control character");
	memset(long_re, 'a', sizeof(long_re) - 1);
	long_re[sizeof(long_re) - 1] = '\0';
	memcpy(long_re, "console:", 8);
	ready_bad(long_re, E2BIG, "longer than 255");
}

static void test_ready_words(void **state)
{
	struct uk_guest_status st = {.name = "web", .state = UK_GUEST_BOOTED};
	char out[600];

	(void)state;
	uk_guest_ready_note(&st, UK_READY_NOTIFY, "", out, sizeof(out));
	assert_string_equal(out, "web: booted, waiting for its ready notice (umlkit-ready on "
				 "/proc/mconsole); an image without umlkit's hook never sends "
				 "it: use --ready=console:REGEX or --ready=agent");
	st.state = UK_GUEST_BOOTING;
	uk_guest_ready_note(&st, UK_READY_CONSOLE, "login:", out, sizeof(out));
	assert_non_null(strstr(out, "web: still booting (its kernel has not started init yet), "
				    "waiting for its ready notice (a console line matching "
				    "'login:')"));
	uk_guest_ready_describe(UK_READY_MCONSOLE, NULL, out, sizeof(out));
	assert_string_equal(out, "its mconsole to come up");
	assert_string_equal(uk_guest_state_name(UK_GUEST_BOOTED), "booted");
}

static void test_kernel_lines(void **state)
{
	(void)state;
	assert_true(uk_guest_line_runs_init("Run /sbin/init as init process"));
	assert_true(uk_guest_line_runs_init("[    1.234567] Run /init as init process"));
	assert_false(uk_guest_line_runs_init("Run  as init proces"));
	assert_false(uk_guest_line_runs_init("echo Run /sbin/init as init process now"));
	assert_false(uk_guest_line_runs_init(""));
	assert_int_equal(uk_guest_line_reboot("reboot: Restarting system"), 1);
	assert_int_equal(uk_guest_line_reboot("[   12.5] reboot: Restarting system"), 1);
	assert_int_equal(uk_guest_line_reboot("reboot: System halted"), 0);
	assert_int_equal(uk_guest_line_reboot("reboot: Power down"), 0);
	assert_int_equal(uk_guest_line_reboot("Requesting system reboot"), -1);
	assert_int_equal(uk_guest_line_reboot("reboot: Restarting system now"), -1);
	assert_int_equal(uk_guest_line_reboot("[ bad reboot: Restarting system"), -1);
}

static void test_mounts(void **state)
{
	static const char kernel_only[] = "\n/dev/root / ext4 rw,relatime 0 0\n"
					  "devtmpfs /dev devtmpfs rw,relatime,mode=755 0 0\n";
	static const char with_proc[] = "\n/dev/root / ext4 rw,relatime 0 0\n"
					"proc /proc proc rw,relatime 0 0\n";
	static const char elsewhere[] = "proc /mnt/proc proc rw 0 0\nx /proc tmpfs rw 0 0\n";

	(void)state;
	assert_false(uk_guest_mounts_show_init(kernel_only, strlen(kernel_only)));
	assert_true(uk_guest_mounts_show_init(with_proc, strlen(with_proc)));
	assert_false(uk_guest_mounts_show_init(elsewhere, strlen(elsewhere)));
	/* only len bytes are read */
	assert_false(uk_guest_mounts_show_init(with_proc, 30));
	assert_false(uk_guest_mounts_show_init("", 0));
}

static void test_modules_argv(void **state)
{
	static struct uk_guest_spec s;
	struct uk_guest_wiring w = {.uml_dir = "/d", .console_stdio = true};
	struct uk_err err = {0};
	char **argv = NULL;
	char *text;
	size_t n = 0;

	(void)state;
	uk_guest_spec_init(&s);
	strcpy(s.name, "m");
	strcpy(s.kernel, "/k");
	assert_int_equal(uk_guest_spec_add_disk(&s, "/r.img", &err), 0);
	assert_int_equal(uk_guest_modules_unit(&s), 15);
	assert_int_equal(uk_guest_spec_add_disk(&s, "ubdp=/p.img", &err), 0);
	assert_int_equal(uk_guest_modules_unit(&s), 14);
	strcpy(s.modules, "/c/6.1.176-1-2.img");
	assert_int_equal(uk_guest_argv(&s, &w, &argv, &err), 0);
	text = calloc(1, 8192);
	assert_non_null(text);
	for (int i = 0; argv[i]; i++)
		n += (size_t)snprintf(text + n, 8192 - n, "%s ", argv[i]);
	assert_non_null(strstr(text, "ubd0=/r.img ubd15=/p.img ubd14r=/c/6.1.176-1-2.img root="));
	assert_non_null(strstr(text, "noreboot initcall_blacklist=raid6_select_algo,raid6_init "
				     "umlkit.modules=/dev/ubdo "));
	free(argv);
	/* every unit taken: no modules */
	for (int u = 1; u < 15; u++) {
		char arg[32];

		snprintf(arg, sizeof(arg), "ubd%d=/%d.img", u, u);
		assert_int_equal(uk_guest_spec_add_disk(&s, arg, &err), 0);
	}
	assert_int_equal(uk_guest_modules_unit(&s), -1);
	assert_int_equal(uk_guest_argv(&s, &w, &argv, &err), 0);
	n = 0;
	for (int i = 0; argv[i]; i++)
		n += (size_t)snprintf(text + n, 8192 - n, "%s ", argv[i]);
	assert_null(strstr(text, "umlkit.modules"));
	assert_null(strstr(text, "6.1.176"));
	free(argv);
	free(text);
}

/* DIR/uml/NAME/mconsole must fit sun_path: 107 characters do, 108 do not */
static void test_paths_socket_bound(void **state)
{
	struct uk_guest_paths *p = malloc(sizeof(*p));
	char xdg[128];
	struct uk_err err = {0};
	const char *saved = getenv("XDG_RUNTIME_DIR");
	char *keep = saved ? strdup(saved) : NULL;

	(void)state;
	assert_non_null(p);
	/* DIR is XDG/umlkit/guests/n: 16 more; the socket adds /uml/n/mconsole, 15 more */
	memset(xdg, 'x', sizeof(xdg));
	xdg[0] = '/';
	xdg[107 - 16 - 15] = '\0';
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	assert_int_equal(uk_guest_paths("n", p, &err), 0);
	assert_int_equal(strlen(p->mconsole), 107);
	xdg[107 - 16 - 15] = 'x';
	xdg[108 - 16 - 15] = '\0';
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	assert_int_equal(uk_guest_paths("n", p, &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "state directory too long for the kernel's mconsole"));
	if (keep)
		setenv("XDG_RUNTIME_DIR", keep, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	free(keep);
	free(p);
}

/* trim's share: MemFree less twice min_free_kbytes and 2 MiB; nothing below; bad text */
static void test_trim_amount(void **state)
{
	const char *mi = "MemTotal:          53452 kB\nMemFree:           19916 kB\n"
			 "MemAvailable:      30128 kB\n";
	struct uk_err err = {0};
	uint64_t kib = 1;

	(void)state;
	assert_int_equal(uk_guest_trim_amount(mi, "924\n", &kib, &err), 0);
	assert_int_equal(kib, 19916 - 2 * 924 - 2048);
	assert_int_equal(uk_guest_trim_amount("MemFree: 3000 kB\n", "924", &kib, &err), 0);
	assert_int_equal(kib, 0);
	/* MemFreeX is not MemFree, and a field must hold a number */
	assert_int_equal(uk_guest_trim_amount("MemFreeX: 9000 kB\n", "1", &kib, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "no MemFree line"));
	assert_int_equal(uk_guest_trim_amount("MemFree: kB\n", "1", &kib, &err), -EBADMSG);
	assert_int_equal(uk_guest_trim_amount(mi, "", &kib, &err), -EBADMSG);
	assert_int_equal(uk_guest_trim_amount(mi, "12x", &kib, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "vm.min_free_kbytes is not a number: '12x'"));
	assert_int_equal(uk_guest_trim_amount(mi, "99999999999", &kib, &err), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_parse),
		cmocka_unit_test(test_ready_bad),
		cmocka_unit_test(test_ready_words),
		cmocka_unit_test(test_kernel_lines),
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_modules_argv),
		cmocka_unit_test(test_paths_socket_bound),
		cmocka_unit_test(test_trim_amount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
