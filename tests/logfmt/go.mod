// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
module mkb/logfmt-decode

go 1.19

require github.com/go-logfmt/logfmt v0.6.0
