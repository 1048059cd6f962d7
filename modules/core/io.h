/*
 * io.h - the one small layer every durable file operation goes through
 * (open, write, fdatasync, directory fsync, unlink), so that a test
 * can make them fail as a disk would.
 *
 * Faults come from the environment variable OPENWIT_IO_FAULTS, read once at
 * start, and only in a build with -DOW_FAULT_INJECTION (the test binary
 * t/openwit-faults); the server that `make` builds has no such hook. Syntax:
 * comma-separated OP:ERRNO:FIRST[-LAST] with OP one of open, write, fsync,
 * dirsync and ERRNO one of EIO, ENOSPC, or SLOW (the call succeeds after
 * half a second); calls are counted per OP from 1. Example: "fsync:EIO:1"
 * fails the first file fsync; "write:ENOSPC:1-20" fails twenty writes.
 */
#ifndef OW_IO_H
#define OW_IO_H

#include <stddef.h>
#include <sys/types.h>

int ow_io_open(const char *path, int flags, mode_t mode);
int ow_io_write_all(int fd, const void *p, size_t n); /* OW_OK or OW_ERROR, errno set */
int ow_io_fdatasync(int fd);
int ow_io_fsync_dir(const char *path);
int ow_io_unlink(const char *path);
void ow_io_faults_init(void);

#endif
