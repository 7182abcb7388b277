/* Images by reference through the C API, against the real registry of the ctest fixture
 * (scripts/registry-fixture.sh: ADDR/gadgets/signed:v1, signed with
 * tests/fixtures/signing/test.key, and ADDR/gadgets/unsigned:v1):
 * grt_image_pull, grt_image_list_json, grt_gadget_load_ref, grt_image_remove, signature
 * verification (default IG key, test key, disabled) and the contract (NULL, options).
 *
 * Usage: test_registry FIXTURE_DIR KEY_DIR   (FIXTURE_DIR/addr holds 127.0.0.1:PORT) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    *len = n;
    char *out = malloc(n + 1);
    memcpy(out, buf, n + 1);
    return out;
}

static int has_message(grt_error *err, uint32_t code, const char *needle) {
    int ok = err && grt_error_code(err) == code && strstr(grt_error_message(err), needle) != NULL;
    if (!ok) FAIL("want error %u containing \"%s\", got %u: %s", code, needle, grt_error_code(err), err ? grt_error_message(err) : "(none)");
    grt_error_free(err);
    return ok;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FIXTURE_DIR KEY_DIR\n", argv[0]);
        return 2;
    }
    char path[4096], signed_ref[256], unsigned_ref[256], store[] = "/tmp/gadgetrt-c-store-XXXXXX";
    size_t n = 0, keylen = 0;
    snprintf(path, sizeof path, "%s/addr", argv[1]);
    char *addr = read_file(path, &n);
    if (!addr) {
        FAIL("no registry address in %s (the registry fixture did not run)", path);
        return 1;
    }
    addr[strcspn(addr, "\r\n")] = 0;
    snprintf(signed_ref, sizeof signed_ref, "%s/gadgets/signed:v1", addr);
    snprintf(unsigned_ref, sizeof unsigned_ref, "%s/gadgets/unsigned:v1", addr);
    snprintf(path, sizeof path, "%s/test.pub", argv[2]);
    char *key = read_file(path, &keylen);
    CHECK(key != NULL);
    if (!mkdtemp(store)) {
        FAIL("mkdtemp");
        return 1;
    }

    grt_image_options o = GRT_IMAGE_OPTIONS_INIT;
    o.store_dir = store;
    o.store_dir_len = strlen(store);
    o.public_keys = key;
    o.public_keys_len = keylen;

    /* Pull (signature verified with the test key), digest out, list. */
    char digest[80];
    size_t dlen = 0;
    if (OK(grt_image_pull(&o, signed_ref, strlen(signed_ref), digest, sizeof digest, &dlen))) {
        CHECK_EQ_U(dlen, 71);
        CHECK(strncmp(digest, "sha256:", 7) == 0);
    }
    char list[4096];
    size_t llen = 0;
    if (OK(grt_image_list_json(&o, list, sizeof list - 1, &llen))) {
        list[llen] = 0;
        CHECK(strstr(list, signed_ref) != NULL);
        CHECK(dlen == 71 && strstr(list, "\"digest\":\"sha256:") != NULL);
    }
    ERR(GRT_ERR_INSUFFICIENT_SIZE, grt_image_list_json(&o, NULL, 0, &llen));

    /* Load and run by reference from the store only. */
    const grt_runtime *rt = NULL;
    if (!OK(grt_runtime_new(NULL, &rt))) return 1;
    grt_image_options never = o;
    never.pull_policy = GRT_PULL_NEVER;
    const grt_gadget *g = NULL;
    if (OK(grt_gadget_load_ref(rt, signed_ref, strlen(signed_ref), &never, &g))) {
        OK(grt_gadget_set_param(g, S("param-key"), S("param-value")));
        OK(grt_gadget_start(g));
        OK(grt_gadget_stop(g));
        grt_gadget_free(g);
        g = NULL;
    }

    /* Several keys (concatenated PEM): any one may have signed. */
    snprintf(path, sizeof path, "%s/other.pub", argv[2]);
    size_t otherlen = 0;
    char *other = read_file(path, &otherlen);
    char both[8192];
    int bn = snprintf(both, sizeof both, "%s%s", other ? other : "", key ? key : "");
    grt_image_options two = never;
    two.public_keys = both;
    two.public_keys_len = (size_t)bn;
    if (OK(grt_gadget_open_ref(rt, signed_ref, strlen(signed_ref), &two, &g))) grt_gadget_free(g);
    g = NULL;
    two.public_keys = other;
    two.public_keys_len = otherlen;
    has_message(grt_gadget_open_ref(rt, signed_ref, strlen(signed_ref), &two, &g), GRT_ERR_SIGNATURE,
                "signature verification failed for");
    free(other);

    /* Signatures: IG's default key refuses the test signature; unsigned images need opting out. */
    grt_image_options ig = GRT_IMAGE_OPTIONS_INIT;
    ig.store_dir = store;
    ig.store_dir_len = strlen(store);
    has_message(grt_gadget_open_ref(rt, signed_ref, strlen(signed_ref), &ig, &g), GRT_ERR_SIGNATURE,
                "not signed by the provided keys");
    has_message(grt_gadget_open_ref(rt, unsigned_ref, strlen(unsigned_ref), &o, &g), GRT_ERR_SIGNATURE,
                "no signature found for");
    has_message(grt_image_pull(&o, unsigned_ref, strlen(unsigned_ref), NULL, 0, NULL), GRT_ERR_SIGNATURE,
                "no signature found for");
    grt_image_options off = o;
    off.disable_verify = 1;
    if (OK(grt_gadget_open_ref(rt, unsigned_ref, strlen(unsigned_ref), &off, &g))) grt_gadget_free(g);
    g = NULL;

    /* Remove; then --pull=never cannot find it; unknown images are NOT_FOUND. */
    OK(grt_image_remove(&o, signed_ref, strlen(signed_ref)));
    ERR(GRT_ERR_NOT_FOUND, grt_image_remove(&o, signed_ref, strlen(signed_ref)));
    has_message(grt_gadget_open_ref(rt, signed_ref, strlen(signed_ref), &never, &g), GRT_ERR_NOT_FOUND,
                "not in the local store");
    char nope[256];
    snprintf(nope, sizeof nope, "%s/gadgets/nope:v1", addr);
    ERR(GRT_ERR_NOT_FOUND, grt_image_pull(&o, nope, strlen(nope), NULL, 0, NULL));

    /* Contract: NULL arguments, bad options. */
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_ref(rt, NULL, 0, &o, &g));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_open_ref(rt, signed_ref, strlen(signed_ref), &o, NULL));
    ERR(GRT_ERR_NULL_PARAMETER, grt_gadget_load_ref(NULL, signed_ref, strlen(signed_ref), &o, &g));
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_image_pull(&o, "", 0, NULL, 0, NULL));
    ERR(GRT_ERR_INVALID_UTF8, grt_image_remove(&o, "\xff", 1));
    grt_image_options bad = o;
    bad.pull_policy = 7;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_gadget_open_ref(rt, signed_ref, strlen(signed_ref), &bad, &g));
    bad = o;
    bad.size = 0;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_image_list_json(&bad, list, sizeof list, &llen));
    bad = o;
    bad.public_keys = "not a key";
    bad.public_keys_len = 9;
    ERR(GRT_ERR_INVALID_ARGUMENT, grt_image_pull(&bad, signed_ref, strlen(signed_ref), NULL, 0, NULL));
    CHECK(g == NULL);

    grt_runtime_free(rt);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", store);
    CHECK(system(cmd) == 0);
    free(addr);
    free(key);
    if (g_failures) fprintf(stderr, "%d failure(s)\n", g_failures);
    return g_failures ? 1 : 0;
}
