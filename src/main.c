// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* mqtt-kafka-bridge: wires the modules together; no business logic here. */
#include "bridge.h"
#include "buf.h"
#include "cli_map.h"
#include "downlink.h"
#include "config.h"
#include "err.h"
#include "jarena.h"
#include "log.h"
#include "mapper.h"
#include "mqtt_client.h"

#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef MKB_VERSION
#define MKB_VERSION "unknown"
#endif

#define DEFAULT_CONFIG "/etc/mqtt-kafka-bridge/bridge.yaml"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static bridge_signals_t signals;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        signals.reload = 1;
    else
        signals.stop = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mqtt-kafka-bridge [-c FILE] [-l LEVEL]\n"
            "       mqtt-kafka-bridge check [-c FILE]\n"
            "       mqtt-kafka-bridge map [-c FILE] --topic TOPIC [--payload TEXT | --payload-file "
            "FILE]\n"
            "                             [--qos N] [--retain] [--content-type CT] [--prop K=V]...\n"
            "                             [--birth FILE]... [--output text|json]\n"
            "\n"
            "Options go before or after the command, in any order (--config=FILE or\n"
            "--config FILE); a lone -- ends them.\n"
            "\n"
            "Forwards MQTT messages to Kafka by the routes of a YAML configuration.\n"
            "\n"
            "Commands:\n"
            "  (none)               run the bridge until SIGINT or SIGTERM; SIGHUP reloads\n"
            "                       the mapping files\n"
            "  check                validate the configuration and mapping files, print every\n"
            "                       error (exit 0: valid, 1: not)\n"
            "  map                  print the Kafka records one message would become, or its\n"
            "                       dead letter and why (payload from stdin without --payload*;\n"
            "                       exit 0: records, 1: dead letter, no route or every matching\n"
            "                       route skipped it, 2: bad config); --birth: a Sparkplug B\n"
            "                       birth (NBIRTH or DBIRTH payload) of the same edge node or\n"
            "                       device, read first, so aliases in the message get names\n"
            "                       --output json: one JSON document on stdout instead of the\n"
            "                       text (its shape: docs/RECIPES.md, \"map --output json\")\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE    configuration file (default: " DEFAULT_CONFIG ")\n"
            "  -l, --log-level LVL  error, warn, info or debug (overrides log_level)\n"
            "      --log-format FMT text, json or logfmt (overrides log_format)\n"
            "      --help-config    list every configuration key and exit\n"
            "  -h, --help           show this help and exit\n"
            "  -V, --version        show the version and exit\n"
            "\n"
            "Exit status (running):\n"
            "  0  clean shutdown: every message taken from MQTT reached Kafka (its topic or\n"
            "     the dead-letter topic) or, with the spool, is kept for the next start\n"
            "  1  runtime failure: records lost (not delivered, dead letter failed too),\n"
            "     a producer failed for good, or the spool directory cannot be used\n"
            "  2  usage or configuration error\n");
}

/* Warning lines TEXT (the configuration's, the route compiler's): as they
 * are on stderr (check, map), or one log line each (LOGGED: the running
 * bridge). */
static void print_warnings(const char *text, bool logged)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        if (logged)
            log_warn("config", "%.*s", len, p);
        else
            fprintf(stderr, "%.*s\n", len, p);
        p = nl ? nl + 1 : NULL;
    }
}

/* Loads PATH; errors go to stderr. */
static int load_config(const char *path, config_t **cfg, bool logged)
{
    char *errors = NULL;
    int rc = config_load(path, cfg, &errors);
    if (rc != MKB_OK) {
        fputs(errors ? errors : "error: out of memory\n", stderr);
        free(errors);
        return rc;
    }
    if (!logged)
        print_warnings((*cfg)->warnings, false);
    return rc;
}

/* check: the config, then the route compilation, every error listed. */
static int cmd_check(const char *path)
{
    config_t *cfg = NULL;
    if (load_config(path, &cfg, false) != MKB_OK)
        return 1;
    mapper_t *m = NULL;
    char *errors = NULL;
    char cerr[4096];
    int rc = mapper_new(cfg, &m, &errors);
    int crc = downlink_check(cfg, cerr, sizeof(cerr));
    if (rc != MKB_OK) {
        fputs(errors ? errors : "error: out of memory\n", stderr);
        free(errors);
    }
    if (crc != MKB_OK) {
        fputs(cerr, stderr);
        rc = crc;
    }
    if (rc == MKB_OK) {
        print_warnings(mapper_warnings(m), false);
        printf("%s: OK (%zu route(s), %zu subscription(s), %zu command rule(s))\n", path,
               cfg->routes_n, mapper_subscription_count(m), cfg->commands_n);
    }
    mapper_destroy(m);
    config_destroy(cfg);
    return rc == MKB_OK ? 0 : 1;
}

