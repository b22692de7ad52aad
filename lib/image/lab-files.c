// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The lab profile (umlkit image build --profile lab): the Debian image with the packages of
 * Kathara's base, FRR and bind images that Debian 12 has, made into what lab scripts expect
 * (spec/labs.md, sections 2.1 and 4): no daemon starts at boot, the service names lab scripts
 * start (frr, bind9 or named, apache2, quagga) work through systemctl and /etc/init.d, IPv4
 * forwarding is on and reverse-path filtering off. Written by layer.c after the Debian layer
 * and listed in the image's /etc/umlkit/manifest like it.
 */
#include <sys/stat.h>

#include "image-internal.h"
#include "umlkit/util.h"

#define UNIT_DIR "etc/systemd/system/"

/* frr, frr-pythontools: kathara/frr; bind9 and the rest: kathara/base (DI base/Dockerfile) */
#define LAB_PACKAGES                                                                               \
	"frr,frr-pythontools,bind9,bind9-utils,bind9-dnsutils,dnsutils,apache2,iproute2,"          \
	"iputils-ping,traceroute,net-tools,bridge-utils,iptables,arping,tcpdump,radvd,ifupdown,"   \
	"curl,netcat-openbsd,iperf3,ethtool,vlan,isc-dhcp-client,isc-dhcp-server,python3,"         \
	"python3-scapy,procps,bash"

/* umlkit.ip= makes /run/systemd/network files (/etc/umlkit/setup); a lab machine without
 * them needs no systemd-networkd, and saves its memory (9 MiB of a 64 MiB guest) and start */
#define NETWORKD_ONLY_IF                                                                           \
	"# umlkit lab image: only when umlkit.ip= gave it something to do\n"                       \
	"[Unit]\n"                                                                                 \
	"ConditionDirectoryNotEmpty=/run/systemd/network\n"

/* A drop-in of the lab image for UNIT: its directory, then umlkit-lab.conf in it */
#define DROP_IN(UNIT, TEXT, WHY)                                                                   \
	{UNIT_DIR UNIT ".d", S_IFDIR | 0755, NULL, NULL},                                          \
	{                                                                                          \
		UNIT_DIR UNIT ".d/umlkit-lab.conf", S_IFREG | 0644, TEXT, WHY                      \
	}

