// SPDX-License-Identifier: LGPL-2.1-or-later
/* Is busybox static? The image's /bin/busybox must run without a program interpreter. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "image-internal.h"
#include "umlkit/util.h"

int uk_rootfs_check_static(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t eh[64], ph[64];
	uint64_t phoff;
	unsigned phentsize, phnum;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = uk_pread_full(fd, eh, sizeof(eh), 0);
	if (n < 0)
		return (int)n;
	if (n < (ssize_t)sizeof(eh) || memcmp(eh, ELFMAG, SELFMAG) || eh[EI_CLASS] != ELFCLASS64 ||
	    eh[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
#ifdef __x86_64__
	if ((eh[18] | eh[19] << 8) != EM_X86_64)
		return -ENOEXEC;
#endif
	phoff = uk_get_le64(eh + 32);
	phentsize = eh[54] | eh[55] << 8;
	phnum = eh[56] | eh[57] << 8;
	if (phnum == 0 || phentsize < 4 || phentsize > sizeof(ph))
		return -ENOEXEC;
	for (unsigned i = 0; i < phnum; i++) {
		n = uk_pread_full(fd, ph, phentsize, phoff + (uint64_t)i * phentsize);
		if (n < 0)
			return (int)n;
		if (n < (ssize_t)phentsize)
			return -ENOEXEC;
		if (uk_get_le32(ph) == PT_INTERP)
			return -ENOEXEC;
	}
	return 0;
}
