/*
 * tabby-cni / tabby-ipam as installed in the CNI bin dir: a small native front for the plugin, because
 * a runtime execs the plugin for every pod and a Node process costs 60-80 ms just to start, while the
 * whole ADD of the reference ptp + host-local pair takes ~10 ms.
 *
 * With the node agent running, this forwards the call over the agent's unix socket and the agent does
 * the work with its datastore connection, IPAM cache and netlink socket already warm. Without it (the
 * agent not started yet, upgrading, crashed), it takes the host-wide IPAM lock (flock, as Calico's
 * calico-ipam does, so concurrent fallbacks do not fight over one block) and execs the full plugin in
 * Node, `<this directory>/tabby-cni.fallback --as <role>`, with the same stdin.
 *
 * Protocol (client to agent), lines end in \n:
 *   tabby-cni 1
 *   role <tabby-cni | tabby-ipam | calico-ipam>
 *   env <NAME>=<VALUE>      one per CNI_* variable
 *   stdin <N>
 *   <N bytes of network config>
 * Agent to client: "<exit code>\n" then the stdout bytes until EOF.
 *
 * The socket path is the network config's "tabby_agent_socket" (default /var/run/tabby/cni.sock), the
 * lock file its "ipam_lock_file" (default /var/run/calico/ipam.lock). The config is not parsed as JSON
 * here: a string value holding an escape sends the call to the Node plugin, which parses it properly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

#define MAX_STDIN (16 * 1024 * 1024)

static const char *DEFAULT_SOCKET = "/var/run/tabby/cni.sock";
static const char *DEFAULT_LOCK = "/var/run/calico/ipam.lock";

/* One CNI error document on stdout, as the runtime expects, and the exit code for it. */
static int fail(int code, const char *msg, const char *details) {
  printf("{\"cniVersion\":\"1.0.0\",\"code\":%d,\"msg\":\"%s\",\"details\":\"%s\"}\n", code, msg, details);
  return 1;
}

static char *read_all(int fd, size_t *len) {
  size_t cap = 8192, n = 0;
  char *buf = malloc(cap + 1);
  if (buf == NULL) return NULL;
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_STDIN) { free(buf); errno = EFBIG; return NULL; }
      cap *= 2;
      char *grown = realloc(buf, cap + 1);
      if (grown == NULL) { free(buf); return NULL; }
      buf = grown;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) { if (errno == EINTR) continue; free(buf); return NULL; }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/*
 * The string value of top-level-looking key `key` in the JSON text, copied into out; 0 when absent,
 * -1 when present but not a plain string (escapes, too long): the caller then leaves the call to Node.
 */
static int json_string(const char *text, const char *key, char *out, size_t outlen) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\"", key);
  const char *p = strstr(text, pattern);
  if (p == NULL) return 0;
  p += strlen(pattern);
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p++ != ':') return -1;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p++ != '"') return -1;
  size_t i = 0;
  for (; *p != '"'; p++) {
    if (*p == '\0' || *p == '\\' || i + 1 >= outlen) return -1;
    out[i++] = *p;
  }
  out[i] = '\0';
  return 1;
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Forwards the call; returns the exit code, or -1 if the agent is not there (nothing was sent). */
static int via_agent(const char *path, const char *role, const char *in, size_t inlen) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return -1;
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { close(fd); return -1; }

  size_t cap = 4096 + inlen, n = 0;
  char *req = malloc(cap);
  if (req == NULL) { close(fd); return fail(5, "out of memory", ""); }
  n += (size_t)snprintf(req + n, cap - n, "tabby-cni 1\nrole %s\n", role);
  for (char **e = environ; *e != NULL; e++) {
    if (strncmp(*e, "CNI_", 4) != 0) continue;
    size_t el = strlen(*e);
    if (strchr(*e, '\n') != NULL) { free(req); close(fd); return -1; }
    if (n + el + 8 + inlen + 32 > cap) {
      cap = (n + el + inlen + 64) * 2;
      char *grown = realloc(req, cap);
      if (grown == NULL) { free(req); close(fd); return fail(5, "out of memory", ""); }
      req = grown;
    }
    n += (size_t)snprintf(req + n, cap - n, "env %s\n", *e);
  }
  n += (size_t)snprintf(req + n, cap - n, "stdin %zu\n", inlen);
  memcpy(req + n, in, inlen);
  n += inlen;
  int sent = write_all(fd, req, n);
  free(req);
  if (sent < 0) { close(fd); return -1; }
  shutdown(fd, SHUT_WR);

  size_t outlen = 0;
  char *out = read_all(fd, &outlen);
  close(fd);
  char *nl = out == NULL ? NULL : memchr(out, '\n', outlen);
  if (nl == NULL) {
    free(out);
    return fail(11, "the tabby node agent closed the connection before answering", path);
  }
  *nl = '\0';
  int code = atoi(out);
  size_t head = (size_t)(nl - out) + 1;
  write_all(1, out + head, outlen - head);
  free(out);
  return code;
}

