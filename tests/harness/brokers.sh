# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Test harness: a real Mosquitto and a real Apache Kafka (KRaft) on free
# loopback ports: one node by default, or a three-node cluster with
# MKB_KAFKA_NODES=3. Source this file, then:
#   harness_start DIR   start both under DIR, wait until each answers, write
#                       DIR/env (MKB_MQTT_URI, MKB_MQTT_PORT, MKB_KAFKA_BOOTSTRAP,
#                       MKB_KAFKA_NODES)
#                       plus MKB_MQTT_TLS_URI (TLS listener), MKB_MQTTS_URI
#                       (mutual TLS: a client certificate from the test CA
#                       required), MKB_MQTT_TLS_WRONGHOST_URI (TLS with a
#                       certificate for DNS:wrong.example only), MKB_TLS_DIR
#                       (the files certs.sh makes:
#                       ca.crt, client.crt/key, other-ca.crt, rogue-client.*),
#                       MKB_MQTT_AUTH_URI (user "bridge", password in
#                       MKB_MQTT_PASSWORD_FILE), MKB_KAFKA_SASL_SSL_BOOTSTRAP
#                       (each node's SASL_SSL listener: SCRAM-SHA-512, PLAIN,
#                       server certificate from the test CA; user
#                       MKB_KAFKA_SASL_USER, password in
#                       MKB_KAFKA_SASL_PASSWORD_FILE; and OAUTHBEARER with
#                       unsecured JWTs carrying the scope
#                       MKB_KAFKA_OAUTH_SCOPE)
#   harness_stop DIR    stop both (TERM, then KILL after a grace period) and
#                       any process still running from DIR; fail if one was left
# MKB_KAFKA_NODES (read by harness_start): 1 (default) is one combined
# broker+controller under DIR/kafka (server.properties, pid, kafka.log, data).
# 3 is three combined broker+controller nodes, node.id 1..3, one static
# controller quorum, one cluster id, under DIR/kafka/node1..node3 (same files
# each); default.replication.factor=3, min.insync.replicas=2, internal topics
# RF 3 / min ISR 2, no unclean leader election; heap HARNESS_KAFKA_NODE_HEAP
# each. MKB_KAFKA_BOOTSTRAP then lists all three. Ready means a metadata
# request (kcat -L) to each node lists 3 brokers. ctl.sh kills, stops and
# restarts single nodes and finds partition leaders.
# Kafka's PLAINTEXT listener stays the default, inter-broker and controller
# one; SASL_SSL is for clients only. Failed authentications are logged by the
# broker (kafka.log: "Failed authentication with").
# Needs: mosquitto, mosquitto_pub, kcat, openssl, java 17, the jars from
# `make deps`, and tests/harness/freeport (built by make).
# shellcheck shell=bash
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/common.sh"
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/certs.sh"
HARNESS_FREEPORT=${HARNESS_FREEPORT:-$MKB_ROOT/build/freeport}
HARNESS_KAFKA_HEAP=${HARNESS_KAFKA_HEAP:--Xms256m -Xmx768m}
HARNESS_KAFKA_NODE_HEAP=${HARNESS_KAFKA_NODE_HEAP:--Xms128m -Xmx512m} # per cluster node
HARNESS_KAFKA_OAUTH_SCOPE=mkb.produce # an OAUTHBEARER token needs it (harness_kafka_security)

harness_log() { echo "harness: $*" >&2; }

# harness_pid_alive PID: PID runs and is not a zombie (a SIGKILLed broker
# whose parent has not reaped it yet still answers kill -0).
harness_pid_alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# wait_until SECONDS PID DESCRIPTION COMMAND...: run COMMAND until it succeeds;
# fail early if PID died, or after SECONDS.
harness_wait_until() {
    local secs=$1 pid=$2 what=$3
    shift 3
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if ! harness_pid_alive "$pid"; then
            harness_log "$what exited before it was ready"
            return 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            harness_log "$what not ready after ${secs}s"
            return 1
        fi
        sleep 0.2
    done
}

