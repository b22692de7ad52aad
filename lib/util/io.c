// SPDX-License-Identifier: LGPL-2.1-or-later
/* Full read/write loops: EINTR and short counts handled, every result checked. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/util.h"

void (*uk_io_hook)(const char *name);
void (*uk_read_hook)(int fd, uint64_t len);

ssize_t uk_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	uk_read_point(fd, len);
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int uk_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	uk_io_point("pwrite");
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int uk_write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

bool uk_mem_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* Check the first 16 bytes, then compare the buffer with itself shifted. */
	for (size_t i = 0; i < len && i < 16; i++)
		if (p[i])
			return false;
	if (len <= 16)
		return true;
	return memcmp(p, p + 16, len - 16) == 0;
}

ssize_t uk_send_fd(int s, const void *buf, size_t len, int fd, int flags)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {(void *)buf, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	n = sendmsg(s, &m, flags | MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

ssize_t uk_recv_fd(int s, void *buf, size_t len, int *fd, int flags)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = {buf, len};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	ssize_t n = recvmsg(s, &m, flags | MSG_CMSG_CLOEXEC);

	*fd = -1;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[4];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(fds, CMSG_DATA(c), UK_MIN(nfd, (size_t)4) * sizeof(int));
		for (size_t i = 0; i < UK_MIN(nfd, (size_t)4); i++) {
			if (*fd < 0)
				*fd = fds[i];
			else
				close(fds[i]); /* one fd per message */
		}
	}
	return n;
}
