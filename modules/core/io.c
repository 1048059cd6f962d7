/*
 * io.c - see io.h.
 */
#include "io.h"
#include "core.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

enum { IO_OPEN, IO_WRITE, IO_FSYNC, IO_DIRSYNC, IO_RENAME, IO_UNLINK, IO_NOPS };

#ifdef OW_FAULT_INJECTION
#include <stdatomic.h>

typedef struct {
	int domain, op, err;
	long first, last;
} fault_t;

static fault_t faults[16];
static int nfaults;
static atomic_long calls[OW_IO_NDOMAINS][IO_NOPS];

void ow_io_faults_init(void)
{
	static const char *ops[IO_NOPS] = {"open", "write", "fsync", "dirsync", "rename", "unlink"};
	const char *spec = getenv("OPENWIT_IO_FAULTS");
	if (spec == NULL)
		return;
	char *copy = ow_strdup(spec), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok && nfaults < 16;
	     tok = strtok_r(NULL, ",", &save)) {
		char op[16], err[16];
		long a, b;
		int n = sscanf(tok, "%15[a-z.]:%15[A-Z]:%ld-%ld", op, err, &a, &b);
		if (n < 3)
			continue;
		if (n == 3)
			b = a;
		fault_t *f = &faults[nfaults];
		const char *name = op;
		f->domain = OW_IO_WAL;
		if (strncmp(op, "pq.", 3) == 0) {
			f->domain = OW_IO_PARQUET;
			name += 3;
		}
		f->op = -1;
		for (int i = 0; i < IO_NOPS; i++)
			if (strcmp(name, ops[i]) == 0)
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

static int inject(int domain, int op)
{
	if (nfaults == 0)
		return 0;
	long n = atomic_fetch_add(&calls[domain][op], 1) + 1;
	for (int i = 0; i < nfaults; i++)
		if (faults[i].domain == domain && faults[i].op == op && n >= faults[i].first &&
		    n <= faults[i].last) {
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

static int inject(int domain, int op)
{
	OW_UNUSED(domain);
	OW_UNUSED(op);
	return 0;
}
#endif

int ow_io_open(int domain, const char *path, int flags, mode_t mode)
{
	if (inject(domain, IO_OPEN))
		return -1;
	return open(path, flags, mode);
}

int ow_io_write_all(int domain, int fd, const void *p, size_t n)
{
	const char *s = p;
	if (inject(domain, IO_WRITE))
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

int ow_io_fdatasync(int domain, int fd)
{
	if (inject(domain, IO_FSYNC))
		return OW_ERROR;
	return fdatasync(fd) == 0 ? OW_OK : OW_ERROR;
}

int ow_io_fsync_dir(int domain, const char *path)
{
	if (inject(domain, IO_DIRSYNC))
		return OW_ERROR;
	return ow_fsync_dir(path);
}

int ow_io_rename(int domain, const char *from, const char *to)
{
	if (inject(domain, IO_RENAME))
		return OW_ERROR;
	return rename(from, to) == 0 ? OW_OK : OW_ERROR;
}

int ow_io_unlink(int domain, const char *path)
{
	if (inject(domain, IO_UNLINK))
		return OW_ERROR;
	return unlink(path) == 0 ? OW_OK : OW_ERROR;
}
