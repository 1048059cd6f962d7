/*
 * log.c - leveled log lines: "2026-11-26T11:17:40.123Z [info] message".
 * The test harness treats any line at error level or above as a failure of
 * the test that caused it, so error is kept for what really is one.
 */
#include "log.h"
#include "core.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

int ow_log_level = OW_LOG_INFO;
static int log_fd = 2;
static char *log_path;

static const char *level_names[] = {"debug", "info", "warn", "error", "crit"};

int ow_log_level_parse(const char *s)
{
	for (int i = 0; i < (int)OW_NELEMS(level_names); i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void ow_log(int level, const char *fmt, ...)
{
	if (level < ow_log_level)
		return;
	char line[2048];
	int64_t ns = ow_now_ns();
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ [%s] ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)(ns % 1000000000 / 1000000), level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : OW_MIN((size_t)m, sizeof(line) - (size_t)n - 2));
	line[len++] = '\n';
	ssize_t w = write(log_fd, line, len);
	OW_UNUSED(w);
}

/* The log's descriptor number never changes once a file is open: a reopen
 * dup2()s the new file onto it. Another thread inside ow_log() therefore
 * never writes to a closed descriptor, whose number open() may already have
 * given to a WAL file. */
int ow_log_open(const char *path)
{
	if (path == NULL || *path == '\0')
		return OW_OK;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return OW_ERROR;
	if (log_path != NULL && log_fd > 2) {
		dup3(fd, log_fd, O_CLOEXEC);
		close(fd);
	} else {
		log_fd = fd;
	}
	if (log_path != path) {
		free(log_path);
		log_path = ow_strdup(path);
	}
	return OW_OK;
}

int ow_log_reopen(void)
{
	return log_path == NULL ? OW_OK : ow_log_open(log_path);
}
