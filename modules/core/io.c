/*
 * io.c - see io.h.
 */
#include "io.h"
#include "core.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

enum { IO_OPEN, IO_WRITE, IO_FSYNC, IO_DIRSYNC, IO_NOPS };

#ifdef OW_FAULT_INJECTION
#include <stdatomic.h>

typedef struct {
	int op, err;
	long first, last;
} fault_t;

static fault_t faults[16];
static int nfaults;
static atomic_long calls[IO_NOPS];

void ow_io_faults_init(void)
{
	static const char *ops[IO_NOPS] = {"open", "write", "fsync", "dirsync"};
	const char *spec = getenv("OPENWIT_IO_FAULTS");
	if (spec == NULL)
		return;
	char *copy = ow_strdup(spec), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok && nfaults < 16;
	     tok = strtok_r(NULL, ",", &save)) {
		char op[16], err[16];
		long a, b;
		int n = sscanf(tok, "%15[a-z]:%15[A-Z]:%ld-%ld", op, err, &a, &b);
		if (n < 3)
			continue;
		if (n == 3)
			b = a;
		fault_t *f = &faults[nfaults];
		f->op = -1;
		for (int i = 0; i < IO_NOPS; i++)
			if (strcmp(op, ops[i]) == 0)
				f->op = i;
		f->err = !strcmp(err, "ENOSPC") ? ENOSPC : !strcmp(err, "SLOW") ? 0 : EIO;
		f->first = a;
		f->last = b;
		if (f->op >= 0)
			nfaults++;
	}
	free(copy);
	ow_log(OW_LOG_WARN, "io: fault injection active: %s", spec);
}

static int inject(int op)
{
	if (nfaults == 0)
		return 0;
	long n = atomic_fetch_add(&calls[op], 1) + 1;
	for (int i = 0; i < nfaults; i++)
		if (faults[i].op == op && n >= faults[i].first && n <= faults[i].last) {
			if (faults[i].err == 0) {
				usleep(500000); /* SLOW: a disk that takes its time */
				return 0;
			}
			errno = faults[i].err;
			return 1;
		}
	return 0;
}
#else
void ow_io_faults_init(void)
{
}

static int inject(int op)
{
	OW_UNUSED(op);
	return 0;
}
#endif

int ow_io_open(const char *path, int flags, mode_t mode)
{
	if (inject(IO_OPEN))
		return -1;
	return open(path, flags, mode);
}

int ow_io_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	if (inject(IO_WRITE))
		return OW_ERROR;
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return OW_ERROR;
		s += w;
		n -= (size_t)w;
	}
	return OW_OK;
}

int ow_io_fdatasync(int fd)
{
	if (inject(IO_FSYNC))
		return OW_ERROR;
	return fdatasync(fd) == 0 ? OW_OK : OW_ERROR;
}

int ow_io_fsync_dir(const char *path)
{
	if (inject(IO_DIRSYNC))
		return OW_ERROR;
	return ow_fsync_dir(path);
}

int ow_io_unlink(const char *path)
{
	return unlink(path) == 0 ? OW_OK : OW_ERROR;
}