static int read_all(FILE *f, buf_t *out)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(out, chunk, n) != MKB_OK)
            return MKB_ERR_NOMEM;
    return ferror(f) ? MKB_ERR_IO : MKB_OK;
}

typedef struct {
    const char *topic;
    const char *payload;
    const char *payload_file;
    int qos;
    bool retain;
    const char *content_type;
    mkb_prop_t props[32];
    size_t nprops;
    const char *births[8]; /* --birth FILE: Sparkplug births read first */
    size_t nbirths;
    cli_map_format_t format; /* --output */
} map_args_t;

static int cmd_map(const char *path, const map_args_t *a)
{
    if (!a->topic) {
        fprintf(stderr, "mqtt-kafka-bridge map: --topic is required\n");
        return EXIT_USAGE;
    }
    buf_t payload = {0};
    if (a->payload) {
        buf_append_str(&payload, a->payload);
    } else {
        FILE *f = a->payload_file ? fopen(a->payload_file, "rb") : stdin;
        if (!f) {
            fprintf(stderr, "mqtt-kafka-bridge map: %s: %s\n", a->payload_file, strerror(errno));
            return EXIT_USAGE;
        }
        int rc = read_all(f, &payload);
        if (f != stdin)
            (void)fclose(f); /* read only */
        if (rc != MKB_OK) {
            fprintf(stderr, "mqtt-kafka-bridge map: cannot read the payload\n");
            buf_free(&payload);
            return EXIT_USAGE;
        }
    }
    config_t *cfg = NULL;
    if (load_config(path, &cfg, false) != MKB_OK) {
        buf_free(&payload);
        return EXIT_USAGE;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    mqtt_msg_t msg = {
        .topic = a->topic,
        .topic_len = strlen(a->topic),
        .payload = payload.p ? payload.p : "",
        .payload_len = payload.len,
        .qos = a->qos,
        .retained = a->retain,
        .content_type = a->content_type,
        .content_type_len = a->content_type ? strlen(a->content_type) : 0,
        .props = a->props,
        .nprops = a->nprops,
        .recv_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
    };
    int rc = cli_map_run(cfg, &msg, a->births, a->nbirths, a->format, stdout, stderr);
    config_destroy(cfg);
    buf_free(&payload);
    return rc;
}

/* The log level and format: the configuration's unless the command line
 * names one (checked by the option parser); the priority prefix when stderr
 * is the journal's stream. */
static void setup_logging(const config_t *cfg, const char *level_arg, const char *format_arg)
{
    log_level_t level = cfg->log_level;
    if (level_arg && !log_level_parse(level_arg, &level))
        level = cfg->log_level;
    log_set_level(level);
    log_format_t format = cfg->log_format;
    if (format_arg && !log_format_parse(format_arg, &format))
        format = cfg->log_format;
    log_set_format(format, log_journal_stream_is(getenv("JOURNAL_STREAM"), STDERR_FILENO));
}

static int cmd_run(const char *path, const char *level_arg, const char *format_arg)
{
    config_t *cfg = NULL;
    if (load_config(path, &cfg, true) != MKB_OK)
        return EXIT_USAGE;
    setup_logging(cfg, level_arg, format_arg);
    print_warnings(cfg->warnings, true);
    mqtt_client_route_traces();

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    (void)signal(SIGPIPE, SIG_IGN);

    log_info("main", "mqtt-kafka-bridge %s starting with %s", MKB_VERSION, path);
    int exit_code;
    char err[8192];
    bridge_t *b = NULL;
    int rc = bridge_new(cfg, path, &b, err, sizeof(err)); /* takes cfg */
    cfg = NULL;
    if (rc != MKB_OK) {
        if (rc == MKB_ERR_CONFIG)
            fputs(err, stderr); /* file:line:col lines, as `check` prints them */
        else
            log_error("main", "%s", err);
        exit_code = rc == MKB_ERR_CONFIG ? EXIT_USAGE : EXIT_RUNTIME;
        goto destroy_config;
    }
    rc = bridge_run(b, &signals);
    exit_code = rc == MKB_OK ? EXIT_OK : EXIT_RUNTIME;
    log_info("main", "stopped (%s)", rc == MKB_OK ? "nothing lost" : mkb_strerror(rc));
    bridge_destroy(b);
destroy_config:
    config_destroy(cfg);
    return exit_code;
}

enum { OPT_HELP_CONFIG = 256, OPT_TOPIC, OPT_PAYLOAD, OPT_PAYLOAD_FILE, OPT_QOS, OPT_RETAIN,
       OPT_CTYPE, OPT_BIRTH, OPT_PROP, OPT_OUTPUT, OPT_LOG_FORMAT };

/* Every option, global or map's, is taken before or after the command. */
static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"log-level", required_argument, NULL, 'l'},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"help-config", no_argument, NULL, OPT_HELP_CONFIG},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"payload-file", required_argument, NULL, OPT_PAYLOAD_FILE},
    {"qos", required_argument, NULL, OPT_QOS},
    {"retain", no_argument, NULL, OPT_RETAIN},
    {"content-type", required_argument, NULL, OPT_CTYPE},
    {"prop", required_argument, NULL, OPT_PROP},
    {"birth", required_argument, NULL, OPT_BIRTH},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {NULL, 0, NULL, 0},
};
#define N_LONG_OPTS (sizeof(long_opts) / sizeof(long_opts[0]) - 1)

/* The commands besides running the bridge (no command). */
static const char *const commands[] = {"check", "map"};

/* What the command line asks for. */
typedef struct {
    const char *config_path;
    const char *level_arg;
    const char *format_arg;
    const char *command; /* run, check, map */
    bool command_given;
    map_args_t map;
    bool map_opts; /* a map option was given */
} args_t;

/* Prints "PREFIX'WORD'" and, when one of NAMES is near, "; did you mean
 * 'HINTNEAR'?", then a pointer to --help. Returns EXIT_USAGE. */
static int usage_error(const char *what, const char *word, const char *const *names, size_t n,
                       const char *hint)
{
    const char *near = names ? config_nearest(word, names, n) : NULL;
    fprintf(stderr, "mqtt-kafka-bridge: %s '%s%s'%s%s%s%s\n", what, hint, word,
            near ? "; did you mean '" : "", near ? hint : "", near ? near : "", near ? "'?" : "");
    fprintf(stderr, "Try 'mqtt-kafka-bridge --help'.\n");
    return EXIT_USAGE;
}

/* The options of `map` (OPT_TOPIC...); -1 when OPT is not one, else the
 * exit status to stop with (EXIT_USAGE) or 0 to go on. */
static int map_option(args_t *a, int opt, const char *arg)
{
    static const char *const formats[] = {"text", "json"};
    map_args_t *map = &a->map;
    if (opt < OPT_TOPIC || opt > OPT_OUTPUT)
        return -1;
    a->map_opts = true;
    switch (opt) {
    case OPT_TOPIC: map->topic = arg; return 0;
    case OPT_PAYLOAD: map->payload = arg; return 0;
    case OPT_PAYLOAD_FILE: map->payload_file = arg; return 0;
    case OPT_RETAIN: map->retain = true; return 0;
    case OPT_CTYPE: map->content_type = arg; return 0;
    case OPT_OUTPUT:
        if (strcmp(arg, "text") == 0 || strcmp(arg, "json") == 0) {
            map->format = arg[0] == 'j' ? CLI_MAP_JSON : CLI_MAP_TEXT;
            return 0;
        }
        return usage_error("--output takes text or json, not", arg, formats, 2, "");
    case OPT_BIRTH:
        if (map->nbirths == sizeof(map->births) / sizeof(map->births[0])) {
            fprintf(stderr, "mqtt-kafka-bridge map: at most 8 --birth files\n");
            return EXIT_USAGE;
        }
        map->births[map->nbirths++] = arg;
        return 0;
    case OPT_QOS:
        if (strlen(arg) != 1 || arg[0] < '0' || arg[0] > '2') {
            fprintf(stderr, "mqtt-kafka-bridge map: --qos takes 0, 1 or 2\n");
            return EXIT_USAGE;
        }
        map->qos = arg[0] - '0';
        return 0;
    case OPT_PROP: {
        const char *eq = strchr(arg, '=');
        if (!eq || map->nprops == sizeof(map->props) / sizeof(map->props[0])) {
            fprintf(stderr, "mqtt-kafka-bridge map: --prop takes NAME=VALUE (at most 32)\n");
            return EXIT_USAGE;
        }
        map->props[map->nprops++] =
            (mkb_prop_t){arg, (size_t)(eq - arg), eq + 1, strlen(eq + 1)};
        return 0;
    }
    default: return -1;
    }
}

/* WORD, a word that is not an option: the command, once. */
static int command_word(args_t *a, const char *word)
{
    if (a->command_given) {
        fprintf(stderr, "mqtt-kafka-bridge: unexpected argument '%s' after the command '%s'\n",
                word, a->command);
        fprintf(stderr, "Try 'mqtt-kafka-bridge --help'.\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(word, commands[i]) == 0) {
            a->command = commands[i];
            a->command_given = true;
            return 0;
        }
    }
    return usage_error("unknown command", word, commands, sizeof(commands) / sizeof(commands[0]),
                       "");
}

/* getopt's '?' (unknown, ambiguous, or a value given to a flag) or ':' (a
 * value missing); ARG is the last word it took. */
