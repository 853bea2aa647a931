/*
 * The BGP transport's only native code: the TCP socket calls Node has no API for (design.md "Native code
 * only where Node has no API"). socket (optionally inside another network namespace, from a helper thread
 * that setns(2)s first, so the calling thread never moves), setsockopt/getsockopt with raw option bytes,
 * bind, close, and the kernel's constants and struct layouts. Nothing here knows TCP MD5 (RFC 2385) or
 * GTSM (RFC 5082): bgp/transport/ builds every option value in TypeScript. BFD (bgp/bfd/) borrows the
 * same calls for its UDP sockets, plus attachFilter for the received-TTL check Node cannot do. Connecting and listening are
 * left to Node (libuv adopts the fd), so nothing here can block the event loop.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/filter.h>
#include <netinet/tcp.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_MINTTL
#define IP_MINTTL 21
#endif
#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif

#define CHECK(call)                                                                                   \
  do {                                                                                                \
    if ((call) != napi_ok) {                                                                          \
      napi_throw_error(env, "EINTERNAL", "napi call failed: " #call);                                 \
      return NULL;                                                                                    \
    }                                                                                                 \
  } while (0)

/* Throws an Error with .code = "ECONNREFUSED"-style name, .errno and .syscall, as Node's own errors. */
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char msg[256];
  const char *name = strerrorname_np(err) ? strerrorname_np(err) : "EUNKNOWN";
  snprintf(msg, sizeof msg, "%s %s: %s", syscall, name, strerror(err));
  napi_value code, message, error, errnoValue, syscallValue;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &errnoValue);
  napi_set_named_property(env, error, "errno", errnoValue);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscallValue);
  napi_set_named_property(env, error, "syscall", syscallValue);
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

/* Bytes of a Uint8Array/Buffer argument; -1 (with a TypeError thrown) for anything else. */
static int get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) {
    napi_throw_type_error(env, "EINVAL", "expected a Uint8Array");
    return -1;
  }
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "EINVAL", "expected a Uint8Array");
    return -1;
  }
  return 0;
}

/* ---- socket(), inside a namespace if asked, on a helper thread ---------------------------------- */

struct socket_job {
  const char *ns_path; /* NULL: the caller's namespace */
  int family;
  int type; /* SOCK_STREAM (TCP) or SOCK_DGRAM (UDP, for BFD) */
  int fd;
  int err;
  const char *failed; /* which call failed */
};

static void *socket_job_run(void *arg) {
  struct socket_job *job = arg;
  if (job->ns_path != NULL) {
    int nsfd = open(job->ns_path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      job->err = errno;
      job->failed = "open netns";
      return NULL;
    }
    /* Only this helper thread moves; the socket keeps the namespace it was created in. */
    int rc = setns(nsfd, CLONE_NEWNET);
    int err = errno;
    close(nsfd);
    if (rc < 0) {
      job->err = err;
      job->failed = "setns";
      return NULL;
    }
  }
  int proto = job->type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
  int fd = socket(job->family, job->type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) {
    job->err = errno;
    job->failed = "socket";
    return NULL;
  }
  job->fd = fd;
  return NULL;
}

/*
 * socket(family: number, nsPath: string | null, udp?: boolean) -> fd (non-blocking, close-on-exec TCP
 * socket; a UDP one when `udp` is true, for BFD)
 */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, "EINVAL", "too few arguments");
    return NULL;
  }
  struct socket_job job = {.fd = -1, .type = SOCK_STREAM};
  CHECK(napi_get_value_int32(env, argv[0], &job.family));
  if (argc > 2) {
    bool udp = false;
    napi_valuetype ut;
    CHECK(napi_typeof(env, argv[2], &ut));
    if (ut == napi_boolean) CHECK(napi_get_value_bool(env, argv[2], &udp));
    if (udp) job.type = SOCK_DGRAM;
  }
  char *ns = NULL;
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[1], &t));
  if (t == napi_string) {
    size_t len = 0;
    CHECK(napi_get_value_string_utf8(env, argv[1], NULL, 0, &len));
    ns = malloc(len + 1);
    CHECK(napi_get_value_string_utf8(env, argv[1], ns, len + 1, &len));
  }
  job.ns_path = ns;
  if (ns == NULL) {
    socket_job_run(&job);
  } else {
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, socket_job_run, &job);
    if (rc != 0) {
      free(ns);
      return throw_errno(env, rc, "pthread_create");
    }
    pthread_join(thread, NULL);
  }
  free(ns);
  if (job.err != 0) return throw_errno(env, job.err, job.failed);
  napi_value out;
  CHECK(napi_create_int32(env, job.fd, &out));
  return out;
}

/* setsockopt(fd, level, name, value: number | Uint8Array); a number is passed as a C int */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) < 0) return NULL;
  int fd, level, name;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &level));
  CHECK(napi_get_value_int32(env, argv[2], &name));
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[3], &t));
  int rc;
  if (t == napi_number) {
    int value;
    CHECK(napi_get_value_int32(env, argv[3], &value));
    rc = setsockopt(fd, level, name, &value, sizeof value);
  } else {
    void *data;
    size_t len;
    if (get_bytes(env, argv[3], &data, &len) < 0) return NULL;
    rc = setsockopt(fd, level, name, data, (socklen_t)len);
  }
  if (rc < 0) return throw_errno(env, errno, "setsockopt");
  return NULL;
}

