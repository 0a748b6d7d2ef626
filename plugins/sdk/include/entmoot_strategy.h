/*
 * entmoot_strategy.h — the Entmoot strategy plugin C ABI, version 1.
 *
 * A plugin is a shared library (.so / .dylib) exporting one symbol,
 * entmoot_strategy_entry_v1, that returns a pointer to a static function table.
 * Every payload crossing the boundary is UTF-8 JSON passed as (pointer, length);
 * see plugins/sdk/ABI.md for the JSON documents and the rules.
 *
 * Rust plugins do not use this header: they implement entmoot_plugin_sdk::Strategy
 * and call export_strategy!(Type), which emits exactly this ABI.
 */
#ifndef ENTMOOT_STRATEGY_H
#define ENTMOOT_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENTMOOT_ABI_VERSION 1u
#define ENTMOOT_ENTRY_SYMBOL "entmoot_strategy_entry_v1"

/* Status codes returned by run(). */
#define ENTMOOT_STATUS_OK 0    /* *out holds a RunOutput JSON object: {"layouts":[...]} */
#define ENTMOOT_STATUS_ERROR 1 /* *out holds a StrategyError JSON object: {"kind":..,"message":..} */

/* A byte buffer allocated by the plugin. The host copies it, then returns it with free(). */
typedef struct EntmootBuffer {
    uint8_t *ptr; /* NULL for "no data" */
    size_t len;
} EntmootBuffer;

/* Progress callback: json/len is a Progress JSON object, valid only during the call.
 * Call it only from the thread that called run(). */
typedef void (*EntmootProgressFn)(void *user_data, const uint8_t *json, size_t len);

/* Cancellation query: non-zero means "stop now and return". Same thread rule. */
typedef int32_t (*EntmootCancelFn)(void *user_data);

typedef struct EntmootStrategyV1 {
    uint32_t abi_version; /* must be ENTMOOT_ABI_VERSION */
    uint32_t struct_size; /* sizeof(EntmootStrategyV1) as compiled into the plugin */

    /* Returns the Manifest JSON (name, version, abi_version, description, authors,
     * license, capabilities, parameters). Empty buffer on failure. */
    EntmootBuffer (*manifest)(void);

    /* Runs the strategy. request/request_len is a RunInput JSON object
     * {"problem": Problem, "request": RunRequest}. progress and cancel may be NULL;
     * user_data is passed back to them unchanged. The plugin writes its result buffer
     * to *out (always, also on error) and returns an ENTMOOT_STATUS_* code. */
    int32_t (*run)(const uint8_t *request, size_t request_len,
                   EntmootProgressFn progress, EntmootCancelFn cancel, void *user_data,
                   EntmootBuffer *out);

    /* Frees a buffer returned by manifest() or run(). Accepts an empty buffer. */
    void (*free)(EntmootBuffer buffer);
} EntmootStrategyV1;

/* The one exported symbol. Must return a pointer to a table that stays valid while the
 * library is loaded. Must not fail and must not call back into the host. */
const EntmootStrategyV1 *entmoot_strategy_entry_v1(void);

#ifdef __cplusplus
}
#endif

#endif /* ENTMOOT_STRATEGY_H */
