// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The switch daemon's tap uplink: a host tap, which must exist (umlkit net tap add), as a
 * callback port of the engine. Frames from the tap are read by the batch and fed to the
 * engine; frames for it are written one at a time, and dropped when it cannot take them. A
 * tap that breaks or is deleted is removed, and why is kept for `info` (tap_error).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "daemon-internal.h"

static int tap_send(void *priv, const void *frame, size_t len)
{
	struct uk_swd *d = priv;

	return write(d->tap_fd, frame, len) == (ssize_t)len ? 0 : -EAGAIN;
}

void uk_swd_tap_readable(struct uk_swd *d, int fd)
{
	static uint8_t buf[UK_SW_MTU_MAX + 64];

	for (int i = 0; i < UK_SW_BATCH; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			uk_switch_input(d->sw, d->tap_port, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* the tap was deleted (EBADFD) or broke: it would be readable forever */
		snprintf(d->tap_error, sizeof(d->tap_error), "tap %s: %s; the uplink is removed",
			 d->o.tap, n < 0 ? strerror(errno) : "end of file");
		uk_swd_remove_port(d, d->tap_port);
		return;
	}
}

int uk_swd_tap_open(struct uk_swd *d, struct uk_err *err)
{
	struct uk_port_conf c = {.kind = UK_PORT_TAP};
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	/* an uplink to a tap that exists: TUNSETIFF would make a new one */
	if (!if_nametoindex(d->o.tap)) {
		if (fd >= 0)
			close(fd);
		return uk_err_set(err, ENODEV,
				  "tap %s: no such interface (make it first, e.g. "
				  "umlkit net tap add %s)",
				  d->o.tap, d->o.tap);
	}
	if (fd < 0)
		return uk_err_sys(err, errno, "tap %s: /dev/net/tun", d->o.tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, d->o.tap, strnlen(d->o.tap, IFNAMSIZ - 1));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return uk_err_sys(err, e,
				  "tap %s: cannot attach (does it exist, and may you open "
				  "it?)",
				  d->o.tap);
	}
	d->tap_fd = fd;
	if (d->o.tap_vlan) { /* a trunk whose native VLAN is another: tap_vlan goes tagged */
		c.trunk = true;
		c.vlan = d->o.tap_vlan == 1 ? 2 : 1;
	}
	snprintf(c.peer, sizeof(c.peer), "tap %s", d->o.tap);
	d->tap_port = uk_switch_add_callback_port(d->sw, &c, tap_send, d, err);
	if (d->tap_port < 0)
		return d->tap_port;
	return uk_swd_add_watch(d, &(struct watch){.fd = fd, .kind = WATCH_TAP});
}
