/*
 * notify.h - the service manager's readiness protocol (sd_notify(3), without
 * libsystemd): when $NOTIFY_SOCKET names a unix datagram socket (a path, or
 * an abstract name written with a leading '@'), state lines such as
 * "READY=1" are sent to it, one datagram each call. Without it (not run
 * by systemd as Type=notify) nothing is sent.
 */
#ifndef OW_NOTIFY_H
#define OW_NOTIFY_H

/* Sends state ("READY=1", "STOPPING=1", lines separated by '\n'). OW_OK,
 * OW_DECLINED when $NOTIFY_SOCKET is unset, or OW_ERROR with errno (a
 * socket that is not there): the caller logs it, the service goes on. */
int ow_notify(const char *state);

/* "RELOADING=1" with the monotonic time systemd asks it to carry. */
int ow_notify_reloading(void);

#endif
