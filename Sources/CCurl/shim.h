#ifndef PLUGIND_CCURL_SHIM_H
#define PLUGIND_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: typed wrappers.
typedef size_t (*plugind_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef curl_socket_t (*plugind_curl_opensocket_cb)(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);
typedef int (*plugind_curl_xferinfo_cb)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode plugind_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode plugind_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode plugind_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode plugind_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode plugind_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode plugind_curl_setopt_data_cb(CURL *h, CURLoption o, plugind_curl_data_cb v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode plugind_curl_setopt_xferinfo_cb(CURL *h, CURLoption o, plugind_curl_xferinfo_cb v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode plugind_curl_setopt_opensocket_cb(CURL *h, CURLoption o, plugind_curl_opensocket_cb v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode plugind_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode plugind_curl_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }

// Process spawning for Adapters.ChildProcess: glibc's GNU extensions, which Swift's Glibc module hides
// (it is built without _GNU_SOURCE): declared here, called through the plugind_ wrappers below.
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>
extern int pipe2(int pipefd[2], int flags);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *file_actions, const char *path);
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *file_actions, int from);
static inline int plugind_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
static inline int plugind_spawn_addchdir(posix_spawn_file_actions_t *fa, const char *path) { return posix_spawn_file_actions_addchdir_np(fa, path); }
static inline int plugind_spawn_addclosefrom(posix_spawn_file_actions_t *fa, int from) { return posix_spawn_file_actions_addclosefrom_np(fa, from); }

// A thread's own id, and its I/O priority (ioprio_set has no glibc wrapper; syscall is variadic), for the
// thread children are spawned from at a lower priority (Adapters.ChildPriority).
#include <sys/syscall.h>
static inline int plugind_gettid(void) { return (int)syscall(SYS_gettid); }
static inline int plugind_ioprio_set_self_best_effort(int level) {
    // IOPRIO_WHO_PROCESS with id 0: the calling thread; IOPRIO_CLASS_BE (2) in the top bits of the value.
    return (int)syscall(SYS_ioprio_set, 1, 0, (2 << 13) | (level & 7));
}
static inline int plugind_ioprio_get(int pid) { return (int)syscall(SYS_ioprio_get, 1, pid); }
// posix_spawn's flag that starts the child in a session (and process group) of its own: glibc's, behind _GNU_SOURCE.
#define PLUGIND_POSIX_SPAWN_SETSID 0x80

// glibc's allocator tuning (Adapters.MemoryReturn): blocks from this size on are mapped apart and returned at free.
#include <malloc.h>
static inline int plugind_malloc_mmap_from(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
/* Returns the heaps' free memory to the system (MemoryReturn.trim). */
static inline int plugind_malloc_trim(void) { return malloc_trim(0); }
#endif