static int bad_option(int opt, const char *arg)
{
    if (opt == ':' || optopt == 'h' || optopt == 'V' || optopt == OPT_HELP_CONFIG ||
        optopt == OPT_RETAIN) { /* optopt: the option's val for both */
        fprintf(stderr, "mqtt-kafka-bridge: option '%.*s' %s\n", (int)strcspn(arg, "="), arg,
                opt == ':' ? "needs a value" : "takes no value");
        fprintf(stderr, "Try 'mqtt-kafka-bridge --help'.\n");
        return EXIT_USAGE;
    }
    if (optopt) { /* an unknown letter: glibc sets optopt to 0 for long options */
        char s[2] = {(char)optopt, '\0'};
        return usage_error("unknown option", s, NULL, 0, "-");
    }
    char name[65], starting[200] = "";
    const char *names[N_LONG_OPTS];
    size_t prefixed = 0, len = 0;
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
    for (size_t i = 0; i < N_LONG_OPTS; i++) {
        names[i] = long_opts[i].name;
        if (strncmp(names[i], name, strlen(name)) == 0 && len < sizeof(starting))
            len += (size_t)snprintf(starting + len, sizeof(starting) - len, "%s--%s",
                                    prefixed++ ? ", " : "", names[i]);
    }
    if (prefixed > 1) { /* getopt_long takes a prefix of one option only */
        fprintf(stderr, "mqtt-kafka-bridge: option '--%s' is ambiguous (%s)\n", name, starting);
        fprintf(stderr, "Try 'mqtt-kafka-bridge --help'.\n");
        return EXIT_USAGE;
    }
    return usage_error("unknown option", name, names, N_LONG_OPTS, "--");
}

/* One option OPT (getopt_long's) with its value ARG. -1: go on; else the
 * exit status to stop with. */
static int take_option(args_t *a, int opt, const char *arg)
{
    log_level_t l;
    log_format_t f;
    int rc;
    switch (opt) {
    case 1: return (rc = command_word(a, arg)) ? rc : -1; /* a word, in order ('-') */
    case 'c': a->config_path = arg; return -1;
    case 'l':
        a->level_arg = arg;
        if (!log_level_parse(arg, &l)) {
            fprintf(stderr, "mqtt-kafka-bridge: unknown log level '%s' (error, warn, info, "
                            "debug)\n", arg);
            return EXIT_USAGE;
        }
        return -1;
    case OPT_LOG_FORMAT:
        a->format_arg = arg;
        if (!log_format_parse(arg, &f)) {
            fprintf(stderr, "mqtt-kafka-bridge: unknown log format '%s' (text, json, "
                            "logfmt)\n", arg);
            return EXIT_USAGE;
        }
        return -1;
    case OPT_HELP_CONFIG: config_print_keys(stdout); return EXIT_OK;
    case 'h': usage(stdout); return EXIT_OK;
    case 'V':
        printf("mqtt-kafka-bridge %s (librdkafka %s)\n", MKB_VERSION, rd_kafka_version_str());
        return EXIT_OK;
    default:
        rc = map_option(a, opt, arg);
        return rc > 0 ? rc : -1;
    }
}

/* Reads the options and the command into A, in any order ("--" ends the
 * options). -1: go on; else the exit status to stop with (--help,
 * --version, --help-config, a usage error). */
static int parse_options(int argc, char **argv, args_t *a)
{
    int opt, rc;
    opterr = 0; /* our messages, with a did-you-mean */
    /* '-': words come back in order as option 1, whatever POSIXLY_CORRECT
     * says; ':': a missing value is ':' rather than '?' */
    while ((opt = getopt_long(argc, argv, "-:c:l:hV", long_opts, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return bad_option(opt, argv[optind - 1]);
        if ((rc = take_option(a, opt, optarg)) >= 0)
            return rc;
    }
    for (; optind < argc; optind++) /* after "--" */
        if ((rc = command_word(a, argv[optind])) != 0)
            return rc;
    return -1;
}

int main(int argc, char **argv)
{
    jarena_install(); /* before any jansson value exists */
    args_t a = {.config_path = DEFAULT_CONFIG, .command = "run", .map = {.qos = 1}};
    int rc = parse_options(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.map_opts && strcmp(a.command, "map") != 0) {
        fprintf(stderr, "mqtt-kafka-bridge: --topic, --payload, --output... go with the map "
                        "command\n");
        return EXIT_USAGE;
    }
    if (a.map.payload && a.map.payload_file) {
        fprintf(stderr, "mqtt-kafka-bridge map: give --payload or --payload-file, not both\n");
        return EXIT_USAGE;
    }
    if (strcmp(a.command, "check") == 0)
        return cmd_check(a.config_path);
    if (strcmp(a.command, "map") == 0)
        return cmd_map(a.config_path, &a.map);
    return cmd_run(a.config_path, a.level_arg, a.format_arg);
}
