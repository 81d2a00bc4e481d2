// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
// Reads logfmt lines on stdin with go-logfmt (the reference decoder the Go
// logfmt ecosystem uses) and prints each record as one JSON object of its
// keys and values, so tests/unit/test_log.c can compare what the bridge wrote
// with what it meant. Exit status 1 on a line go-logfmt refuses.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/go-logfmt/logfmt"
)

func main() {
	dec := logfmt.NewDecoder(bufio.NewReader(os.Stdin))
	out := json.NewEncoder(os.Stdout)
	for dec.ScanRecord() {
		rec := map[string]string{}
		var keys []string
		for dec.ScanKeyval() {
			k := string(dec.Key())
			if _, dup := rec[k]; dup {
				fmt.Fprintf(os.Stderr, "logfmt: duplicate key %q\n", k)
				os.Exit(1)
			}
			rec[k] = string(dec.Value())
			keys = append(keys, k)
		}
		if dec.Err() != nil {
			break
		}
		rec["_keys"] = fmt.Sprint(keys)
		if err := out.Encode(rec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := dec.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "logfmt:", err)
		os.Exit(1)
	}
}
