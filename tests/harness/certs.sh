# SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
# SPDX-License-Identifier: Apache-2.0
# Test certificates for the harness, made with openssl at every start (EC
# P-256 keys: fast to make; valid two days). Source it, then:
#   harness_make_tls DIR   write DIR/tls:
#     ca.crt/.key            the test CA: signed the server and client certs
#     server.crt/.key        the brokers' certificate, SAN IP:127.0.0.1 and
#                            DNS:localhost; server.pem = key + certificate
#                            (Kafka's PEM keystore)
#     wronghost.crt/.key     signed by the test CA for DNS:wrong.example only
#                            (a broker whose name does not match its URI)
#     client.crt/.key        a client certificate signed by the test CA
#     client-enc.key         the same key encrypted (AES-256) with the
#                            password in client-enc.password
#     other-ca.crt/.key      the "rogue" CA: trusted by nobody
#     rogue-client.crt/.key  a client certificate signed by the rogue CA
# shellcheck shell=bash

harness_make_tls() {
    local d=$1/tls
    mkdir -p "$d"
    (
        set -e
        cd "$d"
        ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
        for ca in ca other-ca; do
            openssl req -x509 "${ec[@]}" -keyout $ca.key -out $ca.crt -days 2 \
                -subj "/CN=mkb test $ca" -addext basicConstraints=critical,CA:TRUE \
                -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        done
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
            > server.ext
        printf 'subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\n' \
            > wronghost.ext
        printf 'extendedKeyUsage=clientAuth\n' > client.ext
        # name  signing CA  extensions
        while read -r who ca ext; do
            openssl req "${ec[@]}" -keyout "$who.key" -out "$who.csr" \
                -subj "/CN=mkb test $who" 2>/dev/null
            openssl x509 -req -in "$who.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
                -days 2 -out "$who.crt" -extfile "$ext" 2>/dev/null
        done <<'LIST'
server ca server.ext
wronghost ca wronghost.ext
client ca client.ext
rogue-client other-ca client.ext
LIST
        cat server.key server.crt > server.pem
        openssl rand -hex 12 > client-enc.password
        openssl pkey -in client.key -aes256 -passout file:client-enc.password \
            -out client-enc.key 2>/dev/null
        rm -f ./*.csr ./*.srl
        chmod 644 ./*.key
    )
}