/* getsockopt(fd, level, name, maxLen) -> Uint8Array of the length the kernel returned */
static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) < 0) return NULL;
  int fd, level, name, max;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &level));
  CHECK(napi_get_value_int32(env, argv[2], &name));
  CHECK(napi_get_value_int32(env, argv[3], &max));
  if (max <= 0 || max > 4096) {
    napi_throw_range_error(env, "EINVAL", "maxLen must be 1..4096");
    return NULL;
  }
  unsigned char buf[4096];
  socklen_t len = (socklen_t)max;
  if (getsockopt(fd, level, name, buf, &len) < 0) return throw_errno(env, errno, "getsockopt");
  void *data;
  napi_value out;
  CHECK(napi_create_buffer_copy(env, len, buf, &data, &out));
  return out;
}

/* bind(fd, sockaddr: Uint8Array) */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) < 0) return NULL;
  int fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  void *data;
  size_t len;
  if (get_bytes(env, argv[1], &data, &len) < 0) return NULL;
  if (bind(fd, (const struct sockaddr *)data, (socklen_t)len) < 0) return throw_errno(env, errno, "bind");
  return NULL;
}

/*
 * attachFilter(fd, program: Uint8Array): SO_ATTACH_FILTER with a classic BPF program (struct sock_filter
 * entries, 8 bytes each, built in TypeScript: bgp/bfd/transport.ts). Only the struct sock_fprog, which
 * holds a pointer, has to be made here. BFD uses it for the RFC 5881 §5 TTL check on received packets.
 */
static napi_value js_attach_filter(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) < 0) return NULL;
  int fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  void *data;
  size_t len;
  if (get_bytes(env, argv[1], &data, &len) < 0) return NULL;
  if (len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    napi_throw_range_error(env, "EINVAL", "program must be 1..4096 struct sock_filter entries");
    return NULL;
  }
  struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter)),
                            .filter = (struct sock_filter *)data};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
    return throw_errno(env, errno, "setsockopt");
  return NULL;
}

/* close(fd): only for sockets not (yet) handed to Node */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) < 0) return NULL;
  int fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (close(fd) < 0) return throw_errno(env, errno, "close");
  return NULL;
}

/* ---- constants and struct layouts, from this machine's headers ---------------------------------- */

static int set_int(napi_env env, napi_value obj, const char *name, int64_t value) {
  napi_value v;
  if (napi_create_int64(env, value, &v) != napi_ok) return -1;
  return napi_set_named_property(env, obj, name, v) == napi_ok ? 0 : -1;
}

#define CONST(name) set_int(env, c, #name, name)
#define LAYOUT(key, value) set_int(env, c, key, (int64_t)(value))

static napi_value constants(napi_env env) {
  napi_value c;
  if (napi_create_object(env, &c) != napi_ok) return NULL;
  int bad = 0;
  bad |= CONST(AF_INET) | CONST(AF_INET6) | CONST(SOL_SOCKET) | CONST(SO_REUSEADDR) | CONST(SO_ERROR);
  bad |= CONST(IPPROTO_IP) | CONST(IPPROTO_IPV6) | CONST(IPPROTO_TCP);
  bad |= CONST(IP_TTL) | CONST(IP_MINTTL) | CONST(IPV6_UNICAST_HOPS) | CONST(IPV6_MINHOPCOUNT) |
         CONST(IPV6_V6ONLY);
  bad |= CONST(TCP_MD5SIG) | CONST(TCP_MD5SIG_MAXKEYLEN);
  bad |= CONST(SO_REUSEPORT) | CONST(SO_ATTACH_FILTER);
  bad |= LAYOUT("sizeofSockaddrIn", sizeof(struct sockaddr_in));
  bad |= LAYOUT("sizeofSockaddrIn6", sizeof(struct sockaddr_in6));
  bad |= LAYOUT("sizeofSaFamily", sizeof(sa_family_t));
  bad |= LAYOUT("offsetofSinPort", offsetof(struct sockaddr_in, sin_port));
  bad |= LAYOUT("offsetofSinAddr", offsetof(struct sockaddr_in, sin_addr));
  bad |= LAYOUT("offsetofSin6Port", offsetof(struct sockaddr_in6, sin6_port));
  bad |= LAYOUT("offsetofSin6Addr", offsetof(struct sockaddr_in6, sin6_addr));
  bad |= LAYOUT("offsetofSin6ScopeId", offsetof(struct sockaddr_in6, sin6_scope_id));
  bad |= LAYOUT("sizeofTcpMd5sig", sizeof(struct tcp_md5sig));
  bad |= LAYOUT("offsetofTcpmAddr", offsetof(struct tcp_md5sig, tcpm_addr));
  bad |= LAYOUT("offsetofTcpmKeylen", offsetof(struct tcp_md5sig, tcpm_keylen));
  bad |= LAYOUT("offsetofTcpmKey", offsetof(struct tcp_md5sig, tcpm_key));
  return bad ? NULL : c;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value c = constants(env);
  if (c == NULL) return NULL;
  napi_property_descriptor props[] = {
      {"socket", NULL, js_socket, NULL, NULL, NULL, napi_default, NULL},
      {"setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_default, NULL},
      {"getsockopt", NULL, js_getsockopt, NULL, NULL, NULL, napi_default, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
      {"attachFilter", NULL, js_attach_filter, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"constants", NULL, NULL, NULL, NULL, c, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
