// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the lab parsers (lib/lab): one input holds lab.conf, lab.dep and
 * lab.ext, split at NUL bytes, parsed in that order into one lab and finished (with an
 * override when the input's first byte is odd); a fourth part is a check file, run with
 * the fifth part as every guest command's output; a sixth is lab.hosts, parsed before the
 * lab is finished. The parsers must stay inside their
 * buffers and limits, fail only with a message, and a lab they accept must hold names,
 * interfaces and dependencies in range and print as text, JSON (parsed back) and dot.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "umlkit/lab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_lab: invariant failed: %s (line %d)\n", #cond,       \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_machine(const struct uk_lab *lab, const struct uk_lab_machine *m)
{
	CHECK(strlen(m->name) >= 1 && strlen(m->name) <= UK_LAB_MACHINE_MAX);
	CHECK(m->n_iface >= 0 && m->n_iface <= UK_LAB_IFACES_MAX);
	for (int k = 0; k < m->n_iface; k++)
		CHECK(strlen(m->iface[k].cd) <= UK_LAB_CD_MAX);
	for (int k = 0; k < m->n_dep; k++)
		CHECK(m->dep[k] >= 0 && m->dep[k] < lab->n_machine);
	CHECK(m->mem_mib >= 0);
	for (int k = 0; k < m->n_port; k++)
		CHECK(m->port[k].guest > 0 && m->port[k].host > 0);
}

static void check_output(const struct uk_lab *lab)
{
	char *text = uk_lab_info_text(lab), *dot = uk_lab_info_dot(lab);
	char *js = uk_lab_info_json(lab);
	json_t *j;

	CHECK(text && dot && js);
	j = json_loads(js, 0, NULL);
	CHECK(j);
	CHECK((int)json_array_size(json_object_get(j, "machines")) == lab->n_machine);
	json_decref(j);
	free(text);
	free(dot);
	free(js);
}

struct canned {
	const char *out;
	size_t len;
};

static int canned_exec(void *ctx, const char *machine, char *const argv[], char **out, int *status)
{
	const struct canned *c = ctx;

	CHECK(machine[0] && argv[0]);
	*out = strndup(c->out, c->len);
	*status = c->len & 1;
	return *out ? 0 : -ENOMEM;
}

static void fuzz_checks(const char *text, size_t len, const struct canned *c)
{
	struct uk_lab_checks l;
	struct uk_lab_check_result *res;
	struct uk_err err = {0};
	int r = uk_lab_check_parse("lab.check", text, len, &l, &err);

	CHECK(r == 0 || ((r == -EINVAL || r == -E2BIG || r == -ENOMEM) && err.msg[0]));
	if (r < 0)
		return;
	res = calloc((size_t)l.n + 1, sizeof(*res));
	if (res) {
		r = uk_lab_check_run(&l, canned_exec, (void *)c, res);
		CHECK(r >= 0 && r <= l.n);
		for (int i = 0; i < l.n; i++)
			CHECK(res[i].pass == !res[i].detail[0]);
	}
	free(res);
	uk_lab_checks_free(&l);
}

/* The next part of the input, up to a NUL or the end. */
static const char *part(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *s = *p, *nul = s < end ? memchr(s, 0, (size_t)(end - s)) : NULL;

	*len = nul ? (size_t)(nul - s) : (size_t)(end - s);
	*p = nul ? nul + 1 : end;
	return (const char *)s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *over[] = {"mem=64"};
	struct uk_lab_load_opts o = {.over = over, .n_over = size && (data[0] & 1)};
	const uint8_t *p = data, *end = data + size;
	const char *text[6];
	size_t len[6];
	struct uk_err err = {0};
	struct uk_lab *lab;
	int r, parts = 0;

	while (parts < 6 && (p < end || parts == 0)) {
		text[parts] = part(&p, end, &len[parts]);
		parts++;
	}
	lab = uk_lab_new("/fuzz/lab");
	if (!lab)
		return 0;
	r = uk_lab_conf_parse(lab, text[0], len[0], &err);
	if (r == 0 && parts > 1)
		r = uk_lab_dep_parse(lab, text[1], len[1], &err);
	if (r == 0 && parts > 2)
		r = uk_lab_ext_parse(lab, text[2], len[2], &err);
	if (r == 0 && parts > 5)
		r = uk_lab_hosts_parse(lab, text[5], len[5], &err);
	if (r == 0)
		r = uk_lab_finish(lab, &o, &err);
	CHECK(r == 0 || r == -EINVAL || r == -ELOOP || r == -E2BIG || r == -ENOMEM);
	CHECK(r == 0 || err.msg[0]);
	if (r == 0) {
		for (int i = 0; i < lab->n_machine; i++) {
			check_machine(lab, &lab->machine[i]);
			CHECK(!lab->n_host || uk_lab_host_of(lab, lab->machine[i].name));
		}
		check_output(lab);
	}
	uk_lab_free(lab);
	if (parts > 3) {
		struct canned c = {.out = parts > 4 ? text[4] : "", .len = parts > 4 ? len[4] : 0};

		fuzz_checks(text[3], len[3], &c);
	}
	return 0;
}
