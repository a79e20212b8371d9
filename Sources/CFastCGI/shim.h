#ifndef PLUGIND_CFASTCGI_SHIM_H
#define PLUGIND_CFASTCGI_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <fcgiapp.h>

// Swift's Glibc module does not export pthread_setname_np: name worker threads for ps/top (max 15 bytes).
static inline void plugind_name_current_thread(const char *name) { pthread_setname_np(pthread_self(), name); }
#endif