# harness_kafka_ready BOOTSTRAP [N]: a metadata request that names N brokers
# (default 1: our one broker).
harness_kafka_ready() {
    kcat -b "$1" -L -m 3 2>/dev/null | grep -q "^ ${2:-1} brokers:"
}

harness_run_mosquitto() { # DIR: start (or restart) with the config already written
    local dir=$1 port
    port=$(sed -n 's/^listener \([0-9]*\) 127.0.0.1$/\1/p' "$dir/mosquitto/mosquitto.conf" | head -1)
    setsid mosquitto -c "$dir/mosquitto/mosquitto.conf" >> "$dir/mosquitto/mosquitto.log" 2>&1 &
    echo $! > "$dir/mosquitto/pid"
    harness_wait_until 15 "$(cat "$dir/mosquitto/pid")" "mosquitto on port $port" \
        mosquitto_pub -h 127.0.0.1 -p "$port" -i "harness-probe-$$" -t harness/ready -m ready -q 1
}

harness_start_mosquitto() {
    local dir=$1 port=$2 tls_port=$3 auth_port=$4 mtls_port=$5 wrong_port=$6
    mkdir -p "$dir/mosquitto/data"
    harness_make_tls "$dir" || { harness_log "cannot make test certificates (openssl)"; return 1; }
    # A user for the password listener (tests read it from MKB_MQTT_PASSWORD_FILE).
    printf 'bridge-secret\n' > "$dir/mosquitto/password"
    mosquitto_passwd -b -c "$dir/mosquitto/passwd" bridge bridge-secret || return 1
    cat > "$dir/mosquitto/mosquitto.conf" <<CONF
per_listener_settings true
user $(id -un)
persistence true
persistence_location $dir/mosquitto/data/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 100
log_dest stderr
log_type error
log_type warning
log_type notice
listener $port 127.0.0.1
allow_anonymous true
listener $tls_port 127.0.0.1
allow_anonymous true
cafile $dir/tls/ca.crt
certfile $dir/tls/server.crt
keyfile $dir/tls/server.key
require_certificate false
listener $auth_port 127.0.0.1
allow_anonymous false
password_file $dir/mosquitto/passwd
listener $mtls_port 127.0.0.1
allow_anonymous true
cafile $dir/tls/ca.crt
certfile $dir/tls/server.crt
keyfile $dir/tls/server.key
require_certificate true
listener $wrong_port 127.0.0.1
allow_anonymous true
cafile $dir/tls/ca.crt
certfile $dir/tls/wronghost.crt
keyfile $dir/tls/wronghost.key
require_certificate false
CONF
    harness_run_mosquitto "$dir"
}

# harness_kafka_java DIR [HEAP]: sets kafka_java to the broker's JVM command
# line (jars from make deps, logging config under DIR; heap HARNESS_KAFKA_HEAP
# unless given), for the storage tool and the broker alike.
harness_kafka_java() {
    kafka_java=(java ${2:-$HARNESS_KAFKA_HEAP} -XX:+UseSerialGC -XX:TieredStopAtLevel=1
        -Dlog4j2.configurationFile="$1/kafka/log4j2.properties" -cp "$KAFKA_LIBS/*")
}

harness_kafka_jars() { # fail with a hint if make deps has not fetched the jars
    [ -f "$KAFKA_LIBS/.complete" ] || {
        harness_log "Kafka jars missing in $KAFKA_LIBS; run 'make deps' first"
        return 1
    }
}

harness_kafka_log4j() { # DIR: warnings and errors only, to the node's stdout
    cat > "$1/kafka/log4j2.properties" <<'CONF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
# "Failed authentication with /127.0.0.1 (...)", one line per refused client
logger.auth.name = org.apache.kafka.common.network.Selector
logger.auth.level = INFO
CONF
}

harness_kafka_cluster_id() { # a new random cluster id (22 characters)
    cat /proc/sys/kernel/random/uuid | tr -d - | head -c 22
}

