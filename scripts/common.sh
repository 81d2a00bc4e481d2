# Shared by scripts/deps.sh, tests/harness/brokers.sh and the demo:
# where the pinned Kafka broker jars live. Source it; it sets variables only.
MKB_ROOT=${MKB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KAFKA_POM="$MKB_ROOT/deps/kafka/pom.xml"
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")
MKB_CACHE=${MKB_CACHE:-$MKB_ROOT/.cache}   # repo-local: `sudo make deps` then `make check` as a user both see it
KAFKA_LIBS=${KAFKA_LIBS:-$MKB_CACHE/kafka-$KAFKA_VERSION/libs}
