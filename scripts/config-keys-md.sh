#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Prints the key table of docs/CONFIGURATION.md from the loader's own table
# (`mqtt-kafka-bridge --help-config`). `make docs` puts it between the
# keys:begin/keys:end markers of docs/CONFIGURATION.md.
set -euo pipefail
bin=${1:-./mqtt-kafka-bridge}
echo '| key | type | default | meaning |'
echo '|---|---|---|---|'
"$bin" --help-config | awk '
    /^[^ ]/ {
        key = $1; rest = substr($0, index($0, $2));
        req = (rest ~ /\(required\)/) ? "required" : "";
        def = ""; if (match(rest, /\[default: [^]]*\]/)) def = "`" substr(rest, RSTART + 10, RLENGTH - 11) "`";
        type = rest; sub(/ \(required\).*/, "", type); sub(/ \[default:.*/, "", type);
        gsub(/\|/, " or ", type);
        next_is_desc = 1; next
    }
    next_is_desc {
        desc = $0; sub(/^ +/, "", desc); gsub(/\|/, "\\|", desc);
        printf "| `%s` | %s | %s | %s |\n", key, type, (req != "" ? req : (def != "" ? def : "none")), desc;
        next_is_desc = 0
    }'
