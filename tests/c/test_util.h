/* Small helpers shared by the C tests. Not part of the API. */
#ifndef GADGETRT_TEST_UTIL_H
#define GADGETRT_TEST_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gadgetrt.h"

static int g_failures = 0;

#define S(lit) (lit), (sizeof(lit) - 1) /* string literal -> (ptr, len) */

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                   \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        g_failures++;                                                          \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) FAIL("check failed: %s", #cond);                          \
    } while (0)

#define CHECK_EQ_U(a, b)                                                       \
    do {                                                                       \
        unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
        if (_a != _b) FAIL("%s == %llu, expected %s == %llu", #a, _a, #b, _b); \
    } while (0)

#define CHECK_EQ_I(a, b)                                                       \
    do {                                                                       \
        long long _a = (long long)(a), _b = (long long)(b);                    \
        if (_a != _b) FAIL("%s == %lld, expected %s == %lld", #a, _a, #b, _b); \
    } while (0)

/* Fails (and frees) unless err is NULL. Evaluates to 1 on success. */
#define OK(call) ok_impl((call), #call, __FILE__, __LINE__)
static inline int ok_impl(grt_error *err, const char *what, const char *file, int line) {
    if (err == NULL) return 1;
    fprintf(stderr, "FAIL %s:%d: %s -> error %u: %s\n", file, line, what, grt_error_code(err), grt_error_message(err));
    grt_error_free(err);
    g_failures++;
    return 0;
}

/* Fails unless err has the given code; frees err. Evaluates to 1 on success. */
#define ERR(code, call) err_impl((code), (call), #call, __FILE__, __LINE__)
static inline int err_impl(uint32_t want, grt_error *err, const char *what, const char *file, int line) {
    if (err == NULL) {
        fprintf(stderr, "FAIL %s:%d: %s succeeded, expected error %u\n", file, line, what, want);
        g_failures++;
        return 0;
    }
    uint32_t got = grt_error_code(err);
    const char *msg = grt_error_message(err);
    int ok = got == want && msg != NULL && msg[0] != '\0';
    if (!ok) {
        fprintf(stderr, "FAIL %s:%d: %s -> error %u (%s), expected %u with a message\n", file, line, what, got,
                msg ? msg : "(null)", want);
        g_failures++;
    }
    grt_error_free(err);
    return ok;
}

/* Fatal: print and exit(1). */
#define DIE(...)                                                               \
    do {                                                                       \
        fprintf(stderr, "FATAL %s:%d: ", __FILE__, __LINE__);                  \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        exit(1);                                                               \
    } while (0)

static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *g_gadget_dir = GADGET_DIR;

/* Path of a test gadget: <dir>/<name>.wasm (static buffer per call site is enough here). */
static inline const char *gadget_path(const char *name, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s.wasm", g_gadget_dir, name);
    return buf;
}

/* exit(77) (ctest SKIP_RETURN_CODE) if the gadget is missing. */
static inline void require_gadget(const char *name) {
    char p[4096];
    struct stat st;
    if (stat(gadget_path(name, p, sizeof p), &st) != 0) {
        fprintf(stderr, "SKIP: %s missing (run tests/gadgets/go/build.sh)\n", p);
        exit(77);
    }
}

static inline int bytes_eq(const void *p, size_t n, const char *s) {
    return n == strlen(s) && (n == 0 || memcmp(p, s, n) == 0);
}

static inline int finish(const char *name) {
    if (g_failures) {
        fprintf(stderr, "%s: %d check(s) FAILED\n", name, g_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif
