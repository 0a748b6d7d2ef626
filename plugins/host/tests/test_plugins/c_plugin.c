/* A minimal strategy plugin in C against plugins/sdk/include/entmoot_strategy.h: proves the
 * header matches the ABI the host speaks. It places nothing and returns one empty layout
 * (or "cancelled" when the host asks it to stop). */
#include <stdlib.h>
#include <string.h>

#include "entmoot_strategy.h"

static EntmootBuffer copy_of(const char *text) {
    EntmootBuffer b = {NULL, 0};
    size_t len = strlen(text);
    b.ptr = (uint8_t *)malloc(len);
    if (b.ptr != NULL) {
        memcpy(b.ptr, text, len);
        b.len = len;
    }
    return b;
}

static EntmootBuffer manifest(void) {
    return copy_of("{\"name\":\"c-example\",\"version\":\"0.0.1\",\"abi_version\":1,"
                   "\"description\":\"empty layouts, written in C\",\"authors\":[\"test\"],"
                   "\"capabilities\":{\"rotations\":false,\"alternatives\":false,"
                   "\"terrain_aware\":false,\"deterministic\":true},"
                   "\"parameters\":{\"type\":\"object\"}}");
}

static int32_t run(const uint8_t *request, size_t request_len, EntmootProgressFn progress,
                   EntmootCancelFn cancel, void *user_data, EntmootBuffer *out) {
    static const char report[] = "{\"fraction\":1.0,\"message\":\"hello from C\"}";
    if (out == NULL) return ENTMOOT_STATUS_ERROR;
    if (request == NULL || request_len == 0) {
        *out = copy_of("{\"kind\":\"bad_request\",\"message\":\"empty request\"}");
        return ENTMOOT_STATUS_ERROR;
    }
    if (progress != NULL) progress(user_data, (const uint8_t *)report, sizeof report - 1);
    if (cancel != NULL && cancel(user_data) != 0) {
        *out = copy_of("{\"kind\":\"cancelled\"}");
        return ENTMOOT_STATUS_ERROR;
    }
    *out = copy_of("{\"layouts\":[{\"assets\":[],\"roads\":[]}]}");
    return ENTMOOT_STATUS_OK;
}

static void release(EntmootBuffer buffer) { free(buffer.ptr); }

static const EntmootStrategyV1 TABLE = {
    ENTMOOT_ABI_VERSION, (uint32_t)sizeof(EntmootStrategyV1), manifest, run, release,
};

const EntmootStrategyV1 *entmoot_strategy_entry_v1(void) { return &TABLE; }
