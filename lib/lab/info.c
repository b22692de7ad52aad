// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `lab info`: the lab as text (Netkit's linfo: metadata, devices, domains, the
 * parallel-start note), as JSON (jansson, the model's fields by name) or as a Graphviz map
 * (linfo -m: devices as boxes, domains as ellipses, one edge per interface).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lab-internal.h"
#include "umlkit/util.h"

static const char *const meta_label[UK_LAB_META_N] = {"Name",	"Description", "Version",
						      "Author", "Email",       "Web"};
static const char *const meta_json[UK_LAB_META_N] = {"name",   "description", "version",
						     "author", "email",	      "web"};

static const char *dialect_name(const struct uk_lab *lab)
{
	return lab->dialect == UK_LAB_NETKIT ? "netkit" : "kathara";
}

/* The text of f (an open_memstream), closed; NULL when writing failed. */
static char *finish_stream(FILE *f, char **buf)
{
	bool failed = ferror(f);

	if (fclose(f) != 0 || failed) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

static void text_machine(FILE *f, const struct uk_lab *lab, const struct uk_lab_machine *m)
{
	fprintf(f, "  %s:", m->name);
	for (int k = 0; k < m->n_iface; k++)
		fprintf(f, " eth%d=%s", k, m->iface[k].cd[0] ? m->iface[k].cd : "(none)");
	if (m->mem_mib)
		fprintf(f, " mem=%ldM", m->mem_mib);
	if (m->image)
		fprintf(f, " image=%s", m->image);
	if (m->bridged)
		fprintf(f, " bridged");
	for (int k = 0; k < m->n_dep; k++)
		fprintf(f, "%s%s", k ? "," : " after=", lab->machine[m->dep[k]].name);
	fputc('\n', f);
}

/* What write prints of lab, as a string (NULL when out of memory). */
static char *render(const struct uk_lab *lab, void (*write)(FILE *f, const struct uk_lab *lab))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	write(f, lab);
	return finish_stream(f, &buf);
}

static void write_text(FILE *f, const struct uk_lab *lab)
{
	fprintf(f, "Lab directory: %s\n", lab->dir);
	for (int i = 0; i < UK_LAB_META_N; i++)
		if (lab->meta[i])
			fprintf(f, "%s: %s\n", meta_label[i], lab->meta[i]);
	fprintf(f, "Dialect: %s\n", dialect_name(lab));
	fprintf(f, "Devices: %d\n", lab->n_machine);
	for (int i = 0; i < lab->n_machine; i++)
		text_machine(f, lab, &lab->machine[i]);
	fprintf(f, "Collision domains: %d\n", lab->n_cd);
	for (int i = 0; i < lab->n_cd; i++)
		fprintf(f, "  %s\n", lab->cd[i]);
	for (int i = 0; i < lab->n_ext; i++)
		fprintf(f, "External: %s on %s%s%.0d\n", lab->ext[i].cd, lab->ext[i].ifname,
			lab->ext[i].vlan ? "." : "", lab->ext[i].vlan);
	for (int i = 0; i < lab->n_host; i++) {
		fprintf(f, "Host: %s (%s):", lab->host[i].name, lab->host[i].addr);
		for (int k = 0; k < lab->host[i].n_machine; k++)
			fprintf(f, " %s", lab->host[i].machine[k]);
		fputc('\n', f);
	}
	if (lab->n_host)
		fprintf(f, "Domains between hosts: VXLAN, VNI %u and UDP port %u for the first\n",
			lab->vni_base, lab->port_base);
	fprintf(f, lab->has_dep ? "The lab supports parallel startup (lab.dep).\n"
				: "No lab.dep: the devices start in parallel, in no set order.\n");
	for (int i = 0; i < lab->n_warning; i++)
		fprintf(f, "Warning: %s\n", lab->warning[i]);
}

char *uk_lab_info_text(const struct uk_lab *lab)
{
	return render(lab, write_text);
}

/* ---- JSON ---- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *strv(char *const *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *json_ifaces(const struct uk_lab_machine *m)
{
	json_t *a = json_array();

	for (int k = 0; k < m->n_iface; k++) {
		json_t *o = json_object();
		char name[16];

		snprintf(name, sizeof(name), "eth%d", k);
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "cd",
				    str_or_null(m->iface[k].cd[0] ? m->iface[k].cd : NULL));
		json_object_set_new(o, "mac",
				    str_or_null(m->iface[k].mac[0] ? m->iface[k].mac : NULL));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *json_opts(const struct uk_lab_machine *m)
{
	json_t *a = json_array();

	for (int k = 0; k < m->n_opt; k++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:i}", "key", m->opt[k].key, "value",
						   m->opt[k].value, "line", m->opt[k].line));
	return a;
}

static json_t *json_ports(const struct uk_lab_machine *m)
{
	json_t *a = json_array();

	for (int k = 0; k < m->n_port; k++)
		json_array_append_new(a,
				      json_pack("{s:i, s:i, s:s}", "host", m->port[k].host, "guest",
						m->port[k].guest, "proto", m->port[k].proto));
	return a;
}

static json_t *json_machine(const struct uk_lab *lab, const struct uk_lab_machine *m)
{
	json_t *o = json_object(), *deps = json_array();

	for (int k = 0; k < m->n_dep; k++)
		json_array_append_new(deps, json_string(lab->machine[m->dep[k]].name));
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "has_dir", json_boolean(m->has_dir));
	json_object_set_new(o, "interfaces", json_ifaces(m));
	json_object_set_new(o, "depends", deps);
	json_object_set_new(o, "options", json_opts(m));
	json_object_set_new(o, "mem_mib", m->mem_mib ? json_integer(m->mem_mib) : json_null());
	json_object_set_new(o, "cpus", m->cpus > 0 ? json_real(m->cpus) : json_null());
	json_object_set_new(o, "image", str_or_null(m->image));
	json_object_set_new(o, "kernel", str_or_null(m->kernel));
	json_object_set_new(o, "shell", str_or_null(m->shell));
	json_object_set_new(o, "con0", str_or_null(m->con0));
	json_object_set_new(o, "bridged", json_boolean(m->bridged));
	json_object_set_new(o, "ipv6", json_boolean(m->ipv6));
	json_object_set_new(o, "ports", json_ports(m));
	json_object_set_new(o, "exec", strv(m->exec, m->n_exec));
	json_object_set_new(o, "sysctl", strv(m->sysctl, m->n_sysctl));
	json_object_set_new(o, "env", strv(m->env, m->n_env));
	json_object_set_new(o, "append", strv(m->append, m->n_append));
	return o;
}

static json_t *json_lab(const struct uk_lab *lab)
{
	json_t *o = json_object(), *meta = json_object(), *ms = json_array(), *cds = json_array(),
	       *ext = json_array();

	for (int i = 0; i < UK_LAB_META_N; i++)
		json_object_set_new(meta, meta_json[i], str_or_null(lab->meta[i]));
	for (int i = 0; i < lab->n_machine; i++)
		json_array_append_new(ms, json_machine(lab, &lab->machine[i]));
	for (int i = 0; i < lab->n_cd; i++)
		json_array_append_new(cds, json_string(lab->cd[i]));
	for (int i = 0; i < lab->n_ext; i++)
		json_array_append_new(ext, json_pack("{s:s, s:s, s:i, s:i}", "cd", lab->ext[i].cd,
						     "interface", lab->ext[i].ifname, "vlan",
						     lab->ext[i].vlan, "line", lab->ext[i].line));
	json_object_set_new(o, "dir", json_string(lab->dir));
	json_object_set_new(o, "id", json_string(lab->id));
	json_object_set_new(o, "dialect", json_string(dialect_name(lab)));
	json_object_set_new(o, "meta", meta);
	json_object_set_new(o, "has_conf", json_boolean(lab->has_conf));
	json_object_set_new(o, "has_dep", json_boolean(lab->has_dep));
	json_object_set_new(o, "machines", ms);
	json_object_set_new(o, "collision_domains", cds);
	json_object_set_new(o, "ext", ext);
	json_object_set_new(o, "warnings", strv(lab->warning, lab->n_warning));
	return o;
}

char *uk_lab_info_json(const struct uk_lab *lab)
{
	json_t *o = json_lab(lab);
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return text;
}

/* ---- Graphviz ---- */

static void write_dot(FILE *f, const struct uk_lab *lab)
{
	fprintf(f, "graph \"lab\" {\n");
	for (int i = 0; i < lab->n_machine; i++)
		fprintf(f, "\t\"m:%s\" [shape=box, label=\"%s\"];\n", lab->machine[i].name,
			lab->machine[i].name);
	for (int i = 0; i < lab->n_cd; i++)
		fprintf(f, "\t\"cd:%s\" [shape=ellipse, label=\"%s\"];\n", lab->cd[i], lab->cd[i]);
	for (int i = 0; i < lab->n_machine; i++) {
		const struct uk_lab_machine *m = &lab->machine[i];

		for (int k = 0; k < m->n_iface; k++)
			if (m->iface[k].cd[0])
				fprintf(f, "\t\"m:%s\" -- \"cd:%s\" [label=\"eth%d\"];\n", m->name,
					m->iface[k].cd, k);
	}
	fprintf(f, "}\n");
}

char *uk_lab_info_dot(const struct uk_lab *lab)
{
	return render(lab, write_dot);
}
