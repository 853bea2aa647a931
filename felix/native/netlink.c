/*
 * felix's only native code: the AF_NETLINK socket calls Node has no API for (design.md "Native code only
 * where Node has no API"). socket+bind (optionally inside another network namespace, from a helper
 * thread that setns(2)s first, so the calling thread never changes namespace), setsockopt, send, a
 * draining non-blocking receive, a libuv readability watch, close, and a sysctl write inside a namespace.
 * Every message byte is built and parsed in TypeScript (felix/netlink/); nothing here knows rtnetlink.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define CHECK(call)                                                                                   \
  do {                                                                                                \
    if ((call) != napi_ok) {                                                                          \
      napi_throw_error(env, "EINTERNAL", "napi call failed: " #call);                                 \
      return NULL;                                                                                    \
    }                                                                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error, errnoValue;
  napi_create_string_utf8(env, strerrorname_np(err) ? strerrorname_np(err) : "EUNKNOWN", NAPI_AUTO_LENGTH,
                          &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &errnoValue);
  napi_set_named_property(env, error, "errno", errnoValue);
  napi_throw(env, error);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "EINVAL", "too few arguments");
    return -1;
  }
  return 0;
}

/* A string argument, or NULL for null/undefined. Caller frees. */
static char *opt_string(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) return NULL;
  size_t len = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  char *s = malloc(len + 1);
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* ---- work done inside a namespace, on a helper thread ------------------------------------------ */

struct ns_job {
  const char *ns_path; /* NULL: stay in the current namespace */
  int protocol;        /* open_socket */
  const char *file;    /* write_file: path under /proc/sys/net */
  const char *data;
  int result; /* fd or 0 */
  int err;
};

static int enter_ns(struct ns_job *job) {
  if (job->ns_path == NULL) return 0;
  int nsfd = open(job->ns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) return errno;
  /* Only this helper thread moves; unshare(CLONE_FS) is not needed for CLONE_NEWNET. */
  int rc = setns(nsfd, CLONE_NEWNET);
  int err = errno;
  close(nsfd);
  return rc < 0 ? err : 0;
}

static void *open_socket_job(void *arg) {
  struct ns_job *job = arg;
  job->err = enter_ns(job);
  if (job->err != 0) return NULL;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, job->protocol);
  if (fd < 0) {
    job->err = errno;
    return NULL;
  }
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    job->err = errno;
    close(fd);
    return NULL;
  }
  job->result = fd;
  return NULL;
}

static void *write_file_job(void *arg) {
  struct ns_job *job = arg;
  job->err = enter_ns(job);
  if (job->err != 0) return NULL;
  /* /proc/sys/net resolves against the opener's namespace, which is now the target one. */
  int fd = open(job->file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    job->err = errno;
    return NULL;
  }
  size_t len = strlen(job->data);
  if (write(fd, job->data, len) != (ssize_t)len) job->err = errno ? errno : EIO;
  close(fd);
  return NULL;
}

static int run_job(void *(*fn)(void *), struct ns_job *job) {
  if (job->ns_path == NULL) {
    fn(job);
    return 0;
  }
  pthread_t t;
  int rc = pthread_create(&t, NULL, fn, job);
  if (rc != 0) return rc;
  pthread_join(t, NULL);
  return 0;
}

/* open(protocol: number, nsPath: string | null) -> [fd, portId] */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) < 0) return NULL;
  struct ns_job job = {0};
  CHECK(napi_get_value_int32(env, argv[0], &job.protocol));
  char *ns = opt_string(env, argv[1]);
  job.ns_path = ns;
  int rc = run_job(open_socket_job, &job);
  free(ns);
  if (rc != 0) return throw_errno(env, rc, "pthread_create");
  if (job.err != 0) return throw_errno(env, job.err, "netlink socket");
  struct sockaddr_nl sa;
  socklen_t salen = sizeof sa;
  if (getsockname(job.result, (struct sockaddr *)&sa, &salen) < 0) {
    int err = errno;
    close(job.result);
    return throw_errno(env, err, "getsockname");
  }
  napi_value out, fdv, pidv;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_int32(env, job.result, &fdv));
  CHECK(napi_create_uint32(env, sa.nl_pid, &pidv));
  CHECK(napi_set_element(env, out, 0, fdv));
  CHECK(napi_set_element(env, out, 1, pidv));
  return out;
}

/* writeSysctl(nsPath: string | null, relPath: string, value: string): relPath is under /proc/sys/net/ */
static napi_value js_write_sysctl(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) < 0) return NULL;
  char *ns = opt_string(env, argv[0]);
  char *rel = opt_string(env, argv[1]);
  char *value = opt_string(env, argv[2]);
  napi_value ret = NULL;
  if (rel == NULL || value == NULL || strncmp(rel, "net/", 4) != 0 || strstr(rel, "..") != NULL) {
    napi_throw_range_error(env, "EINVAL", "sysctl path must be under net/ without ..");
  } else {
    char path[512];
    snprintf(path, sizeof path, "/proc/sys/%s", rel);
    struct ns_job job = {.ns_path = ns, .file = path, .data = value};
    int rc = run_job(write_file_job, &job);
    if (rc != 0) throw_errno(env, rc, "pthread_create");
    else if (job.err != 0) throw_errno(env, job.err, path);
    else napi_get_undefined(env, &ret);
  }
  free(ns);
  free(rel);
  free(value);
  return ret;
}