# harness_kafka_format DIR NODEDIR CLUSTER_ID [HEAP]: format NODEDIR/data
# (log.dirs of NODEDIR/server.properties); log in NODEDIR/format.log.
harness_kafka_format() {
    local dir=$1 nd=$2 id=$3 kafka_java
    harness_kafka_java "$dir" "${4:-}"
    "${kafka_java[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$id" \
        -c "$nd/server.properties" \
        --add-scram "SCRAM-SHA-512=[name=\"bridge\",password=\"$(cat "$dir/kafka/sasl-password")\"]" \
        > "$nd/format.log" 2>&1 || {
        harness_log "kafka storage format failed ($nd):"; cat "$nd/format.log" >&2; return 1; }
}

# harness_kafka_sasl_init DIR: the user "bridge" gets a fresh random password
# (DIR/kafka/sasl-password): for SCRAM-SHA-512, added at storage format, and
# for PLAIN, in the listener's JAAS line.
harness_kafka_sasl_init() {
    mkdir -p "$1/kafka"
    openssl rand -hex 16 > "$1/kafka/sasl-password"
}

# harness_kafka_security DIR: server.properties lines for the SASL_SSL
# listener (SCRAM-SHA-512, PLAIN and OAUTHBEARER; the test CA's server
# certificate as a PEM keystore). Clients only: brokers and controllers talk
# PLAINTEXT. OAUTHBEARER uses Kafka's default validator of unsecured JWTs
# (alg none: no identity provider here), which here requires the scope
# MKB_KAFKA_OAUTH_SCOPE in the token; unsecuredLoginStringClaim_sub is the
# broker's own token, never used (no OAUTHBEARER between brokers).
# PLAIN is there because librdkafka before 2.6.1 (Debian 12 has 2.0.2) sends
# a SCRAM nonce that Kafka 4 refuses (librdkafka PR 4895): with it, SCRAM
# fails even with the right password.
harness_kafka_security() {
    local pw
    pw=$(cat "$1/kafka/sasl-password")
    cat <<CONF
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN,OAUTHBEARER
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker" unsecuredValidatorRequiredScope="$HARNESS_KAFKA_OAUTH_SCOPE";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_bridge="$pw";
ssl.keystore.type=PEM
ssl.keystore.location=$1/tls/server.pem
ssl.truststore.type=PEM
ssl.truststore.location=$1/tls/ca.crt
CONF
}

harness_start_kafka() {
    local dir=$1 port=$2 cport=$3 sport=$4
    harness_kafka_jars || return 1
    harness_kafka_sasl_init "$dir"
    cat > "$dir/kafka/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport,SASL_SSL://127.0.0.1:$sport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$sport
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
$(harness_kafka_security "$dir")
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/kafka/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
CONF
    harness_kafka_log4j "$dir"
    harness_kafka_format "$dir" "$dir/kafka" "$(harness_kafka_cluster_id)" || return 1
    harness_run_kafka "$dir"
}

