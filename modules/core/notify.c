/*
 * notify.c - see notify.h. The socket is opened, used and closed on each
 * call: the calls are a handful over a process's life (ready, each reload,
 * stopping), and so a service manager restarted between them is found
 * again.
 */
#include "notify.h"
#include "core.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ow_notify(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	if (name == NULL || *name == '\0')
		return OW_DECLINED;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || n >= sizeof(sa.sun_path)) {
		errno = EINVAL;
		return OW_ERROR;
	}
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0'; /* the abstract namespace: no trailing NUL counted */
	else
		n++;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return OW_ERROR;
	ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	int e = errno;
	close(fd);
	errno = e;
	return sent < 0 ? OW_ERROR : OW_OK;
}

int ow_notify_reloading(void)
{
	char state[64];
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%lld",
		 (long long)(ow_mono_ns() / 1000));
	return ow_notify(state);
}
