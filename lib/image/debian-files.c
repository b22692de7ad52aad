// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What umlkit puts into a Debian (systemd) image, by `image build --distro debian` and
 * `image adapt` alike (layer.c writes it with debugfs): the boot script /etc/umlkit/setup
 * that applies the umlkit.* kernel parameters of umlkit-image(1), its systemd units, the udev
 * rule naming the vector driver's vecN ethN, a network-only udev coldplug, the units enabled
 * and the units masked for a fast boot. Every path is listed here, and in the image's
 * /etc/umlkit/manifest.
 */
#include <sys/stat.h>

#include "image-internal.h"
#include "umlkit/util.h"

#define UNIT_DIR "etc/systemd/system/"

const struct uk_layer_entry uk_debian_layer[] = {
	{"etc/umlkit", S_IFDIR | 0755, NULL, NULL},
	{"etc/umlkit/setup", S_IFREG | 0755,
	 "#!/bin/sh\n"
	 "# /etc/umlkit/setup: the umlkit side of a Debian guest, run by its systemd units (see\n"
	 "# umlkit-image(1)); it reads the umlkit.* parameters of the kernel command line.\n"
	 "#   setup early   umlkit-setup.service, before udev and networking: the modules disk\n"
	 "#                 (umlkit.modules=), the hostname (umlkit.hostname=), systemd-networkd "
	 "files\n"
	 "#                 for umlkit.ip= and umlkit.route=, /etc/resolv.conf for umlkit.dns=\n"
	 "#   setup dns     umlkit-dns.service, when a DHCP lease changes: its DNS servers\n"
	 "#   setup ready   umlkit-ready.service, after multi-user.target: waits (at most 30 s) "
	 "for the\n"
	 "#                 interfaces of umlkit.ip= to be configured, then tells the host\n"
	 "# Few forks: a UML guest pays dearly for each.\n"
	 "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
	 "umask 022\n"
	 "set -f\n"
	 "R=/run/umlkit\n"
	 "N=/run/systemd/network\n"
	 "read -r CMDLINE </proc/cmdline\n"
	 "\n"
	 "log() { echo \"umlkit: $*\" >/dev/console 2>/dev/null || echo \"umlkit: $*\"; }\n"
	 "# params NAME: V gets every value of umlkit.NAME=VALUE, blank-separated; param: the "
	 "last\n"
	 "params() {\n"
	 "\tV=\n"
	 "\tfor w in $CMDLINE; do\n"
	 "\t\tcase \"$w\" in\n"
	 "\t\t\"umlkit.$1=\"*) V=\"$V ${w#*=}\" ;;\n"
	 "\t\tesac\n"
	 "\tdone\n"
	 "}\n"
	 "param() {\n"
	 "\tparams \"$1\"\n"
	 "\tV=${V##* }\n"
	 "}\n"
	 "# ip2int A.B.C.D: I gets the address as a number; fails when it is not one\n"
	 "ip2int() {\n"
	 "\tlocal IFS=.\n"
	 "\tset -- $1\n"
	 "\t[ $# = 4 ] || return 1\n"
	 "\tfor o; do\n"
	 "\t\tcase \"$o\" in '' | *[!0-9]* | ????*) return 1 ;; esac\n"
	 "\t\t[ \"$o\" -le 255 ] || return 1\n"
	 "\tdone\n"
	 "\tI=$((($1 << 24) + ($2 << 16) + ($3 << 8) + $4))\n"
	 "}\n"
	 "# innet ADDR NET/PREFIX: ADDR is inside NET/PREFIX\n"
	 "innet() {\n"
	 "\tlocal a p=${2#*/}\n"
	 "\tcase \"$2\" in */*) ;; *) return 1 ;; esac\n"
	 "\tcase \"$p\" in '' | *[!0-9]* | ???*) return 1 ;; esac\n"
	 "\t[ \"$p\" -le 32 ] && ip2int \"$1\" || return 1\n"
	 "\ta=$I\n"
	 "\tip2int \"${2%/*}\" || return 1\n"
	 "\t[ \"$p\" = 0 ] || [ $((a >> (32 - p))) = $((I >> (32 - p))) ]\n"
	 "}\n"
	 "\n"
	 "early() {\n"
	 "\t# /etc/umlkit/read-ahead-kb (the lab image has one): the disks' read-ahead in KiB\n"
	 "\tif [ -f /etc/umlkit/read-ahead-kb ] && read -r ra </etc/umlkit/read-ahead-kb; then\n"
	 "\t\tcase \"$ra\" in\n"
	 "\t\t'' | *[!0-9]*) log \"/etc/umlkit/read-ahead-kb: '$ra' is not a number\" ;;\n"
	 "\t\t*)\n"
	 "\t\t\tset +f\n"
	 "\t\t\tfor f in /sys/block/ubd*/queue/read_ahead_kb; do\n"
	 "\t\t\t\t[ ! -e \"$f\" ] || echo \"$ra\" >\"$f\"\n"
	 "\t\t\tdone\n"
	 "\t\t\tset -f\n"
	 "\t\t\t;;\n"
	 "\t\tesac\n"
	 "\tfi\n"
	 "\tmkdir -p \"$R\" \"$N\"\n"
	 "\t: >\"$R/resolv.conf\"\n"
	 "\tparam modules\n"
	 "\tcase \"$V\" in\n"
	 "\t'') ;;\n"
	 "\t/dev/ubd[a-z] | /dev/ubd[a-z][a-z])\n"
	 "\t\tif mount -t ext4 -o ro,nodev,nosuid \"$V\" /lib/modules; then\n"
	 "\t\t\tlog \"modules from $V on /lib/modules\"\n"
	 "\t\telse\n"
	 "\t\t\tlog \"umlkit.modules=$V: cannot mount it on /lib/modules\"\n"
	 "\t\tfi\n"
	 "\t\t;;\n"
	 "\t*) log \"umlkit.modules=$V: not a ubd device\" ;;\n"
	 "\tesac\n"
	 "\tparam hostname\n"
	 "\tname=$V\n"
	 "\t[ -n \"$name\" ] || read -r name </etc/hostname\n"
	 "\t[ -n \"$name\" ] || name=debian\n"
	 "\tcase \"$name\" in\n"
	 "\t*[!A-Za-z0-9.-]* | -* | .*) log \"umlkit.hostname=$name: not a host name\" ;;\n"
	 "\t*)\n"
	 "\t\tif echo \"$name\" >/proc/sys/kernel/hostname; then\n"
	 "\t\t\tlog \"hostname $name\"\n"
	 "\t\telse\n"
	 "\t\t\tlog \"umlkit.hostname=$name: cannot set the hostname\"\n"
	 "\t\tfi\n"
	 "\t\t;;\n"
	 "\tesac\n"
	 "\tread -r HOST </proc/sys/kernel/hostname\n"
	 "\tprintf '127.0.0.1\\tlocalhost\\n127.0.1.1\\t%s\\n::1\\tlocalhost ip6-localhost\\n' "
	 "\"$HOST\" \\\n"
	 "\t\t>\"$R/hosts\"\n"
	 "\tparam dns\n"
	 "\tif [ -n \"$V\" ]; then\n"
	 "\t\tlocal IFS=,\n"
	 "\t\tfor a in $V; do\n"
	 "\t\t\tif ip2int \"$a\"; then\n"
	 "\t\t\t\techo \"nameserver $a\" >>\"$R/resolv.conf\"\n"
	 "\t\t\telse\n"
	 "\t\t\t\tlog \"umlkit.dns=$V: '$a' is not an IPv4 address\"\n"
	 "\t\t\tfi\n"
	 "\t\tdone\n"
	 "\t\tIFS=' '\n"
	 "\t\t: >\"$R/dns-static\"\n"
	 "\t\tlog \"dns $V\"\n"
	 "\tfi\n"
	 "\tparams ip\n"
	 "\tfor spec in $V; do\n"
	 "\t\tnet \"$spec\"\n"
	 "\tdone\n"
	 "\tparams route\n"
	 "\tfor r in $V; do\n"
	 "\t\troute \"$r\"\n"
	 "\tdone\n"
	 "}\n"
	 "\n"
	 "# net IFACE,ADDR/PREFIX[,GATEWAY] | IFACE,dhcp: a systemd-networkd file for IFACE\n"
	 "net() {\n"
	 "\tlocal IFS=, spec=$1 ifc addr gw f\n"
	 "\tset -- $1\n"
	 "\tIFS=' '\n"
	 "\tifc=$1 addr=$2 gw=$3\n"
	 "\t# udev names the vector driver's vecN ethN (/etc/udev/rules.d/70-umlkit-net.rules)\n"
	 "\tcase \"$ifc\" in vec[0-9]*) ifc=eth${ifc#vec} ;; esac\n"
	 "\tcase \"$ifc\" in\n"
	 "\t'' | *[!A-Za-z0-9_.-]*)\n"
	 "\t\tlog \"umlkit.ip=$spec: want IFACE,ADDR/PREFIX[,GATEWAY] or IFACE,dhcp\"\n"
	 "\t\treturn 1\n"
	 "\t\t;;\n"
	 "\tesac\n"
	 "\tf=$N/10-umlkit-$ifc.network\n"
	 "\tif [ \"$addr\" = dhcp ]; then\n"
	 "\t\tprintf "
	 "'[Match]\\nName=%s\\n\\n[Network]\\nDHCP=ipv4\\nLinkLocalAddressing=no\\nIPv6AcceptRA="
	 "no\\n\\n[DHCPv4]\\nUseHostname=no\\nHostname=%s\\n' \\\n"
	 "\t\t\t\"$ifc\" \"$HOST\" >\"$f\"\n"
	 "\t\techo \"$ifc\" >>\"$R/interfaces\"\n"
	 "\t\tlog \"$ifc: dhcp\"\n"
	 "\t\treturn 0\n"
	 "\tfi\n"
	 "\tif ! innet \"${addr%/*}\" \"$addr\"; then\n"
	 "\t\tlog \"umlkit.ip=$spec: want IFACE,ADDR/PREFIX[,GATEWAY] or IFACE,dhcp\"\n"
	 "\t\treturn 1\n"
	 "\tfi\n"
	 "\tprintf "
	 "'[Match]\\nName=%s\\n\\n[Network]\\nAddress=%s\\nLinkLocalAddressing=no\\nIPv6AcceptRA="
	 "no\\n' \\\n"
	 "\t\t\"$ifc\" \"$addr\" >\"$f\"\n"
	 "\tlog \"$ifc: address $addr\"\n"
	 "\tif [ -n \"$gw\" ]; then\n"
	 "\t\tif ip2int \"$gw\"; then\n"
	 "\t\t\techo \"Gateway=$gw\" >>\"$f\"\n"
	 "\t\t\tlog \"$ifc: default route via $gw\"\n"
	 "\t\telse\n"
	 "\t\t\tlog \"umlkit.ip=$spec: the gateway is not an IPv4 address\"\n"
	 "\t\tfi\n"
	 "\tfi\n"
	 "\techo \"$ifc $addr\" >>\"$R/static\"\n"
	 "\techo \"$ifc\" >>\"$R/interfaces\"\n"
	 "}\n"
	 "\n"
	 "# route NET/PREFIX,GATEWAY: a [Route] for the interface whose static address reaches "
	 "GATEWAY\n"
	 "route() {\n"
	 "\tlocal dst=${1%%,*} gw=${1#*,} ifc addr\n"
	 "\tif ! innet \"${dst%/*}\" \"$dst\" || ! ip2int \"$gw\"; then\n"
	 "\t\tlog \"umlkit.route=$1: want NET/PREFIX,GATEWAY\"\n"
	 "\t\treturn 1\n"
	 "\tfi\n"
	 "\tif [ -f \"$R/static\" ]; then\n"
	 "\t\twhile read -r ifc addr; do\n"
	 "\t\t\tinnet \"$gw\" \"$addr\" || continue\n"
	 "\t\t\tprintf '\\n[Route]\\nDestination=%s\\nGateway=%s\\n' \"$dst\" \"$gw\" \\\n"
	 "\t\t\t\t>>\"$N/10-umlkit-$ifc.network\"\n"
	 "\t\t\tlog \"route $dst via $gw\"\n"
	 "\t\t\treturn 0\n"
	 "\t\tdone <\"$R/static\"\n"
	 "\tfi\n"
	 "\tlog \"umlkit.route=$1: no umlkit.ip= address reaches $gw\"\n"
	 "}\n"
	 "\n"
	 "# dns: the DNS servers of the DHCP leases into resolv.conf, unless umlkit.dns= was "
	 "given\n"
	 "dns() {\n"
	 "\tlocal f l out=\n"
	 "\t[ -e \"$R/dns-static\" ] && return 0\n"
	 "\tset +f # the only glob here\n"
	 "\tfor f in /run/systemd/netif/leases/*; do\n"
	 "\t\t[ -f \"$f\" ] || continue\n"
	 "\t\twhile IFS= read -r l; do\n"
	 "\t\t\tcase \"$l\" in\n"
	 "\t\t\tDNS=*) out=\"$out ${l#DNS=}\" ;;\n"
	 "\t\t\tesac\n"
	 "\t\tdone <\"$f\"\n"
	 "\tdone\n"
	 "\tset -f\n"
	 "\tfor a in $out; do\n"
	 "\t\tip2int \"$a\" && echo \"nameserver $a\"\n"
	 "\tdone >\"$R/resolv.conf.new\" && mv -f \"$R/resolv.conf.new\" \"$R/resolv.conf\"\n"
	 "}\n"
	 "\n"
	 "# configured IFACE: systemd-networkd is done with it\n"
	 "configured() {\n"
	 "\tlocal i\n"
	 "\tread -r i <\"/sys/class/net/$1/ifindex\" 2>/dev/null || return 1\n"
	 "\tgrep -qs '^ADMIN_STATE=configured' \"/run/systemd/netif/links/$i\"\n"
	 "}\n"
	 "\n"
	 "ready() {\n"
	 "\tlocal n ifc\n"
	 "\tif [ -f \"$R/interfaces\" ]; then\n"
	 "\t\twhile read -r ifc; do\n"
	 "\t\t\tn=0\n"
	 "\t\t\twhile ! configured \"$ifc\" && [ $n -lt 300 ]; do\n"
	 "\t\t\t\tsleep 0.1\n"
	 "\t\t\t\tn=$((n + 1))\n"
	 "\t\t\tdone\n"
	 "\t\t\tconfigured \"$ifc\" || log \"$ifc: not configured after 30 s\"\n"
	 "\t\tdone <\"$R/interfaces\"\n"
	 "\t\tdns\n"
	 "\t\tip -4 -o addr show scope global 2>/dev/null | while read -r _ ifc _ addr _; do\n"
	 "\t\t\tlog \"$ifc: inet $addr\"\n"
	 "\t\tdone\n"
	 "\t\tif [ ! -e \"$R/dns-static\" ]; then\n"
	 "\t\t\twhile read -r k v; do\n"
	 "\t\t\t\t[ \"$k\" = nameserver ] && log \"dhcp dns $v\"\n"
	 "\t\t\tdone <\"$R/resolv.conf\"\n"
	 "\t\tfi\n"
	 "\tfi\n"
	 "\tlog \"ready\"\n"
	 "\t[ -e /proc/mconsole ] && echo umlkit-ready >/proc/mconsole\n"
	 "\treturn 0\n"
	 "}\n"
	 "\n"
	 "case \"$1\" in\n"
	 "early) early ;;\n"
	 "dns) dns ;;\n"
	 "ready) ready ;;\n"
	 "*)\n"
	 "\techo \"usage: $0 early|dns|ready\" >&2\n"
	 "\texit 2\n"
	 "\t;;\n"
	 "esac\n"
	 "exit 0\n",
	 "the boot script: umlkit.* kernel parameters"},
	{UNIT_DIR "umlkit-setup.service", S_IFREG | 0644,
	 "# umlkit: the guest's umlkit.* kernel parameters (umlkit-image(1)), before udev and "
	 "networking\n"
	 "[Unit]\n"
	 "Description=umlkit guest setup (hostname, addresses, modules)\n"
	 "DefaultDependencies=no\n"
	 "Wants=network-pre.target\n"
	 "Before=sysinit.target systemd-udevd.service systemd-udev-trigger.service "
	 "systemd-networkd.service network-pre.target systemd-modules-load.service\n"
	 "After=systemd-journald.socket\n"
	 "\n"
	 "[Service]\n"
	 "Type=oneshot\n"
	 "RemainAfterExit=yes\n"
	 "ExecStart=/etc/umlkit/setup early\n"
	 "StandardOutput=journal+console\n"
	 "\n"
	 "[Install]\n"
	 "WantedBy=sysinit.target\n",
	 "runs /etc/umlkit/setup early"},
	{UNIT_DIR "umlkit-ready.service", S_IFREG | 0644,
	 "# umlkit: tell the host the guest is ready, once multi-user.target is reached\n"
	 "[Unit]\n"
	 "Description=umlkit readiness notice\n"
	 "After=multi-user.target\n"
	 "\n"
	 "[Service]\n"
	 "Type=oneshot\n"
	 "RemainAfterExit=yes\n"
	 "ExecStart=/etc/umlkit/setup ready\n"
	 "StandardOutput=journal+console\n"
	 "\n"
	 "[Install]\n"
	 "WantedBy=multi-user.target\n",
	 "the readiness notice after multi-user.target"},
	{UNIT_DIR "umlkit-dns.path", S_IFREG | 0644,
	 "# umlkit: the DNS servers of DHCP leases into /etc/resolv.conf (no systemd-resolved "
	 "needed)\n"
	 "[Unit]\n"
	 "Description=umlkit DHCP DNS watch\n"
	 "DefaultDependencies=no\n"
	 "Before=sysinit.target\n"
	 "# only where systemd-networkd has something to do: else tmpfiles making the leases\n"
	 "# directory at boot started the service for nothing\n"
	 "After=umlkit-setup.service\n"
	 "ConditionDirectoryNotEmpty=|/run/systemd/network\n"
	 "ConditionDirectoryNotEmpty=|/etc/systemd/network\n"
	 "\n"
	 "[Path]\n"
	 "PathChanged=/run/systemd/netif/leases\n"
	 "PathModified=/run/systemd/netif/leases\n"
	 "\n"
	 "[Install]\n"
	 "WantedBy=sysinit.target\n",
	 "watches the DHCP leases"},
	{UNIT_DIR "umlkit-dns.service", S_IFREG | 0644,
	 "[Unit]\n"
	 "Description=umlkit DHCP DNS servers into resolv.conf\n"
	 "DefaultDependencies=no\n"
	 "\n"
	 "[Service]\n"
	 "Type=oneshot\n"
	 "ExecStart=/etc/umlkit/setup dns\n",
	 "their DNS servers into resolv.conf"},
	{UNIT_DIR "umlkit-agent.service", S_IFREG | 0644,
	 "# umlkit: the guest agent (umlkit exec, umlkit cp) on the channel umlkit.agent= names\n"
	 "[Unit]\n"
	 "Description=umlkit guest agent\n"
	 "ConditionPathExists=/usr/sbin/umlkit-agent\n"
	 "ConditionKernelCommandLine=umlkit.agent\n"
	 "DefaultDependencies=no\n"
	 "After=local-fs.target\n"
	 "Before=multi-user.target\n"
	 "\n"
	 "[Service]\n"
	 "ExecStart=/usr/sbin/umlkit-agent\n"
	 "Restart=always\n"
	 "RestartSec=1\n"
	 "\n"
	 "[Install]\n"
	 "WantedBy=multi-user.target\n",
	 "the guest agent (umlkit exec, umlkit cp)"},
	{UNIT_DIR "systemd-udev-trigger.service.d", S_IFDIR | 0755, NULL, NULL},
	{UNIT_DIR "systemd-udev-trigger.service.d/umlkit.conf", S_IFREG | 0644,
	 "# umlkit: coldplug network devices only (a UML guest has no other hardware udev must set "
	 "up)\n"
	 "[Service]\n"
	 "ExecStart=\n"
	 "ExecStart=-udevadm trigger --type=devices --action=add --subsystem-match=net\n",
	 "udev coldplugs network devices only"},
	/* a unit's own helper binary (libsystemd-shared) costs 0.1 s of the guest's CPU at
	 * every boot; mount and rm do the same work in a quarter of that */
	{UNIT_DIR "systemd-remount-fs.service.d", S_IFDIR | 0755, NULL, NULL},
	{UNIT_DIR "systemd-remount-fs.service.d/umlkit.conf", S_IFREG | 0644,
	 "# umlkit: the root is the one entry of a umlkit guest's /etc/fstab (umlkit-image(1)); "
	 "mount\n"
	 "# remounts it with its options, as systemd-remount-fs would, in a quarter of the time\n"
	 "[Service]\n"
	 "ExecStart=\n"
	 "ExecStart=/bin/mount -o remount /\n",
	 "the root remounted by mount (the one entry of fstab)"},
	{UNIT_DIR "systemd-tmpfiles-setup.service.d", S_IFDIR | 0755, NULL, NULL},
	{UNIT_DIR "systemd-tmpfiles-setup.service.d/umlkit.conf", S_IFREG | 0644,
	 "# umlkit: one systemd-tmpfiles run at boot, /dev included (its lines there only set\n"
	 "# permissions); systemd-tmpfiles-setup-dev.service, the other run, is masked\n"
	 "[Service]\n"
	 "ExecStart=\n"
	 "ExecStart=systemd-tmpfiles --create --remove --boot\n",
	 "one tmpfiles run at boot, /dev included"},
	{UNIT_DIR "systemd-user-sessions.service.d", S_IFDIR | 0755, NULL, NULL},
	{UNIT_DIR "systemd-user-sessions.service.d/umlkit.conf", S_IFREG | 0644,
	 "# umlkit: what systemd-user-sessions start does, by rm, in a quarter of the time\n"
	 "[Service]\n"
	 "ExecStart=\n"
	 "ExecStart=/bin/rm -f /run/nologin /etc/nologin\n",
	 "logins allowed by rm of the nologin files"},
	{"etc/udev", S_IFDIR | 0755, NULL, NULL},
	{"etc/udev/rules.d", S_IFDIR | 0755, NULL, NULL},
	{"etc/udev/rules.d/70-umlkit-net.rules", S_IFREG | 0644,
	 "# umlkit: the vector driver's vecN is ethN, as the --net order numbers it "
	 "(umlkit-image(1))\n"
	 "SUBSYSTEM==\"net\", ACTION==\"add\", KERNEL==\"vec[0-9]*\", NAME=\"eth%n\"\n",
	 "vecN is named ethN"},
	/* a disabled rule file or generator is a link to /dev/null of its name in /etc (udev(7),
	 * systemd.generator(7)); each ran at every boot, 0.05 to 0.1 s of the guest's one CPU
	 * (6.1, measured in the lab image) */
	{"etc/udev/rules.d/60-bridge-network-interface.rules", S_IFLNK | 0777, "/dev/null",
	 "disabled: bridge-utils' hotplug script, run for every interface; it does nothing unless "
	 "BRIDGE_HOTPLUG=yes, and ifupdown's networking.service is masked"},
	{"etc/udev/rules.d/80-ifupdown.rules", S_IFLNK | 0777, "/dev/null",
	 "disabled: ifupdown's hotplug script, run for every interface (networking.service is "
	 "masked: addresses come from umlkit.ip=)"},
	{"etc/systemd/system-generators", S_IFDIR | 0755, NULL, NULL},
	{"etc/systemd/system-generators/systemd-gpt-auto-generator", S_IFLNK | 0777, "/dev/null",
	 "disabled: GPT partition discovery: UML's disks carry no partition table"},
	{"etc/systemd/system-generators/systemd-hibernate-resume-generator", S_IFLNK | 0777,
	 "/dev/null", "disabled: resume from hibernation: a UML guest cannot hibernate"},
	{"etc/systemd/system-generators/systemd-cryptsetup-generator", S_IFLNK | 0777, "/dev/null",
	 "disabled: /etc/crypttab: a guest's disks are files on the host, encrypted there if at "
	 "all"},
	{"etc/systemd/system-generators/systemd-integritysetup-generator", S_IFLNK | 0777,
	 "/dev/null", "disabled: /etc/integritytab: none in a UML guest"},
	{"etc/systemd/system-generators/systemd-veritysetup-generator", S_IFLNK | 0777, "/dev/null",
	 "disabled: /etc/veritytab: none in a UML guest"},
	{"etc/systemd/system-generators/systemd-system-update-generator", S_IFLNK | 0777,
	 "/dev/null", "disabled: offline updates (PackageKit): none in a UML guest"},
	{UNIT_DIR "sysinit.target.wants", S_IFDIR | 0755, NULL, NULL},
	{UNIT_DIR "multi-user.target.wants", S_IFDIR | 0755, NULL, NULL},
	{UNIT_DIR "sockets.target.wants", S_IFDIR | 0755, NULL, NULL},
	{UNIT_DIR "getty.target.wants", S_IFDIR | 0755, NULL, NULL},
	{UNIT_DIR "sysinit.target.wants/umlkit-setup.service", S_IFLNK | 0777,
	 "/" UNIT_DIR "umlkit-setup.service", "enabled"},
	{UNIT_DIR "sysinit.target.wants/umlkit-dns.path", S_IFLNK | 0777,
	 "/" UNIT_DIR "umlkit-dns.path", "enabled"},
	{UNIT_DIR "multi-user.target.wants/umlkit-ready.service", S_IFLNK | 0777,
	 "/" UNIT_DIR "umlkit-ready.service", "enabled"},
	{UNIT_DIR "multi-user.target.wants/umlkit-agent.service", S_IFLNK | 0777,
	 "/" UNIT_DIR "umlkit-agent.service", "enabled"},
	{UNIT_DIR "multi-user.target.wants/systemd-networkd.service", S_IFLNK | 0777,
	 "/lib/systemd/system/systemd-networkd.service", "enabled: addresses from umlkit.ip="},
	{UNIT_DIR "sockets.target.wants/systemd-networkd.socket", S_IFLNK | 0777,
	 "/lib/systemd/system/systemd-networkd.socket", "enabled"},
	{UNIT_DIR "getty.target.wants/console-getty.service", S_IFLNK | 0777,
	 "/lib/systemd/system/console-getty.service", "enabled: the login on UML's console"},
	{UNIT_DIR "ctrl-alt-del.target", S_IFLNK | 0777, "/lib/systemd/system/poweroff.target",
	 "ctrl-alt-del (umlkit stop, mconsole cad) powers the guest off"},
	{"etc/resolv.conf", S_IFLNK | 0777, "/run/umlkit/resolv.conf", "umlkit.dns= or DHCP"},
	{"lib/modules", S_IFDIR | 0755, NULL, NULL},
	{"etc/systemd/journald.conf.d", S_IFDIR | 0755, NULL, NULL},
	{"etc/systemd/journald.conf.d/umlkit.conf", S_IFREG | 0644,
	 "# umlkit: the journal in memory (/run/log/journal), never written to the guest's disk\n"
	 "[Journal]\n"
	 "Storage=volatile\n",
	 "the journal in memory: no flush to /var at boot, no writes to the disk"},
};
const size_t uk_debian_layer_n = UK_ARRAY_SIZE(uk_debian_layer);