/* setsockoptInt(fd, level, option, value) */
static napi_value js_setsockopt_int(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) < 0) return NULL;
  int fd, level, opt, value;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &level));
  CHECK(napi_get_value_int32(env, argv[2], &opt));
  CHECK(napi_get_value_int32(env, argv[3], &value));
  if (setsockopt(fd, level, opt, &value, sizeof value) < 0) return throw_errno(env, errno, "setsockopt");
  return NULL;
}

/* send(fd, bytes: Uint8Array) -> bytes sent; the kernel processes rtnetlink requests inside this call */
static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) < 0) return NULL;
  int fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  void *data;
  size_t len;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &off));
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do {
    n = sendto(fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "netlink send");
  napi_value out;
  CHECK(napi_create_int64(env, n, &out));
  return out;
}

/*
 * recv(fd, buf: Uint8Array, minFree: number) -> [bytes, errno]. Reads datagrams back to back until the
 * socket is empty or fewer than minFree bytes are left, so one call moves a whole batch of ACKs or many
 * dump parts (netlink datagrams always hold whole messages, so the concatenation parses as a stream).
 * errno is 0, or the error that stopped the loop after `bytes` were read (ENOBUFS = events were lost).
 */
static napi_value js_recv(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) < 0) return NULL;
  int fd, min_free;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  void *data;
  size_t cap;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &cap, &data, &ab, &off));
  CHECK(napi_get_value_int32(env, argv[2], &min_free));
  size_t used = 0;
  int err = 0;
  while (cap - used >= (size_t)min_free) {
    struct iovec iov = {.iov_base = (char *)data + used, .iov_len = cap - used};
    struct sockaddr_nl from;
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (msg.msg_flags & MSG_TRUNC) {
      err = EMSGSIZE;
      break;
    }
    if (from.nl_pid != 0) continue; /* only the kernel talks to us */
    used += (size_t)n;
  }
  napi_value out, nv, ev;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_int64(env, (int64_t)used, &nv));
  CHECK(napi_create_int32(env, err, &ev));
  CHECK(napi_set_element(env, out, 0, nv));
  CHECK(napi_set_element(env, out, 1, ev));
  return out;
}

/* ---- readability watch (libuv poll), so receiving never blocks the event loop -------------------- */

struct watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  int stopped;
};

static void on_closed(uv_handle_t *h) {
  struct watch *w = h->data;
  free(w);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  struct watch *w = p->data;
  if (w->stopped) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, global, arg, resource;
  napi_get_reference_value(env, w->callback, &cb);
  napi_get_global(env, &global);
  napi_create_int32(env, status, &arg);
  napi_create_object(env, &resource);
  napi_async_context ctx;
  napi_value name;
  napi_create_string_utf8(env, "tabby-netlink-poll", NAPI_AUTO_LENGTH, &name);
  if (napi_async_init(env, resource, name, &ctx) == napi_ok) {
    napi_value result;
    napi_make_callback(env, ctx, global, cb, 1, &arg, &result);
    napi_async_destroy(env, ctx);
  }
  napi_close_handle_scope(env, scope);
}

static void release_watch(napi_env env, struct watch *w) {
  if (w->stopped) return;
  w->stopped = 1;
  uv_poll_stop(&w->poll);
  napi_delete_reference(env, w->callback);
  uv_close((uv_handle_t *)&w->poll, on_closed);
}

static void finalize_watch(napi_env env, void *data, void *hint) {
  /* Garbage collected without unwatch(): nothing else can stop it now. */
  (void)data;
  (void)hint;
}

/* watch(fd, callback(status)) -> handle; the callback runs on the event loop whenever fd is readable */
static napi_value js_watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) < 0) return NULL;
  int fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  struct watch *w = calloc(1, sizeof *w);
  w->env = env;
  CHECK(napi_create_reference(env, argv[1], 1, &w->callback));
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc != 0) {
    napi_delete_reference(env, w->callback);
    free(w);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  w->poll.data = w;
  rc = uv_poll_start(&w->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    release_watch(env, w);
    return throw_errno(env, -rc, "uv_poll_start");
  }
  napi_value handle;
  CHECK(napi_create_external(env, w, finalize_watch, NULL, &handle));
  return handle;
}

/* unwatch(handle): stops the watch; must be called before close(fd) */
static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) < 0) return NULL;
  struct watch *w;
  CHECK(napi_get_value_external(env, argv[0], (void **)&w));
  release_watch(env, w);
  return NULL;
}

/* close(fd) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) < 0) return NULL;
  int fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (close(fd) < 0) return throw_errno(env, errno, "close");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"setsockoptInt", NULL, js_setsockopt_int, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"recv", NULL, js_recv, NULL, NULL, NULL, napi_default, NULL},
      {"watch", NULL, js_watch, NULL, NULL, NULL, napi_default, NULL},
      {"unwatch", NULL, js_unwatch, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"writeSysctl", NULL, js_write_sysctl, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