# harness_start_kafka_cluster DIR PORT1 CPORT1 SPORT1 PORT2 CPORT2 SPORT2 ...:
# one combined broker+controller per (broker port, controller port, SASL_SSL
# port) triple, node.id 1..N,
# under DIR/kafka/nodeN; all formatted with one cluster id, started together,
# ready when every node's metadata lists all N brokers.
harness_start_kafka_cluster() {
    local dir=$1
    shift
    local n=$(($# / 3)) i voters="" nd id
    local -a ports=("$@")
    harness_kafka_jars || return 1
    for ((i = 1; i <= n; i++)); do
        voters+="${voters:+,}$i@127.0.0.1:${ports[3 * i - 2]}"
    done
    harness_kafka_sasl_init "$dir"
    harness_kafka_log4j "$dir"
    id=$(harness_kafka_cluster_id)
    for ((i = 1; i <= n; i++)); do
        nd=$dir/kafka/node$i
        mkdir -p "$nd"
        cat > "$nd/server.properties" <<CONF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${ports[3 * i - 3]},CONTROLLER://127.0.0.1:${ports[3 * i - 2]},SASL_SSL://127.0.0.1:${ports[3 * i - 1]}
advertised.listeners=PLAINTEXT://127.0.0.1:${ports[3 * i - 3]},SASL_SSL://127.0.0.1:${ports[3 * i - 1]}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
$(harness_kafka_security "$dir")
inter.broker.listener.name=PLAINTEXT
log.dirs=$nd/data
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
auto.create.topics.enable=true
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
CONF
        harness_kafka_format "$dir" "$nd" "$id" "$HARNESS_KAFKA_NODE_HEAP" || return 1
    done
    # Together: no node's controller can finish starting without a quorum.
    for ((i = 1; i <= n; i++)); do
        harness_spawn_kafka_node "$dir" "$dir/kafka/node$i"
    done
    harness_wait_kafka_nodes "$dir" 120 $(seq 1 "$n")
}

# harness_kafka_node_dirs DIR: the directory of each Kafka node, one a line:
# DIR/kafka for the single node, DIR/kafka/node1..nodeN for a cluster.
harness_kafka_node_dirs() {
    local i=1
    if [ ! -d "$1/kafka/node1" ]; then
        echo "$1/kafka"
        return
    fi
    while [ -d "$1/kafka/node$i" ]; do
        echo "$1/kafka/node$i"
        i=$((i + 1))
    done
}

harness_kafka_nodes() { # DIR: how many Kafka nodes the harness in DIR has
    harness_kafka_node_dirs "$1" | wc -l
}

harness_kafka_node_dir() { # DIR N: node N's directory (DIR/kafka if single)
    local dir=$1 n=$2
    if [ -d "$dir/kafka/node1" ]; then
        [ -d "$dir/kafka/node$n" ] || { harness_log "no kafka node $n in $dir"; return 1; }
        echo "$dir/kafka/node$n"
    else
        [ "$n" = 1 ] || { harness_log "no kafka node $n in $dir (single node)"; return 1; }
        echo "$dir/kafka"
    fi
}

harness_kafka_node_port() { # NODEDIR: the node's PLAINTEXT port
    sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\).*$/\1/p' \
        "$1/server.properties"
}

harness_kafka_node_sasl_port() { # NODEDIR: the node's SASL_SSL port
    sed -n 's/^advertised.listeners=.*SASL_SSL:\/\/127.0.0.1:\([0-9]*\).*$/\1/p' \
        "$1/server.properties"
}

harness_kafka_bootstrap() { # DIR [sasl]: host:port of every node, comma separated
    local nd list="" port
    for nd in $(harness_kafka_node_dirs "$1"); do
        if [ "${2:-}" = sasl ]; then
            port=$(harness_kafka_node_sasl_port "$nd")
        else
            port=$(harness_kafka_node_port "$nd")
        fi
        list+="${list:+,}127.0.0.1:$port"
    done
    echo "$list"
}

# harness_spawn_kafka_node DIR NODEDIR: start one cluster node in the
# background, in its own session (pid in NODEDIR/pid); no wait. Disowned, so
# a shell that reaps it after a SIGKILL (ctl.sh kill-kafka-*) prints nothing.
harness_spawn_kafka_node() {
    local dir=$1 nd=$2 kafka_java
    harness_kafka_java "$dir" "$HARNESS_KAFKA_NODE_HEAP"
    setsid "${kafka_java[@]}" kafka.Kafka "$nd/server.properties" >> "$nd/kafka.log" 2>&1 &
    echo $! > "$nd/pid"
    disown $!
}

# harness_wait_kafka_nodes DIR SECONDS N...: wait until each node N answers a
# metadata request naming all the cluster's brokers; fail if one exits, or
# after SECONDS in all.
harness_wait_kafka_nodes() {
    local dir=$1 secs=$2 n nd total deadline left
    shift 2
    total=$(harness_kafka_nodes "$dir")
    deadline=$((SECONDS + secs))
    for n in "$@"; do
        nd=$(harness_kafka_node_dir "$dir" "$n") || return 1
        left=$((deadline - SECONDS))
        [ $left -gt 0 ] || left=1
        harness_wait_until "$left" "$(cat "$nd/pid")" \
            "kafka node $n on port $(harness_kafka_node_port "$nd")" \
            harness_kafka_ready "127.0.0.1:$(harness_kafka_node_port "$nd")" "$total" || return 1
    done
}

# harness_run_kafka_node DIR N: start (or restart) node N on its ports and
# data; wait until it answers with all brokers. Fails if N already runs.
harness_run_kafka_node() {
    local dir=$1 n=$2 nd
    nd=$(harness_kafka_node_dir "$dir" "$n") || return 1
    if [ "$nd" = "$dir/kafka" ]; then
        harness_run_kafka "$dir"
        return
    fi
    if [ -f "$nd/pid" ] && harness_pid_alive "$(cat "$nd/pid")"; then
        harness_log "kafka node $n already runs (pid $(cat "$nd/pid"))"
        return 1
    fi
    harness_spawn_kafka_node "$dir" "$nd"
    harness_wait_kafka_nodes "$dir" 90 "$n"
}

harness_run_kafka() { # DIR: start (or restart) the formatted broker(s)
    local dir=$1 port nd n=0 start=()
    if [ -d "$dir/kafka/node1" ]; then # cluster: every node not running
        for nd in $(harness_kafka_node_dirs "$dir"); do
            n=$((n + 1))
            [ -f "$nd/pid" ] && harness_pid_alive "$(cat "$nd/pid")" && continue
            harness_spawn_kafka_node "$dir" "$nd"
            start+=("$n")
        done
        harness_wait_kafka_nodes "$dir" 120 "${start[@]}"
        return
    fi
    port=$(harness_kafka_node_port "$dir/kafka")
    local kafka_java
    harness_kafka_java "$dir"
    setsid "${kafka_java[@]}" kafka.Kafka "$dir/kafka/server.properties" \
        >> "$dir/kafka/kafka.log" 2>&1 &
    echo $! > "$dir/kafka/pid"
    harness_wait_until 90 "$(cat "$dir/kafka/pid")" "kafka on port $port" \
        harness_kafka_ready "127.0.0.1:$port"
}

# harness_kafka_partition DIR TOPIC [PARTITION]: the partition's metadata line
# from kcat -L ("partition 0, leader 2, replicas: 2,3,1, isrs: 2,3,1"); fails
# if no node answers or the partition is unknown.
harness_kafka_partition() {
    local dir=$1 topic=$2 part=${3:-0} line
    line=$(kcat -b "$(harness_kafka_bootstrap "$dir")" -X allow.auto.create.topics=false \
        -L -t "$topic" -m 5 2>/dev/null |
        grep -E "^ +partition $part, leader ") || {
        harness_log "no metadata for $topic partition $part"; return 1; }
    echo "${line#"${line%%[! ]*}"}"
}

harness_kafka_leader() { # DIR TOPIC [PARTITION]: the leader's node id (-1: none)
    local line
    line=$(harness_kafka_partition "$@") || return 1
    line=${line#*, leader }
    echo "${line%%,*}"
}

# harness_kill_kafka_node DIR N: SIGKILL node N (no grace), wait until it is
# gone (reaped or a zombie).
harness_kill_kafka_node() {
    local dir=$1 n=$2 nd pid i
    nd=$(harness_kafka_node_dir "$dir" "$n") || return 1
    pid=$(cat "$nd/pid" 2>/dev/null)
    if ! harness_pid_alive "$pid"; then
        harness_log "kafka node $n is not running"
        return 1
    fi
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
    for i in $(seq 1 100); do
        harness_pid_alive "$pid" || break
        sleep 0.1
    done
    harness_pid_alive "$pid" && { harness_log "kafka node $n ($pid) survived SIGKILL"; return 1; }
    wait "$pid" 2>/dev/null
    rm -f "$nd/pid"
}

harness_start() {
    local dir=$1 ports nodes=${MKB_KAFKA_NODES:-1} bootstrap
    case $nodes in
    1 | 3) ;;
    *) harness_log "MKB_KAFKA_NODES=$nodes: only 1 or 3 Kafka nodes are supported"; return 1 ;;
    esac
    mkdir -p "$dir"
    [ -x "$HARNESS_FREEPORT" ] || { harness_log "$HARNESS_FREEPORT missing; run make"; return 1; }
    # mosquitto: 0 (plain), 3 (TLS), 4 (password), 5 (mutual TLS), 13 (TLS, a
    # certificate for another host name); kafka node 1: 1, 2 (controller), 6
    # (SASL_SSL); a cluster's nodes 2 and 3: 7, 8, 9 and 10, 11, 12.
    mapfile -t ports < <("$HARNESS_FREEPORT" 14) || return 1
    harness_start_mosquitto "$dir" "${ports[0]}" "${ports[3]}" "${ports[4]}" "${ports[5]}" \
        "${ports[13]}" ||
        { harness_dump "$dir"; return 1; }
    if [ "$nodes" = 1 ]; then
        harness_start_kafka "$dir" "${ports[1]}" "${ports[2]}" "${ports[6]}" ||
            { harness_dump "$dir"; return 1; }
    else
        harness_start_kafka_cluster "$dir" "${ports[1]}" "${ports[2]}" "${ports[6]}" \
            "${ports[@]:7:6}" || { harness_dump "$dir"; return 1; }
    fi
    bootstrap=$(harness_kafka_bootstrap "$dir")
    cat > "$dir/env" <<ENV
MKB_HARNESS_DIR=$dir
MKB_MQTT_PORT=${ports[0]}
MKB_MQTT_URI=tcp://127.0.0.1:${ports[0]}
MKB_KAFKA_BOOTSTRAP=$bootstrap
MKB_KAFKA_NODES=$nodes
MKB_MQTT_TLS_URI=ssl://127.0.0.1:${ports[3]}
MKB_MQTTS_URI=ssl://127.0.0.1:${ports[5]}
MKB_MQTT_TLS_WRONGHOST_URI=ssl://127.0.0.1:${ports[13]}
MKB_TLS_DIR=$dir/tls
MKB_MQTT_AUTH_URI=tcp://127.0.0.1:${ports[4]}
MKB_MQTT_PASSWORD_FILE=$dir/mosquitto/password
MKB_KAFKA_SASL_SSL_BOOTSTRAP=$(harness_kafka_bootstrap "$dir" sasl)
MKB_KAFKA_SASL_USER=bridge
MKB_KAFKA_SASL_PASSWORD_FILE=$dir/kafka/sasl-password
MKB_KAFKA_OAUTH_SCOPE=$HARNESS_KAFKA_OAUTH_SCOPE
ENV
    harness_log "mosquitto on 127.0.0.1:${ports[0]}, kafka on $bootstrap (dir $dir)"
}

