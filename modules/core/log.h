/*
 * log.h - one logging call with levels. Lines go to stderr or to the file
 * named by log.file; SIGHUP reopens the file (for logrotate). Safe to call
 * from any thread: each line is written with one write(2).
 */
#ifndef OW_LOG_H
#define OW_LOG_H

enum { OW_LOG_DEBUG, OW_LOG_INFO, OW_LOG_WARN, OW_LOG_ERROR, OW_LOG_CRIT };

extern int ow_log_level;

void ow_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ow_log_open(const char *path); /* NULL or "" means stderr */
int ow_log_reopen(void);
int ow_log_level_parse(const char *s);

#endif
