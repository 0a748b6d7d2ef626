/* Hostile strategy plugins against plugins/sdk/include/entmoot_strategy.h, one per -DHOSTILE_*
 * flag: what a stranger's plugin might do to the host that loads it. The tests compile each
 * variant with the system C compiler and check that the host contains it:
 *
 *   HOSTILE_MANIFEST_SEGFAULT  manifest() dereferences NULL
 *   HOSTILE_MANIFEST_LOOP      manifest() never returns
 *   HOSTILE_CONSTRUCTOR        an ELF constructor kills the process that loads the library
 *   HOSTILE_FORK_PIPES         run() forks a child that keeps the pipes open for 60 s
 *   HOSTILE_DAEMON             run() double-forks a daemon (setsid) that lives for 60 s
 *   HOSTILE_KILL_PARENT        run() SIGKILLs its parent and every "entmoot" process it sees
 *   HOSTILE_HUGE_ERROR         run() fails with a 64 MiB error message
 *   HOSTILE_DUPLICATES         run() returns 4,000 copies of one asset
 *   HOSTILE_ROAD_BOMB          run() returns 100,000 identical roads
 *   HOSTILE_SQUAT              the manifest claims the built-in name "greedy", version 99.0.0
 *   HOSTILE_SNOOP              run() looks for secrets (environment, .env, other processes'
 *                              environ, a file named in the parameters, a TCP port on
 *                              127.0.0.1) and reports everything it found in its error
 *
 * Every variant but the manifest ones answers with the name "hostile-<kind>". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "entmoot_strategy.h"

#ifndef HOSTILE_NAME
#define HOSTILE_NAME "hostile"
#endif

static EntmootBuffer take(char *text, size_t len) {
    EntmootBuffer b = {(uint8_t *)text, len};
    if (text == NULL) b.len = 0;
    return b;
}

static EntmootBuffer copy_of(const char *text) {
    size_t len = strlen(text);
    char *p = (char *)malloc(len);
    if (p != NULL) memcpy(p, text, len);
    return take(p, len);
}

#ifdef HOSTILE_CONSTRUCTOR
__attribute__((constructor)) static void strike_on_load(void) { kill(getpid(), SIGKILL); }
#endif

static EntmootBuffer manifest(void) {
#ifdef HOSTILE_MANIFEST_SEGFAULT
    volatile int *nothing = NULL;
    *nothing = 1;
#endif
#ifdef HOSTILE_MANIFEST_LOOP
    for (;;) {
    }
#endif
#ifdef HOSTILE_SQUAT
    return copy_of("{\"name\":\"greedy\",\"version\":\"99.0.0\",\"abi_version\":1,"
                   "\"description\":\"not the real greedy\",\"authors\":[\"squatter\"],"
                   "\"capabilities\":{\"rotations\":false,\"alternatives\":false,"
                   "\"terrain_aware\":false,\"deterministic\":true},"
                   "\"parameters\":{\"type\":\"object\"}}");
#else
    return copy_of("{\"name\":\"" HOSTILE_NAME "\",\"version\":\"1.0.0\",\"abi_version\":1,"
                   "\"description\":\"a hostile test plugin\",\"authors\":[\"test\"],"
                   "\"capabilities\":{\"rotations\":false,\"alternatives\":false,"
                   "\"terrain_aware\":false,\"deterministic\":true},"
                   "\"parameters\":{\"type\":\"object\"}}");
#endif
}

static const char EMPTY[] = "{\"layouts\":[{\"assets\":[],\"roads\":[]}]}";

#ifdef HOSTILE_SNOOP
/* The value of "key":"..." or "key":N in the request, copied into out (crude, enough here). */
static int find_param(const uint8_t *request, size_t len, const char *key, char *out, size_t cap) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = memmem(request, len, pattern, strlen(pattern));
    if (at == NULL) return 0;
    at += strlen(pattern);
    size_t n = 0;
    if (*at == '"') {
        at++;
        while (n + 1 < cap && at < (const char *)request + len && *at != '"') out[n++] = *at++;
    } else {
        while (n + 1 < cap && at < (const char *)request + len && *at >= '0' && *at <= '9')
            out[n++] = *at++;
    }
    out[n] = 0;
    return 1;
}

/* Appends what reading `path` gives: its first bytes, or the error. */
static void try_read(char *report, size_t cap, const char *label, const char *path) {
    char buf[200];
    size_t used = strlen(report);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(report + used, cap - used, "%s=denied(%s); ", label, strerror(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) n = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == 0 || buf[i] == '"' || buf[i] == '\\' || buf[i] < 32) buf[i] = ' ';
    buf[n] = 0;
    snprintf(report + used, cap - used, "%s=read(%s); ", label, buf);
}
#endif

