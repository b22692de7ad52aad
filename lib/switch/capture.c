// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's captures: every frame a port receives (or every port's) in libpcap's format
 * (magic a1b2c3d4, v2.4, snaplen, LINKTYPE_ETHERNET), to a file or pipe that never stalls
 * the switch: a record a full pipe has no room for is lost and counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/util.h"
#include "engine-state.h"

/* ---- captures (pcap: magic a1b2c3d4, v2.4, snaplen, LINKTYPE_ETHERNET) ---- */
int uk_switch_capture_start(struct uk_switch *sw, int port, int fd, struct uk_err *err)
{
	uint8_t h[24] = {0};
	int r;

	uk_switch_capture_stop(sw);
	uk_put_le32(h, 0xa1b2c3d4);
	h[4] = 2;
	h[6] = 4;
	uk_put_le32(h + 16, sw->max_frame);
	uk_put_le32(h + 20, 1);
	/* a reader that does not keep up loses records, never stalls the switch: not even
	 * the header's write may block (a pipe passed full, or whose reader never reads) */
	r = fcntl(fd, F_GETFL);
	if (r < 0 || fcntl(fd, F_SETFL, r | O_NONBLOCK) < 0) {
		r = errno;
		close(fd);
		return uk_err_sys(err, r, "capture: the file");
	}
	r = uk_write_all(fd, h, sizeof(h));
	if (r < 0) {
		close(fd);
		if (r == -EAGAIN || r == -EWOULDBLOCK)
			return uk_err_set(err, EAGAIN,
					  "capture: the pipe is full (its reader reads nothing)");
		return uk_err_sys(err, -r, "capture: writing the pcap header");
	}
	sw->capture_fd = fd;
	sw->capture_port = port;
	return 0;
}

void uk_switch_capture_stop(struct uk_switch *sw)
{
	if (sw->capture_fd >= 0)
		close(sw->capture_fd);
	sw->capture_fd = -1;
}

void uk_sw_capture(struct uk_switch *sw, int port, const uint8_t *f, size_t len)
{
	struct timespec ts;
	uint8_t rec[16];
	struct iovec iov[2] = {{rec, sizeof(rec)}, {(void *)f, len}};
	ssize_t w;

	(void)port;
	clock_gettime(CLOCK_REALTIME, &ts);
	uk_put_le32(rec, (uint32_t)ts.tv_sec);
	uk_put_le32(rec + 4, (uint32_t)(ts.tv_nsec / 1000));
	uk_put_le32(rec + 8, (uint32_t)len);
	uk_put_le32(rec + 12, (uint32_t)len);
	w = writev(sw->capture_fd, iov, 2);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		sw->capture_drops++; /* a pipe whose reader lags: this record is lost */
	else if (w != (ssize_t)(sizeof(rec) + len))
		uk_switch_capture_stop(sw); /* the reader went away, the disk is full, or a
					       record was cut short (the stream is broken) */
}

uint64_t uk_switch_capture_drops(const struct uk_switch *sw)
{
	return sw->capture_drops;
}