static const struct uk_layer_entry lab_layer[] = {
	{"etc/sysctl.d", S_IFDIR | 0755, NULL, NULL},
	{"etc/sysctl.d/60-umlkit-lab.conf", S_IFREG | 0644,
	 "# umlkit lab image: what Netkit and Kathara labs assume (umlkit-image(1))\n"
	 "net.ipv4.ip_forward = 1\n"
	 "net.ipv4.conf.all.rp_filter = 0\n"
	 "net.ipv4.conf.default.rp_filter = 0\n"
	 "# systemd's 50-default.conf sets 2 on every interface, also those udev adds later\n"
	 "net.ipv4.conf.*.rp_filter = 0\n"
	 "net.ipv4.icmp_ratelimit = 0\n",
	 "IPv4 forwarding on, reverse-path filtering off, as labs assume"},
	{UNIT_DIR "bind9.service", S_IFLNK | 0777, "/lib/systemd/system/named.service",
	 "systemctl start bind9: named (the alias its package makes only when enabled)"},
	{UNIT_DIR "quagga.service", S_IFREG | 0644,
	 "# umlkit lab image: `systemctl start quagga` runs FRR on the lab's Quagga files\n"
	 "[Unit]\n"
	 "Description=Quagga lab configuration run by FRR\n"
	 "\n"
	 "[Service]\n"
	 "Type=oneshot\n"
	 "RemainAfterExit=yes\n"
	 "ExecStart=/etc/umlkit/lab-quagga start\n"
	 "ExecStop=/etc/umlkit/lab-quagga stop\n",
	 "systemctl start quagga: FRR with /etc/quagga's files (lab-quagga)"},
	{"etc/umlkit/lab-quagga", S_IFREG | 0755,
	 "#!/bin/sh\n"
	 "# /etc/umlkit/lab-quagga start|stop|restart: a Quagga lab's /etc/quagga run by FRR.\n"
	 "# The daemons /etc/quagga/daemons enables are enabled in /etc/frr/daemons, and each\n"
	 "# DAEMON.conf is copied to /etc/frr, where FRR's daemons read their own files when\n"
	 "# there is no frr.conf (it is kept as frr.conf.umlkit-orig). Without /etc/quagga: FRR\n"
	 "# as it is.\n"
	 "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
	 "Q=/etc/quagga F=/etc/frr\n"
	 "case \"$1\" in\n"
	 "stop) exec systemctl stop frr.service ;;\n"
	 "restart) systemctl stop frr.service || exit 1 ;;\n"
	 "start) ;;\n"
	 "*)\n"
	 "\techo \"usage: $0 start|stop|restart\" >&2\n"
	 "\texit 2\n"
	 "\t;;\n"
	 "esac\n"
	 "if [ -d \"$Q\" ]; then\n"
	 "\tfor c in \"$Q\"/*.conf; do\n"
	 "\t\t[ -f \"$c\" ] || continue\n"
	 "\t\tn=${c##*/}\n"
	 "\t\tcase \"$n\" in vtysh.conf | frr.conf) continue ;; esac\n"
	 "\t\tcp -f \"$c\" \"$F/$n\" || exit 1\n"
	 "\t\tchown frr:frr \"$F/$n\"\n"
	 "\t\tif [ -f \"$F/frr.conf\" ]; then mv -f \"$F/frr.conf\" \"$F/frr.conf.umlkit-orig\"; "
	 "fi\n"
	 "\tdone\n"
	 "\tif [ -f \"$Q/daemons\" ]; then\n"
	 "\t\tgrep -E '^[a-z0-9]+d *= *yes' \"$Q/daemons\" | while IFS='= ' read -r d _; do\n"
	 "\t\t\tsed -i \"s/^$d=.*/$d=yes/\" \"$F/daemons\"\n"
	 "\t\tdone\n"
	 "\tfi\n"
	 "fi\n"
	 "exec systemctl start frr.service\n",
	 "runs a Quagga lab's /etc/quagga with FRR"},
	DROP_IN("systemd-networkd.service", NETWORKD_ONLY_IF,
		"systemd-networkd runs only for umlkit.ip= (lab scripts set addresses with ip)"),
	DROP_IN("systemd-networkd.socket", NETWORKD_ONLY_IF,
		"and so does its socket, which would start it"),
	{"etc/default/frr", S_IFREG | 0644,
	 "# umlkit lab image: read by frrcommon.sh after /etc/frr/daemons (which a lab replaces).\n"
	 "# On a slow, busy host FRR's start takes longer than watchfrr's default restart timeout\n"
	 "# (20 s): watchfrr then kills the start while the configuration loads, and a router "
	 "runs\n"
	 "# without its network lines. Give the start and the daemons' answers time.\n"
	 "watchfrr_options=\"${watchfrr_options:-} -T 180 -t 60\"\n",
	 "watchfrr waits 180 s for FRR's start (not 20): a busy host's routers keep their config"},
	DROP_IN("frr.service",
		"# umlkit lab image: the daemons /etc/frr/daemons enables start at once and get\n"
		"# frr.conf from one `vtysh -b` (FRR's own `watchfrr.sh start all`); watchfrr, "
		"started\n"
		"# after them, finds them up and watches them as ever. Started by watchfrr one by "
		"one,\n"
		"# each cost a bash and a vtysh of its own: 0.5 s more of a UML guest's CPU per "
		"router\n"
		"# on 6.1. Its failure (a bad line in frr.conf) stops nothing, as before.\n"
		"[Service]\n"
		"ExecStartPre=-/usr/lib/frr/watchfrr.sh start all\n",
		"FRR's daemons started together, with one vtysh -b, before watchfrr"),
	/* journald.conf.d is the Debian layer's (its umlkit.conf: Storage=volatile) */
	{"etc/systemd/journald.conf.d/umlkit-lab.conf", S_IFREG | 0644,
	 "# umlkit lab image: the journal in memory, small (a lab machine has little of it)\n"
	 "[Journal]\n"
	 "Storage=volatile\n"
	 "RuntimeMaxUse=4M\n",
	 "the journal in memory, at most 4 MiB"},
	{"etc/umlkit/read-ahead-kb", S_IFREG | 0644, "16\n",
	 "the disks read ahead 16 KiB, not 128: less of a lab machine's memory holds what it "
	 "never reads (/etc/umlkit/setup)"},
	DROP_IN("systemd-sysctl.service",
		"# umlkit lab image: procps' sysctl reads the same sysctl.d files as "
		"systemd-sysctl, in a\n"
		"# quarter of its time at every boot (-e: keys this kernel lacks are not "
		"errors)\n"
		"[Service]\n"
		"ExecStart=\n"
		"ExecStart=/sbin/sysctl -e -q --system\n",
		"the sysctl.d files applied by procps' sysctl"),
	{"etc/init.d", S_IFDIR | 0755, NULL, NULL},
	{"etc/init.d/bind9", S_IFLNK | 0777, "named", "/etc/init.d/bind9 start: named"},
	{"etc/init.d/quagga", S_IFLNK | 0777, "/etc/umlkit/lab-quagga",
	 "/etc/init.d/quagga start: FRR with /etc/quagga's files"},
};

/* Enabled by their packages, disabled here (not masked: `systemctl start NAME` works). */
static const struct uk_layer_mask lab_disabled[] = {
	{"frr.service", "labs start routing daemons from their startup scripts"},
	{"named.service", "labs start bind9 from their startup scripts"},
	{"apache2.service", "labs start apache2 from their startup scripts"},
	{"apache-htcacheclean.service", "apache2's cache cleaner, started with it when needed"},
	{"radvd.service", "labs configure and start radvd themselves"},
	{"iperf3.service", "labs run iperf3 -s where they measure"},
	{"isc-dhcp-server.service", "labs configure and start the DHCP server themselves"},
};

/* Masked too: a lab machine never needs them; each cost its boot 0.4-1 s (systemd-analyze
 * blame of a lab guest on a loaded 2-core host). */
static const struct uk_layer_mask lab_masks[] = {
	/* the Debian layer masks systemd-journal-flush, systemd-random-seed and
	 * modprobe@configfs for every Debian guest */
	{"systemd-modules-load.service", "no module to load at boot: the kernel loads on demand"},
	{"sys-kernel-config.mount", "configfs: nothing in a lab uses it"},
	{"dev-mqueue.mount", "POSIX message queues: nothing in a lab uses them"},
};

static const char *const lab_images[] = {"kathara/base", "kathara/frr",	  "kathara/quagga",
					 "kathara/bind", "kathara/bind9", NULL};

const struct uk_profile uk_profiles[] = {
	{.name = "lab",
	 .version = 1,
	 .packages = LAB_PACKAGES,
	 .images = lab_images,
	 .layer = lab_layer,
	 .nlayer = UK_ARRAY_SIZE(lab_layer),
	 .disabled = lab_disabled,
	 .ndisabled = UK_ARRAY_SIZE(lab_disabled),
	 .masks = lab_masks,
	 .nmasks = UK_ARRAY_SIZE(lab_masks)},
};
const size_t uk_profiles_n = UK_ARRAY_SIZE(uk_profiles);