/* Masked (a link to /dev/null in /etc/systemd/system), each with the reason: a UML guest
 * never needs them, and together they cost most of a stock boot. */
const struct uk_layer_mask uk_debian_masks[] = {
	{"systemd-networkd-wait-online.service",
	 "waits out 2 minutes when an interface stays down; umlkit-ready waits for the umlkit.ip= "
	 "interfaces instead"},
	{"getty@tty1.service", "UML's tty1 goes nowhere; the login is on the console (tty0)"},
	{"getty-static.service", "starts gettys on tty2-6, which go nowhere either"},
	{"systemd-logind.service", "no seats or sessions on a UML console"},
	{"dbus.service", "nothing on the guest's path needs the bus"},
	{"dbus.socket", "nothing on the guest's path needs the bus"},
	{"networking.service", "ifupdown: addresses come from umlkit.ip= through systemd-networkd"},
	{"systemd-timesyncd.service", "the guest's clock is the host's"},
	{"systemd-pstore.service", "UML has no persistent store"},
	{"keyboard-setup.service", "UML has no keyboard"},
	{"e2scrub_all.timer", "a timer: periodic chores a disposable guest does not need"},
	{"e2scrub_reap.service", "ext4 scrubbing needs LVM"},
	{"apt-daily.timer", "a timer: periodic chores a disposable guest does not need"},
	{"apt-daily-upgrade.timer", "a timer: periodic chores a disposable guest does not need"},
	{"dpkg-db-backup.timer", "a timer: periodic chores a disposable guest does not need"},
	{"man-db.timer", "a timer: periodic chores a disposable guest does not need"},
	{"logrotate.timer", "a timer: periodic chores a disposable guest does not need"},
	{"fstrim.timer", "a timer: periodic chores a disposable guest does not need"},
	{"systemd-tmpfiles-clean.timer",
	 "a timer: periodic chores a disposable guest does not need"},
	/* each of these took 0.3-0.6 s of the guest's one CPU at every boot (systemd-analyze) */
	{"systemd-sysusers.service",
	 "the packages' postinst made these users when the image was built; at boot it only "
	 "checks them again, on the path to the network"},
	{"modprobe@dm_mod.service", "device-mapper: UML guests have no use for it at boot"},
	{"modprobe@loop.service", "loop devices load on demand (modprobe loop) when used"},
	{"modprobe@fuse.service", "fuse loads on demand when used"},
	{"systemd-update-utmp.service", "login records of boots and shutdowns (utmp, wtmp)"},
	{"systemd-update-utmp-runlevel.service", "login records of runlevel changes"},
	/* each 0.5-1 s of the guest's one CPU at boot (systemd-analyze blame, bookworm, 6.1) */
	{"systemd-journal-flush.service",
	 "the journal stays in /run (journald.conf.d/umlkit.conf): nothing to flush to /var"},
	{"systemd-random-seed.service",
	 "a disposable guest keeps no seed; its kernel seeds itself at boot"},
	{"modprobe@configfs.service", "configfs: nothing in a UML guest uses it at boot"},
	{"systemd-tmpfiles-setup-dev.service",
	 "a second systemd-tmpfiles run at boot, for /dev alone (0.15 s of the guest's CPU); "
	 "systemd-tmpfiles-setup.service covers /dev too"},
};
const size_t uk_debian_masks_n = UK_ARRAY_SIZE(uk_debian_masks);
