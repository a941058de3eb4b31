/*
 * An LD_PRELOAD shim for http_transport: it delays every epoll_ctl()
 * that removes a listening socket from an epoll set by 50 ms, then does
 * it. A server whose shutdown races such a removal between two threads
 * loses that race every time under the shim instead of once in hundreds
 * of runs; libmicrohttpd's MHD_quiesce_daemon() on its epoll loop is one
 * (it and the worker both remove the listening socket, and the loser
 * aborts the process: "Failed to remove listen FD from epoll set").
 * Nothing else changes; the shim forwards every call to the real one.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

typedef int (*epoll_ctl_fn)(int, int, int, struct epoll_event *);

static int is_listening(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	static epoll_ctl_fn real;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "epoll_ctl");
	if (op == EPOLL_CTL_DEL && is_listening(fd)) {
		struct timespec pause = { 0, 50 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	return real(epfd, op, fd, event);
}
