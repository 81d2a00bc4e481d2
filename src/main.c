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
            "                             [--birth FILE]...\n"
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
    int rc = cli_map_run(cfg, &msg, a->births, a->nbirths, stdout, stderr);
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
       OPT_CTYPE, OPT_BIRTH, OPT_PROP, OPT_LOG_FORMAT };

/* What the command line asks for. */
typedef struct {
    const char *config_path;
    const char *level_arg;
    const char *format_arg;
    const char *command; /* run, check, map */
    map_args_t map;
    bool map_opts; /* a map option was given */
} args_t;

/* The options of `map` (OPT_TOPIC...); -1 when OPT is not one, else the
 * exit status to stop with (EXIT_USAGE) or 0 to go on. */
static int map_option(args_t *a, int opt, const char *arg)
{
    map_args_t *map = &a->map;
    if (opt < OPT_TOPIC || opt > OPT_PROP)
        return -1;
    a->map_opts = true;
    switch (opt) {
    case OPT_TOPIC: map->topic = arg; return 0;
    case OPT_PAYLOAD: map->payload = arg; return 0;
    case OPT_PAYLOAD_FILE: map->payload_file = arg; return 0;
    case OPT_RETAIN: map->retain = true; return 0;
    case OPT_CTYPE: map->content_type = arg; return 0;
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

/* Reads the options into A. -1: go on; else the exit status to stop with
 * (--help, --version, --help-config, a usage error). */
static int parse_options(int argc, char **argv, args_t *a)
{
    static const struct option opts[] = {
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
        {NULL, 0, NULL, 0},
    };
    int opt, rc;
    log_level_t l;
    log_format_t f;
    while ((opt = getopt_long(argc, argv, "c:l:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': a->config_path = optarg; break;
        case 'l':
            a->level_arg = optarg;
            if (!log_level_parse(optarg, &l)) {
                fprintf(stderr, "mqtt-kafka-bridge: unknown log level '%s' (error, warn, info, "
                                "debug)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_LOG_FORMAT:
            a->format_arg = optarg;
            if (!log_format_parse(optarg, &f)) {
                fprintf(stderr, "mqtt-kafka-bridge: unknown log format '%s' (text, json, "
                                "logfmt)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_HELP_CONFIG: config_print_keys(stdout); return EXIT_OK;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V':
            printf("mqtt-kafka-bridge %s (librdkafka %s)\n", MKB_VERSION, rd_kafka_version_str());
            return EXIT_OK;
        default:
            if ((rc = map_option(a, opt, optarg)) >= 0) {
                if (rc)
                    return rc;
                break;
            }
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mqtt-kafka-bridge: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

int main(int argc, char **argv)
{
    jarena_install(); /* before any jansson value exists */
    args_t a = {.config_path = DEFAULT_CONFIG, .command = "run", .map = {.qos = 1}};
    if (argc > 1 && (strcmp(argv[1], "check") == 0 || strcmp(argv[1], "map") == 0)) {
        a.command = argv[1];
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    int rc = parse_options(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.map_opts && strcmp(a.command, "map") != 0) {
        fprintf(stderr, "mqtt-kafka-bridge: --topic, --payload... go with the map command\n");
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
