# Test harness: a real Mosquitto and a real single-node Apache Kafka (KRaft)
# on free loopback ports. Source this file, then:
#   harness_start DIR   start both under DIR, wait until each answers, write
#                       DIR/env (MKB_MQTT_URI, MKB_MQTT_PORT, MKB_KAFKA_BOOTSTRAP)
#                       plus MKB_MQTT_TLS_URI (TLS listener) and MKB_TLS_DIR
#                       (ca.crt, client.crt/key, other-ca.crt), MKB_MQTT_AUTH_URI
#                       (user "bridge", password in MKB_MQTT_PASSWORD_FILE)
#   harness_stop DIR    stop both (TERM, then KILL after a grace period) and
#                       any process still running from DIR; fail if one was left
# Needs: mosquitto, mosquitto_pub, kcat, java 17, the jars from `make deps`,
# and tests/harness/freeport (built by make).
# shellcheck shell=bash
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/common.sh"
HARNESS_FREEPORT=${HARNESS_FREEPORT:-$MKB_ROOT/build/freeport}
HARNESS_KAFKA_HEAP=${HARNESS_KAFKA_HEAP:--Xms256m -Xmx768m}

harness_log() { echo "harness: $*" >&2; }

# wait_until SECONDS PID DESCRIPTION COMMAND...: run COMMAND until it succeeds;
# fail early if PID died, or after SECONDS.
harness_wait_until() {
    local secs=$1 pid=$2 what=$3
    shift 3
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
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

harness_kafka_ready() { # a metadata request that names our one broker
    kcat -b "$1" -L -m 3 2>/dev/null | grep -q '^ 1 brokers:'
}

# A test CA, a server certificate for 127.0.0.1/localhost, a client
# certificate, and a second CA that signed nothing we use (for "wrong CA").
harness_make_tls() {
    local d=$1/tls
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        for ca in ca other-ca; do
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout $ca.key -out $ca.crt -days 2 -subj "/CN=mkb test $ca" 2>/dev/null
        done
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext
        for who in server client; do
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout $who.key -out $who.csr -subj "/CN=mkb test $who" 2>/dev/null
            openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                -days 2 -out $who.crt $( [ $who = server ] && echo -extfile server.ext ) 2>/dev/null
        done
        chmod 644 ./*.key
    )
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
    local dir=$1 port=$2 tls_port=$3 auth_port=$4
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
CONF
    harness_run_mosquitto "$dir"
}

# harness_kafka_java DIR: sets kafka_java to the broker's JVM command line
# (jars from make deps, logging config under DIR), for the storage tool and
# the broker alike.
harness_kafka_java() {
    kafka_java=(java $HARNESS_KAFKA_HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1
        -Dlog4j2.configurationFile="$1/kafka/log4j2.properties" -cp "$KAFKA_LIBS/*")
}

harness_start_kafka() {
    local dir=$1 port=$2 cport=$3
    [ -f "$KAFKA_LIBS/.complete" ] || {
        harness_log "Kafka jars missing in $KAFKA_LIBS; run 'make deps' first"
        return 1
    }
    mkdir -p "$dir/kafka"
    cat > "$dir/kafka/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
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
    cat > "$dir/kafka/log4j2.properties" <<'CONF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
CONF
    local kafka_java
    harness_kafka_java "$dir"
    "${kafka_java[@]}" kafka.tools.StorageTool format --ignore-formatted \
        -t "$(cat /proc/sys/kernel/random/uuid | tr -d - | head -c 22)" \
        -c "$dir/kafka/server.properties" > "$dir/kafka/format.log" 2>&1 || {
        harness_log "kafka storage format failed:"; cat "$dir/kafka/format.log" >&2; return 1; }
    harness_run_kafka "$dir"
}

harness_run_kafka() { # DIR: start (or restart) the formatted broker
    local dir=$1 port
    port=$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\)$/\1/p' \
        "$dir/kafka/server.properties")
    local kafka_java
    harness_kafka_java "$dir"
    setsid "${kafka_java[@]}" kafka.Kafka "$dir/kafka/server.properties" \
        >> "$dir/kafka/kafka.log" 2>&1 &
    echo $! > "$dir/kafka/pid"
    harness_wait_until 90 "$(cat "$dir/kafka/pid")" "kafka on port $port" \
        harness_kafka_ready "127.0.0.1:$port"
}

harness_start() {
    local dir=$1 ports
    mkdir -p "$dir"
    [ -x "$HARNESS_FREEPORT" ] || { harness_log "$HARNESS_FREEPORT missing; run make"; return 1; }
    mapfile -t ports < <("$HARNESS_FREEPORT" 5) || return 1
    harness_start_mosquitto "$dir" "${ports[0]}" "${ports[3]}" "${ports[4]}" ||
        { harness_dump "$dir"; return 1; }
    harness_start_kafka "$dir" "${ports[1]}" "${ports[2]}" || { harness_dump "$dir"; return 1; }
    cat > "$dir/env" <<ENV
MKB_HARNESS_DIR=$dir
MKB_MQTT_PORT=${ports[0]}
MKB_MQTT_URI=tcp://127.0.0.1:${ports[0]}
MKB_KAFKA_BOOTSTRAP=127.0.0.1:${ports[1]}
MKB_MQTT_TLS_URI=ssl://127.0.0.1:${ports[3]}
MKB_TLS_DIR=$dir/tls
MKB_MQTT_AUTH_URI=tcp://127.0.0.1:${ports[4]}
MKB_MQTT_PASSWORD_FILE=$dir/mosquitto/password
ENV
    harness_log "mosquitto on 127.0.0.1:${ports[0]}, kafka on 127.0.0.1:${ports[1]} (dir $dir)"
}

harness_dump() { # the brokers' own logs, for a failed start
    local f
    for f in "$1"/mosquitto/mosquitto.log "$1"/kafka/kafka.log; do
        [ -s "$f" ] && { harness_log "--- tail of $f"; tail -n 30 "$f" >&2; }
    done
    return 0
}

# harness_stop_pid PIDFILE NAME: TERM the process group, KILL after 20 s.
harness_stop_pid() {
    local pidfile=$1 name=$2 pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            harness_log "$name ($pid) ignored SIGTERM for 20s; killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

harness_stop() {
    local dir=$1 left
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    harness_stop_pid "$dir/kafka/pid" kafka
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
