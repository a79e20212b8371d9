#ifndef PLUGIND_CFASTCGI_SHIM_H
#define PLUGIND_CFASTCGI_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <fcgiapp.h>

// Swift's Glibc module does not export pthread_setname_np: name worker threads for ps/top (max 15 bytes).
static inline void plugind_name_current_thread(const char *name) { pthread_setname_np(pthread_self(), name); }

// accept4 is a GNU extension Swift's Glibc module leaves out: a connection taken close-on-exec in one call.
// Declared here: including <sys/socket.h> under _GNU_SOURCE would give Swift a second copy of its types.
struct sockaddr;
extern int accept4(int fd, struct sockaddr *address, unsigned int *length, int flags);
static inline int plugind_accept_cloexec(int listener) { return accept4(listener, 0, 0, 02000000 /* SOCK_CLOEXEC */); }
#endif