/* Execs the Node plugin with the stdin we already read, holding the host-wide IPAM lock. */
static int fallback(const char *role, const char *in, size_t inlen, const char *lockfile, int want_lock,
                    const char *sock) {
  char self[PATH_MAX];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 32);
  if (sl < 0) return fail(5, "cannot find the plugin's own path", strerror(errno));
  self[sl] = '\0';
  char *slash = strrchr(self, '/');
  strcpy(slash + 1, "tabby-cni.fallback");

  if (want_lock) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", lockfile);
    char *ds = strrchr(dir, '/');
    if (ds != NULL && ds != dir) { *ds = '\0'; mkdir(dir, 0755); }
    /* Best effort, as Calico's: without the lock the IPAM CAS still keeps the block right. */
    int lk = open(lockfile, O_RDWR | O_CREAT, 0644);
    if (lk >= 0) while (flock(lk, LOCK_EX) < 0 && errno == EINTR) {}
    /* lk stays open across exec: the lock lasts as long as the plugin. */
  }

  int mem = memfd_create("cni-stdin", 0);
  if (mem < 0 || write_all(mem, in, inlen) < 0 || lseek(mem, 0, SEEK_SET) < 0 || dup2(mem, 0) < 0)
    return fail(5, "cannot pass the network config to the plugin", strerror(errno));
  close(mem);
  char *argv[] = {self, "--as", (char *)role, NULL};
  execv(self, argv);
  if (errno != ENOENT) return fail(5, "cannot run the tabby-cni plugin's fallback", self);
  /* Installed without a fallback (the agent's Node is not on the host): VERSION needs no agent; the
     rest wait for it, and 11 tells the runtime to retry. */
  const char *cmd = getenv("CNI_COMMAND");
  if (cmd != NULL && strcmp(cmd, "VERSION") == 0) {
    printf("{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
    return 0;
  }
  /* STATUS is how a runtime asks whether it may send ADDs: without the agent it may not (CNI 1.1: 50). */
  if (cmd != NULL && strcmp(cmd, "STATUS") == 0)
    return fail(50, "the tabby node agent is not running on this node", sock);
  return fail(11, "the tabby node agent is not running on this node: try again later", sock);
}

int main(int argc, char **argv) {
  (void)argc;
  const char *base = strrchr(argv[0], '/');
  base = base == NULL ? argv[0] : base + 1;
  const char *role = strcmp(base, "tabby-ipam") == 0 || strcmp(base, "calico-ipam") == 0 ? base : "tabby-cni";

  /* An agent that goes away mid-request is an error to report (code 11), not a reason to die. */
  signal(SIGPIPE, SIG_IGN);
  size_t inlen = 0;
  char *in = read_all(0, &inlen);
  if (in == NULL) return fail(5, "cannot read stdin", strerror(errno));

  char sock[108], lock[PATH_MAX];
  int has_sock = json_string(in, "tabby_agent_socket", sock, sizeof sock);
  int has_lock = json_string(in, "ipam_lock_file", lock, sizeof lock);
  /* "" means the default, as it does to the Node plugin. */
  if (has_sock <= 0 || sock[0] == '\0') strcpy(sock, DEFAULT_SOCKET);
  if (has_lock == 0 || (has_lock > 0 && lock[0] == '\0')) { strcpy(lock, DEFAULT_LOCK); has_lock = 1; }

  /* A socket path with escapes is not followed: the Node plugin is the one that parses JSON fully. */
  if (has_sock >= 0) {
    int code = via_agent(sock, role, in, inlen);
    if (code >= 0) return code;
  }
  const char *cmd = getenv("CNI_COMMAND");
  int mutates = cmd != NULL && (strcmp(cmd, "ADD") == 0 || strcmp(cmd, "DEL") == 0 || strcmp(cmd, "GC") == 0);
  return fallback(role, in, inlen, lock, mutates && has_lock >= 0, sock);
}