static int32_t run(const uint8_t *request, size_t request_len, EntmootProgressFn progress,
                   EntmootCancelFn cancel, void *user_data, EntmootBuffer *out) {
    (void)request;
    (void)request_len;
    (void)progress;
    (void)cancel;
    (void)user_data;
    if (out == NULL) return ENTMOOT_STATUS_ERROR;
#ifdef HOSTILE_FORK_PIPES
    if (fork() == 0) {
        sleep(60);
        _exit(0);
    }
#endif
#ifdef HOSTILE_DAEMON
    pid_t first = fork();
    if (first == 0) {
        setsid();
        if (fork() == 0) {
            sleep(60);
            _exit(0);
        }
        _exit(0);
    }
    if (first > 0) waitpid(first, NULL, 0);
#endif
#ifdef HOSTILE_KILL_PARENT
    kill(getppid(), SIGKILL);
    DIR *proc = opendir("/proc");
    if (proc != NULL) {
        struct dirent *entry;
        while ((entry = readdir(proc)) != NULL) {
            char path[300], comm[64] = {0};
            snprintf(path, sizeof path, "/proc/%s/comm", entry->d_name);
            int fd = open(path, O_RDONLY);
            if (fd < 0) continue;
            ssize_t n = read(fd, comm, sizeof comm - 1);
            close(fd);
            if (n > 0 && strncmp(comm, "entmoot", 7) == 0 && strncmp(comm, "entmoot-plugin", 14) != 0)
                kill(atoi(entry->d_name), SIGKILL);
        }
        closedir(proc);
    }
#endif
#ifdef HOSTILE_HUGE_ERROR
    {
        size_t n = 64u * 1024 * 1024;
        const char head[] = "{\"kind\":\"failed\",\"message\":\"";
        char *text = (char *)malloc(n + 64);
        if (text == NULL) return ENTMOOT_STATUS_ERROR;
        size_t len = strlen(head);
        memcpy(text, head, len);
        memset(text + len, 'E', n);
        len += n;
        memcpy(text + len, "\"}", 2);
        *out = take(text, len + 2);
        return ENTMOOT_STATUS_ERROR;
    }
#endif
#ifdef HOSTILE_DUPLICATES
    {
        const char one[] = "{\"asset_id\":\"building-1\",\"name\":\"Building\",\"asset_type\":"
                           "\"building\",\"center\":[0,0],\"width_m\":18.288,"
                           "\"length_m\":24.384,\"rotation_deg\":0}";
        size_t count = 4000, len = 0, cap = count * (sizeof one + 1) + 64;
        char *text = (char *)malloc(cap);
        if (text == NULL) return ENTMOOT_STATUS_ERROR;
        len += (size_t)sprintf(text, "{\"layouts\":[{\"assets\":[");
        for (size_t i = 0; i < count; i++) {
            if (i > 0) text[len++] = ',';
            memcpy(text + len, one, sizeof one - 1);
            len += sizeof one - 1;
        }
        len += (size_t)sprintf(text + len, "],\"roads\":[]}]}");
        *out = take(text, len);
        return ENTMOOT_STATUS_OK;
    }
#endif
#ifdef HOSTILE_ROAD_BOMB
    {
        const char one[] = "{\"points\":[[0,0],[10,10]],\"width_m\":6}";
        size_t count = 100000, len = 0, cap = count * (sizeof one + 1) + 64;
        char *text = (char *)malloc(cap);
        if (text == NULL) return ENTMOOT_STATUS_ERROR;
        len += (size_t)sprintf(text, "{\"layouts\":[{\"assets\":[],\"roads\":[");
        for (size_t i = 0; i < count; i++) {
            if (i > 0) text[len++] = ',';
            memcpy(text + len, one, sizeof one - 1);
            len += sizeof one - 1;
        }
        len += (size_t)sprintf(text + len, "]}]}");
        *out = take(text, len);
        return ENTMOOT_STATUS_OK;
    }
#endif
#ifdef HOSTILE_SNOOP
    {
        size_t cap = 8192;
        char *report = (char *)calloc(cap, 1);
        char value[512];
        if (report == NULL) return ENTMOOT_STATUS_ERROR;
        const char *secret = getenv("SECRET_KEY");
        snprintf(report, cap, "env.SECRET_KEY=%s; env.count=", secret ? secret : "absent");
        extern char **environ;
        size_t count = 0;
        for (char **e = environ; e != NULL && *e != NULL; e++) count++;
        snprintf(report + strlen(report), cap - strlen(report), "%zu; ", count);
        try_read(report, cap, "dotenv", ".env");
        try_read(report, cap, "parent_dotenv", "../.env");
        if (find_param(request, request_len, "secret_file", value, sizeof value))
            try_read(report, cap, "secret_file", value);
        if (find_param(request, request_len, "host_pid", value, sizeof value)) {
            char path[600];
            snprintf(path, sizeof path, "/proc/%s/environ", value);
            try_read(report, cap, "host_environ", path);
        }
        try_read(report, cap, "ppid_environ", "/proc/1/environ");
        if (find_param(request, request_len, "port", value, sizeof value)) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in addr;
            memset(&addr, 0, sizeof addr);
            addr.sin_family = AF_INET;
            addr.sin_port = htons((uint16_t)atoi(value));
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            int r = s < 0 ? -1 : connect(s, (struct sockaddr *)&addr, sizeof addr);
            snprintf(report + strlen(report), cap - strlen(report), "connect=%s; ",
                     r == 0 ? "connected" : strerror(errno));
            if (s >= 0) close(s);
        }
        char *doc = (char *)malloc(cap + 64);
        if (doc == NULL) return ENTMOOT_STATUS_ERROR;
        snprintf(doc, cap + 64, "{\"kind\":\"failed\",\"message\":\"%s\"}", report);
        free(report);
        *out = take(doc, strlen(doc));
        return ENTMOOT_STATUS_ERROR;
    }
#endif
    *out = copy_of(EMPTY);
    return ENTMOOT_STATUS_OK;
}

static void release(EntmootBuffer buffer) { free(buffer.ptr); }

static const EntmootStrategyV1 TABLE = {
    ENTMOOT_ABI_VERSION, (uint32_t)sizeof(EntmootStrategyV1), manifest, run, release,
};

const EntmootStrategyV1 *entmoot_strategy_entry_v1(void) { return &TABLE; }
