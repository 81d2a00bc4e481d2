/* libFuzzer target: command templates (Kafka -> MQTT) compiled and rendered
 * against hostile Kafka records. The template language is static in
 * commands.c, so this file includes it (it is left out of the link).
 *
 * Input: the template (mqtt.topic or a user property), a newline, the
 * record key, a newline, the record value (the JSON the template's
 * {value.FIELD} placeholders read). Without a second newline the record has
 * no key. Templates with {header.NAME} are compiled, not rendered: a
 * record's headers come only from librdkafka's own messages, which cannot be
 * made without a broker. */
#include "../../src/downlink.c" /* NOLINT(bugprone-suspicious-include) */

static rd_kafka_t *rk;
static rd_kafka_topic_t *rkt;
static size_t sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_LVL_ERROR);
    char err[256];
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    rd_kafka_conf_set(kconf, "log_level", "0", err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, err, sizeof(err));
    if (!rk || !(rkt = rd_kafka_topic_new(rk, "hvac.commands", NULL))) {
        fprintf(stderr, "fuzz_commands: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - data) : size;
    char *text = strndup((const char *)data, tlen); /* up to a NUL, as YAML gives it */
    if (!text)
        return 0;
    const uint8_t *rest = nl ? nl + 1 : data + size;
    size_t rlen = size - (size_t)(rest - data);
    const uint8_t *nl2 = memchr(rest, '\n', rlen);
    /* Exact-size copies, so ASan sees a read past either. */
    size_t klen = nl2 ? (size_t)(nl2 - rest) : 0;
    const uint8_t *val = nl2 ? nl2 + 1 : rest;
    size_t vlen = rlen - (size_t)(val - rest);
    char *key = nl2 ? malloc(klen ? klen : 1) : NULL;
    char *value = malloc(vlen ? vlen : 1);
    if (key && klen)
        memcpy(key, rest, klen);
    if (vlen)
        memcpy(value, val, vlen);

    ctmpl_t t;
    char why[300];
    if (ctmpl_compile(text, &t, why, sizeof(why)) != MKB_OK) {
        if (!memchr(why, '\0', sizeof(why)))
            abort();
        goto out;
    }
    bool headers = false;
    for (size_t i = 0; i < t.n; i++)
        headers |= t.segs[i].kind == SEG_HEADER;
    if (!headers) {
        rd_kafka_message_t m = {.rkt = rkt, .partition = 3, .offset = 123456789, .key = key,
                                .key_len = klen, .payload = value, .len = vlen};
        json_t *v = NULL;
        if (t.needs_value) { /* as handle() reads it */
            json_error_t jerr;
            v = json_loadb(value, vlen, JSON_REJECT_DUPLICATES, &jerr);
        }
        rctx_t r = {&m, v};
        /* The template's own '/', '+' and '#': in an MQTT topic, the
         * record's values may add none (nor a NUL). */
        size_t lit[3] = {0, 0, 0};
        for (size_t i = 0; i < t.n; i++)
            for (const char *c = t.segs[i].kind == SEG_LIT ? t.segs[i].text : ""; *c; c++)
                lit[0] += *c == '/', lit[1] += *c == '+', lit[2] += *c == '#';
        for (int topic = 0; topic < 2; topic++) {
            buf_t out = {0};
            if (ctmpl_render(&t, &r, topic, &out, why, sizeof(why)) == MKB_OK) {
                /* buf_terminate: the text is NUL-terminated at len. */
                if (!out.p || out.p[out.len] != '\0')
                    abort();
                size_t got[3] = {0, 0, 0};
                for (size_t i = 0; i < out.len; i++) {
                    sink += (unsigned char)out.p[i];
                    got[0] += out.p[i] == '/', got[1] += out.p[i] == '+', got[2] += out.p[i] == '#';
                }
                if (topic && (memchr(out.p, '\0', out.len) || got[0] != lit[0] ||
                              got[1] != lit[1] || got[2] != lit[2])) {
                    fprintf(stderr, "fuzz_commands: a record value added a level or wildcard\n");
                    abort();
                }
                if (topic)
                    mqtt_topic_ok(&out, why, sizeof(why));
            }
            buf_free(&out);
        }
        json_decref(v);
    }
    ctmpl_free(&t);
out:
    free(value);
    free(key);
    free(text);
    return 0;
}