harness_dump() { # the brokers' own logs, for a failed start
    local f
    for f in "$1"/mosquitto/mosquitto.log "$1"/kafka/kafka.log "$1"/kafka/node*/kafka.log; do
        [ -s "$f" ] && { harness_log "--- tail of $f"; tail -n 30 "$f" >&2; }
    done
    return 0
}

# harness_stop_pid PIDFILE NAME: TERM the process group, KILL after 20 s.
# A stopped process (ctl.sh pause-kafka) is continued first: SIGTERM would
# stay pending while it is stopped.
harness_stop_pid() {
    local pidfile=$1 name=$2 pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if harness_pid_alive "$pid"; then
        kill -CONT -- "-$pid" 2>/dev/null || kill -CONT "$pid" 2>/dev/null
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
        for i in $(seq 1 100); do
            harness_pid_alive "$pid" || break
            sleep 0.2
        done
        if harness_pid_alive "$pid"; then
            harness_log "$name ($pid) ignored SIGTERM for 20s; killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

# harness_signal_kafka DIR SIG: send SIG (STOP or CONT) to every running
# Kafka node's process group (ctl.sh pause-kafka / resume-kafka).
harness_signal_kafka() {
    local dir=$1 sig=$2 nd pid n=0
    for nd in $(harness_kafka_node_dirs "$dir"); do
        pid=$(cat "$nd/pid" 2>/dev/null) || continue
        harness_pid_alive "$pid" || continue
        kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" || return 1
        n=$((n + 1))
    done
    [ $n -gt 0 ] || { harness_log "no Kafka node runs: nothing to $sig"; return 1; }
}

harness_kafka_up() { # DIR: the ids of the Kafka nodes running, one a line
    local nd i=0
    for nd in $(harness_kafka_node_dirs "$1"); do
        i=$((i + 1))
        [ -f "$nd/pid" ] && harness_pid_alive "$(cat "$nd/pid")" && echo "$i"
    done
    return 0
}

# harness_stop_kafka DIR: stop every Kafka node; a cluster's all at once, as
# each broker's controlled shutdown needs the controller quorum. The last node
# to go has lost the quorum: it exits about 5 s later (its Raft client gives
# up), unless it was still in its controlled shutdown, which then waits
# minutes. So: nodes that have no quorum to begin with are SIGKILLed at once,
# nodes still running 10 s after a majority exited are SIGKILLed then, and
# any after 20 s, as for the single node.
harness_stop_kafka() {
    local dir=$1 nd n i lost="" deadline=$((SECONDS + 20))
    local -a nds up
    mapfile -t nds < <(harness_kafka_node_dirs "$dir")
    n=${#nds[@]}
    [ "$n" -gt 1 ] || { harness_stop_pid "${nds[0]}/pid" kafka; return; }
    mapfile -t up < <(harness_kafka_up "$dir")
    if [ ${#up[@]} -gt 0 ] && [ ${#up[@]} -le $((n / 2)) ]; then
        harness_log "only kafka node(s) ${up[*]} of $n run (no controller quorum); killing them"
    else
        for i in "${up[@]}"; do
            kill -CONT -- "-$(cat "${nds[i - 1]}/pid")" 2>/dev/null # paused: continue first
            kill -TERM -- "-$(cat "${nds[i - 1]}/pid")" 2>/dev/null
        done
        while mapfile -t up < <(harness_kafka_up "$dir") && [ ${#up[@]} -gt 0 ]; do
            if [ ${#up[@]} -le $((n / 2)) ]; then
                [ -n "$lost" ] || lost=$((SECONDS + 10))
                if [ $SECONDS -ge "$lost" ]; then
                    harness_log "kafka node(s) ${up[*]} lost the controller quorum while" \
                        "stopping; killing them"
                    break
                fi
            fi
            if [ $SECONDS -ge $deadline ]; then
                harness_log "kafka node(s) ${up[*]} ignored SIGTERM for 20s; killing them"
                break
            fi
            sleep 0.2
        done
    fi
    for i in "${up[@]}"; do
        harness_pid_alive "$(cat "${nds[i - 1]}/pid" 2>/dev/null)" &&
            harness_kill_kafka_node "$dir" "$i"
    done
    for nd in "${nds[@]}"; do
        rm -f "$nd/pid"
    done
}

harness_stop() {
    local dir=$1 left
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    harness_stop_kafka "$dir"
    harness_stop_pid "$dir/mosquitto/pid" mosquitto
    # Anything else started from this directory (a bridge a test left behind).
    left=$(pgrep -f -- "$dir/" || true)
    if [ -n "$left" ]; then
        harness_log "processes left running from $dir: $(echo $left); killing them"
        kill -KILL $left 2>/dev/null || true
        sleep 0.5
        if [ -n "$(pgrep -f -- "$dir/" || true)" ]; then
            harness_log "processes still running from $dir"
        fi
        return 1
    fi
    harness_log "brokers stopped; no process left from $dir"
}
