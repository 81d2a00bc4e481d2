/* mqtt-kafka-bridge: wires the modules together; no business logic here. */
#include "bridge.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "mqtt_source.h"

#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MKB_VERSION
#define MKB_VERSION "unknown"
#endif

#define DEFAULT_CONFIG "/etc/mqtt-kafka-bridge/bridge.yaml"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mqtt-kafka-bridge [OPTIONS]\n"
            "       mqtt-kafka-bridge check [-c FILE]\n"
            "\n"
            "Forwards MQTT messages to Kafka by the routes of a YAML configuration.\n"
            "\n"
            "Commands:\n"
            "  (none)               run the bridge until SIGINT or SIGTERM\n"
            "  check                validate the configuration, print every error, exit\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE    configuration file (default: " DEFAULT_CONFIG ")\n"
            "  -l, --log-level LVL  error, warn, info or debug (overrides log_level)\n"
            "      --help-config    list every configuration key and exit\n"
            "  -h, --help           show this help and exit\n"
            "  -V, --version        show the version and exit\n"
            "\n"
            "Exit status:\n"
            "  0  clean shutdown: every message taken from MQTT was delivered to Kafka\n"
            "  1  runtime failure: records not delivered, or the producer failed\n"
            "  2  usage or configuration error\n");
}

static int load_config(const char *path, config_t **cfg)
{
    char *errors = NULL;
    int rc = config_load(path, cfg, &errors);
    if (rc != MKB_OK) {
        fputs(errors ? errors : "error: out of memory\n", stderr);
        free(errors);
    }
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"help-config", no_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = DEFAULT_CONFIG;
    const char *level_arg = NULL;
    bool check_only = false;
    int opt;

    if (argc > 1 && strcmp(argv[1], "check") == 0) {
        check_only = true;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    while ((opt = getopt_long(argc, argv, "c:l:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'l': level_arg = optarg; break;
        case 'K': config_print_keys(stdout); return EXIT_OK;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V':
            printf("mqtt-kafka-bridge %s (librdkafka %s)\n", MKB_VERSION, rd_kafka_version_str());
            return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mqtt-kafka-bridge: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    log_level_t level;
    if (level_arg && !log_level_parse(level_arg, &level)) {
        fprintf(stderr, "mqtt-kafka-bridge: unknown log level '%s' (error, warn, info, debug)\n",
                level_arg);
        return EXIT_USAGE;
    }

    config_t *cfg = NULL;
    if (load_config(config_path, &cfg) != MKB_OK)
        return EXIT_USAGE;
    if (check_only) {
        printf("%s: OK (%zu route(s))\n", config_path, cfg->routes_n);
        config_destroy(cfg);
        return EXIT_OK;
    }
    if (!level_arg)
        log_level_parse(cfg->log_level, &level);
    log_set_level(level);
    mqtt_source_route_traces();

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_info("main", "mqtt-kafka-bridge %s starting with %s", MKB_VERSION, config_path);
    int exit_code = EXIT_RUNTIME;
    char err[1024];
    bridge_t *b = NULL;
    int rc = bridge_new(cfg, &b, err, sizeof(err));
    if (rc != MKB_OK) {
        log_error("main", "%s", err);
        exit_code = rc == MKB_ERR_CONFIG ? EXIT_USAGE : EXIT_RUNTIME;
        goto destroy_config;
    }
    rc = bridge_run(b, &stop_requested);
    exit_code = rc == MKB_OK ? EXIT_OK : EXIT_RUNTIME;
    log_info("main", "stopped (%s)", rc == MKB_OK ? "nothing lost" : mkb_strerror(rc));
    bridge_destroy(b);
destroy_config:
    config_destroy(cfg);
    return exit_code;
}
