/*
 * io.h - the one small layer every durable file operation goes through
 * (open, write, fdatasync, directory fsync, rename, unlink), so that a
 * test can make them fail as a disk would. Each call names its domain, the
 * WAL or the Parquet parts, so a test can fail one and not the other.
 *
 * Faults come from the environment variable OPENWIT_IO_FAULTS, read once at
 * start, and only in a build with -DOW_FAULT_INJECTION (the test binary
 * t/openwit-faults); the server that `make` builds has no such hook. Syntax:
 * comma-separated OP:ERRNO:FIRST[-LAST] with OP one of open, write, fsync,
 * dirsync, rename, unlink (WAL files) or pq.open, pq.write, pq.fsync,
 * pq.dirsync, pq.rename, pq.unlink (Parquet parts) or pq.space
 * (ow_io_disk_space), and ERRNO one of EIO,
 * ENOSPC, SLOW (the call succeeds after half a second, or after
 * OPENWIT_IO_SLOW_MS milliseconds) or POWER (a
 * simulated power cut: see io.c); calls are counted per OP from 1.
 * Example: "fsync:EIO:1" fails the first WAL fsync; "write:ENOSPC:1-20"
 * fails twenty WAL writes; "pq.rename:POWER:1" cuts the power before the
 * first part is renamed. OPENWIT_IO_DISK (io.c) pretends the disk's free
 * space for ow_io_disk_space.
 */
#ifndef OW_IO_H
#define OW_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ow_io_domain { OW_IO_WAL, OW_IO_PARQUET, OW_IO_NDOMAINS };

int ow_io_open(int domain, const char *path, int flags, mode_t mode);
int ow_io_write_all(int domain, int fd, const void *p, size_t n); /* OW_OK or OW_ERROR */
int ow_io_fdatasync(int domain, int fd);
int ow_io_fsync_dir(int domain, const char *path);
int ow_io_rename(int domain, const char *from, const char *to);
int ow_io_unlink(int domain, const char *path);
/* The disk thread: the calls that may wait on a slow disk (unlinks of
 * parts, statvfs) run there, in order, never on the loop nor on the
 * ingest workers. ow_io_submit runs j->work there, then j->done on the
 * loop when it has one; ow_io_stop (at exit, after the modules' stops and
 * the loop) has the thread run what is left (a done() then runs there,
 * the loop having ended) and joins it; a job submitted after it runs at
 * once, on the caller's thread. */
struct ow_job;
void ow_io_submit(struct ow_job *j);
/* ow_io_submit, ahead of the jobs waiting (a quick one that must not wait
 * behind a queue of unlinks: statvfs) */
void ow_io_submit_first(struct ow_job *j);
void ow_io_stop(void);
/* ow_io_unlink on the disk thread; then, when pending is not NULL, bytes
 * are taken from *pending (what the caller counts as about to be freed). */
void ow_io_unlink_later(int domain, const char *path, _Atomic uint64_t *pending, uint64_t bytes);
void ow_io_faults_init(void);
/* Bytes free to an unprivileged writer and the size of the filesystem
 * holding path (statvfs). OW_OK or OW_ERROR with errno. */
int ow_io_disk_space(const char *path, uint64_t *avail, uint64_t *total);

#endif
