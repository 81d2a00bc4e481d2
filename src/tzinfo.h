// SPDX-FileCopyrightText: 2026 The mqtt-kafka-bridge authors
// SPDX-License-Identifier: Apache-2.0
/* Time zones from the system's tz database (TZif files, RFC 8536), read
 * once at load into an immutable table: converting needs no process-global
 * TZ, so any thread may convert at any time (glibc has only the global TZ).
 *
 * A zone-less local time is converted to UTC as follows:
 *  - in a gap (clocks jump forward, e.g. 02:30 on the day Berlin goes to
 *    summer time) the offset in force before the transition is used: 02:30
 *    is read as 02:30 CET = 01:30Z (shown as 03:30 CEST);
 *  - in a fold (clocks go back, 02:30 happens twice) the earlier instant is
 *    taken: 02:30 CEST = 00:30Z.
 * Times after the file's last transition follow its POSIX TZ footer
 * (Mm.w.d, Jn and n rules). Leap-second ("right/") files are refused. */
#ifndef MKB_TZINFO_H
#define MKB_TZINFO_H

#include <stddef.h>
#include <stdint.h>

typedef struct tz tz_t;

/* Loads zone NAME (an IANA name: "Europe/Berlin") from $TZDIR, else
 * /usr/share/zoneinfo. NULL with a reason in WHY when the name is not a zone
 * name (empty, leading '/', a ".." in it), the file is missing or not TZif. */
tz_t *tz_load(const char *name, char *why, size_t why_size);

/* Parses the TZif image DATA[0..LEN) (what tz_load reads). */
tz_t *tz_parse(const void *data, size_t len, char *why, size_t why_size);
void tz_destroy(tz_t *tz);

/* The offset from UTC (seconds east) in force at UTC time T (epoch s). */
int32_t tz_offset_at(const tz_t *tz, int64_t t);

/* The UTC time (epoch s) of the zone's wall-clock time LOCAL (seconds since
 * 1970-01-01T00:00 as written, in this zone), gap and fold as above.
 * MKB_ERR_INVAL when LOCAL is beyond +-2^40 s (about 34,000 years). */
int tz_local_to_utc(const tz_t *tz, int64_t local, int64_t *utc);

#endif
