/* shmring C API: a stable C ABI over the shmring engine (spec/C_API.md).
 *
 * C99, no C++ types, no exceptions. Every function that can fail returns a
 * shmring_status (0 = SHMRING_OK); on failure shmring_last_error() gives a
 * message for the calling thread. Structs that may grow carry a struct_size
 * field: set it to sizeof(the struct) (the *_init functions do).
 */
#ifndef SHMRING_SHMRING_H_
#define SHMRING_SHMRING_H_

#include <stddef.h>
#include <stdint.h>

#include "shmring/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SHMRING_VERSION_MAJOR 1
#define SHMRING_VERSION_MINOR 2
#define SHMRING_VERSION_PATCH 0

/* Status codes: the same numbers as absl::StatusCode (and gRPC). */
typedef enum shmring_status {
  SHMRING_OK = 0,
  SHMRING_CANCELLED = 1,
  SHMRING_UNKNOWN = 2,
  SHMRING_INVALID_ARGUMENT = 3,
  SHMRING_DEADLINE_EXCEEDED = 4,
  SHMRING_NOT_FOUND = 5,
  SHMRING_ALREADY_EXISTS = 6,
  SHMRING_PERMISSION_DENIED = 7,
  SHMRING_RESOURCE_EXHAUSTED = 8,
  SHMRING_FAILED_PRECONDITION = 9,
  SHMRING_ABORTED = 10,
  SHMRING_OUT_OF_RANGE = 11,
  SHMRING_UNIMPLEMENTED = 12,
  SHMRING_INTERNAL = 13,
  SHMRING_UNAVAILABLE = 14,
  SHMRING_DATA_LOSS = 15,
  SHMRING_UNAUTHENTICATED = 16
} shmring_status;

typedef enum shmring_policy {
  SHMRING_POLICY_BLOCK = 1,     /* wait for room until the deadline */
  SHMRING_POLICY_REJECT = 2,    /* fail at once with RESOURCE_EXHAUSTED */
  SHMRING_POLICY_OVERWRITE = 3  /* lagging groups lose the oldest records */
} shmring_policy;

typedef struct shmring_ring shmring_ring;
typedef struct shmring_producer shmring_producer;
typedef struct shmring_reader shmring_reader;

/* ---- errors and version ---- */

/* Message of the last failed call on this thread ("" if none). Valid until the
 * next shmring_* call on the same thread. */
SHMRING_EXPORT const char* shmring_last_error(void);
/* "OK", "NOT_FOUND", ... ("UNKNOWN" for numbers outside the enum). */
SHMRING_EXPORT const char* shmring_status_name(int status);
/* "MAJOR.MINOR.PATCH" of the library actually loaded (e.g. "1.2.0"); may be newer
 * than the SHMRING_VERSION_* macros this program was compiled with. */
SHMRING_EXPORT const char* shmring_version(void);

/* ---- rings ---- */

typedef struct shmring_create_options {
  uint32_t struct_size;      /* sizeof(shmring_create_options) */
  uint32_t policy;           /* shmring_policy; default BLOCK */
  uint64_t capacity;         /* data bytes, power of two, 4 KiB .. 1 TiB; default 1 MiB */
  uint32_t max_record;       /* 0: capacity / 4 - 32, at most 4294967295 */
  uint32_t max_producers;    /* default 64 */
  uint32_t max_groups;       /* default 16 */
  uint32_t mode;             /* file mode, default 0600 */
  int32_t checksums;         /* nonzero: XXH3 per record (default 1) */
  uint32_t num_groups;       /* entries in groups */
  const char* const* groups; /* consumer groups created with the ring (may be NULL) */
  uint64_t initial_position; /* first position, a multiple of 8 (default 0) */
  uint32_t stale_after_ms;   /* default 5000 */
  uint32_t evict_after_ms;   /* default 10000 */
  uint32_t unblock_after_ms; /* default 30000 */
  int32_t message_batches;   /* nonzero: allow shmring_producer_write_messages (layout 1.2; default 0) */
} shmring_create_options;

/* Fills the defaults and struct_size. */
SHMRING_EXPORT void shmring_create_options_init(shmring_create_options* options);

#define SHMRING_OPEN_READ_ONLY 1u

/* A ring is NAME (a file under /dev/shm) or a PATH containing '/'.
 * options may be NULL (defaults). On success *out is a new handle. */
SHMRING_EXPORT int shmring_ring_create(const char* ring, const shmring_create_options* options, shmring_ring** out);
/* flags: 0 or SHMRING_OPEN_READ_ONLY. */
SHMRING_EXPORT int shmring_ring_open(const char* ring, uint32_t flags, shmring_ring** out);
/* Releases the handle (NULL is fine). Producers and readers attached through it keep working. */
SHMRING_EXPORT void shmring_ring_close(shmring_ring* ring);
/* Unlinks the ring file. Producers and readers already attached keep working;
 * attaching new ones needs the file (NOT_FOUND after removal). */
SHMRING_EXPORT int shmring_ring_remove(const char* ring);

/* Adds a group starting at the current tail; *index_out (may be NULL) gets its slot. */
SHMRING_EXPORT int shmring_ring_add_group(shmring_ring* ring, const char* name, uint32_t* index_out);
SHMRING_EXPORT int shmring_ring_remove_group(shmring_ring* ring, const char* name);
SHMRING_EXPORT int shmring_ring_find_group(const shmring_ring* ring, const char* name, uint32_t* index_out);

/* Owned by the handle, valid until shmring_ring_close. */
SHMRING_EXPORT const char* shmring_ring_path(const shmring_ring* ring);
SHMRING_EXPORT uint64_t shmring_ring_capacity(const shmring_ring* ring);
SHMRING_EXPORT uint32_t shmring_ring_max_record(const shmring_ring* ring);
SHMRING_EXPORT int shmring_ring_policy(const shmring_ring* ring); /* shmring_policy */

typedef struct shmring_stats {
  uint32_t struct_size;  /* set by the caller: sizeof(shmring_stats) */
  uint32_t policy;
  uint64_t capacity;
  uint32_t max_record;
  uint32_t num_groups;   /* named groups */
  uint64_t tail;         /* next position to be claimed */
  uint64_t head;         /* slowest gating group's cursor */
  uint64_t used_bytes;
  uint64_t high_water;
  uint64_t committed;    /* sums over all producer slots */
  uint64_t committed_bytes;
  uint64_t dropped;
  uint64_t aborted;
  uint64_t delivered;    /* sums over all groups */
  uint64_t overwritten;
  uint64_t corrupt;
  /* added in 1.1 (filled only if struct_size covers them) */
  uint64_t abandoned;    /* records of dead or stale producers turned into skip records */
  uint64_t unblocked;    /* of abandoned: taken from live but stale producers */
  uint64_t unblocks;     /* stale claims unblocked */
  uint64_t evictions;    /* groups evicted from gating */
  uint64_t reclaims;     /* dead producers' claims reclaimed */
  uint64_t fence_skips;  /* laps of fenced claims skipped by producers */
} shmring_stats;

/* Snapshot of the ring's counters. Fills min(stats->struct_size, sizeof) bytes. */
SHMRING_EXPORT int shmring_ring_stats(const shmring_ring* ring, shmring_stats* stats);

/* Liveness of a group's reader or a producer (from its lock and heartbeat). */
typedef enum shmring_liveness {
  SHMRING_LIVENESS_NONE = 0,  /* nobody attached */
  SHMRING_LIVENESS_ALIVE = 1,
  SHMRING_LIVENESS_STALE = 2, /* alive, but no heartbeat for stale_after_ms */
  SHMRING_LIVENESS_DEAD = 3   /* attached process is gone */
} shmring_liveness;

/* One consumer group (since 1.2, SHMRING_1.2). */
typedef struct shmring_group_stats {
  uint32_t struct_size;      /* set by the caller: sizeof(shmring_group_stats) */
  uint32_t slot;             /* group table slot (what shmring_ring_find_group returns) */
  char name[64];             /* NUL-terminated; bytes a valid name cannot hold show as '?' */
  uint32_t generation;       /* bumped each time a reader attaches */
  int32_t pid;               /* reader pid (in its PID namespace), 0 when none attached */
  uint64_t pidns;            /* reader's PID namespace inode */
  uint32_t liveness;         /* shmring_liveness of the reader */
  int32_t evicted;           /* nonzero: the group stopped gating producers (no live reader) */
  uint64_t heartbeat_age_ns; /* since the reader's last heartbeat */
  uint64_t cursor;           /* the group's committed position */
  uint64_t lag_bytes;        /* tail - cursor */
  uint64_t lag_records;      /* committed or in-flight records between cursor and tail */
  uint64_t delivered;        /* records returned to this group's readers */
  uint64_t delivered_bytes;
  uint64_t overwritten;      /* records this group lost to the overwrite policy */
  uint64_t corrupt;          /* records that failed their checksum or header checks */
  uint64_t evictions;        /* times this group was evicted from gating */
  uint64_t abandoned;        /* skip records of dead or stale producers passed over */
} shmring_group_stats;

/* One producer slot that was ever used (since 1.2, SHMRING_1.2). */
typedef struct shmring_producer_stats {
  uint32_t struct_size;      /* set by the caller: sizeof(shmring_producer_stats) */
  uint32_t slot;             /* shmring_producer_slot(); shmring_record.producer & 0xffff */
  uint32_t generation;       /* bumped per attach; shmring_record.producer >> 16 is its low 16 bits */
  int32_t pid;               /* producer pid (in its PID namespace), 0 if never set */
  uint64_t pidns;
  uint32_t liveness;         /* shmring_liveness; NONE once the producer closed */
  int32_t fenced;            /* nonzero: producers already skip a lap of its claim in flight */
  uint64_t heartbeat_age_ns;
  uint64_t committed;
  uint64_t committed_bytes;
  uint64_t dropped;          /* refused for lack of room (reject, or block past its deadline) */
  uint64_t aborted;
  uint64_t blocked_ns;       /* time spent waiting for room */
  uint64_t wakeups;          /* reader wakeups rung */
  uint64_t abandoned;        /* its records turned into skip records by others */
  uint64_t unblocked;        /* of abandoned: taken while it was alive but stale */
} shmring_producer_stats;

/* Since 1.2 (SHMRING_1.2). Groups and producer slots in a fresh snapshot each call:
 * *count gets the number of named groups / producer slots ever used. */
SHMRING_EXPORT int shmring_ring_num_groups(const shmring_ring* ring, uint32_t* count);
SHMRING_EXPORT int shmring_ring_num_producers(const shmring_ring* ring, uint32_t* count);
/* The index-th named group (0 .. num_groups - 1, in slot order) or used producer
 * slot (0 .. num_producers - 1). OUT_OF_RANGE past the end (groups or producers may
 * come and go between calls). Fills min(stats->struct_size, sizeof) bytes. */
SHMRING_EXPORT int shmring_ring_group_stats(const shmring_ring* ring, uint32_t index, shmring_group_stats* stats);
SHMRING_EXPORT int shmring_ring_producer_stats(const shmring_ring* ring, uint32_t index,
                                               shmring_producer_stats* stats);

/* ---- producers ---- */

typedef struct shmring_producer_options {
  uint32_t struct_size;      /* sizeof(shmring_producer_options) */
  uint32_t reserved_;
  int64_t block_timeout_ns;  /* default wait under the block policy (5 s) */
} shmring_producer_options;

SHMRING_EXPORT void shmring_producer_options_init(shmring_producer_options* options);

/* A claimed record: write len bytes at data, then commit or abort. */
typedef struct shmring_reservation {
  void* data;
  size_t len;
  uint64_t position;
} shmring_reservation;

/* Takes a producer slot (RESOURCE_EXHAUSTED if none). options may be NULL. */
SHMRING_EXPORT int shmring_producer_attach(shmring_ring* ring, const shmring_producer_options* options,
                            shmring_producer** out);
/* Aborts an outstanding reservation and frees the slot (NULL is fine). */
SHMRING_EXPORT void shmring_producer_close(shmring_producer* producer);
/* Claims len bytes. One reservation per producer at a time. timeout_ns < 0:
 * the producer's block_timeout. Errors: INVALID_ARGUMENT (too large),
 * RESOURCE_EXHAUSTED (reject), DEADLINE_EXCEEDED (block), FAILED_PRECONDITION
 * (a reservation is already outstanding). */
SHMRING_EXPORT int shmring_producer_reserve(shmring_producer* producer, size_t len, uint16_t type, int64_t timeout_ns,
                             shmring_reservation* out);
/* Publishes the outstanding reservation (FAILED_PRECONDITION if none). */
SHMRING_EXPORT int shmring_producer_commit(shmring_producer* producer);
/* Turns the outstanding reservation into a skip record (FAILED_PRECONDITION if none). */
SHMRING_EXPORT int shmring_producer_abort(shmring_producer* producer);
/* Reserve + copy + commit. */
SHMRING_EXPORT int shmring_producer_write(shmring_producer* producer, const void* data, size_t len, uint16_t type);
SHMRING_EXPORT uint32_t shmring_producer_slot(const shmring_producer* producer);

/* One message of a batch (shmring_producer_write_messages). */
typedef struct shmring_message {
  const void* data;
  size_t len;
  uint16_t type;
} shmring_message;

/* Since 1.1 (SHMRING_1.1; ring layout 1.2). Packs count messages into one record: one claim, one checksum, one
 * commit; readers get one shmring_record per message (all with the record's
 * position and flags & SHMRING_RECORD_BATCH). Each message costs 8 bytes plus
 * padding to 8; together they must fit max_record (INVALID_ARGUMENT). The ring
 * must be created with message_batches (FAILED_PRECONDITION). All or nothing;
 * counters count records (a batch is one). */
SHMRING_EXPORT int shmring_producer_write_messages(shmring_producer* producer, const shmring_message* messages, size_t count);

/* ---- readers ---- */

typedef struct shmring_reader_options {
  uint32_t struct_size;  /* sizeof(shmring_reader_options) */
  int32_t auto_commit;   /* nonzero (default): each poll commits the previous batch */
  int32_t spin;          /* spins before parking in wait (default 200) */
  uint32_t reserved_;
} shmring_reader_options;

SHMRING_EXPORT void shmring_reader_options_init(shmring_reader_options* options);

/* shmring_record.flags bit: one message of a batch record. */
#define SHMRING_RECORD_BATCH 1u

/* One delivered record (or message of a batch record); data is valid until the
 * reader's next poll, wait, commit or close. A batch with more messages than max is
 * returned over several polls; the cursor passes it only once it is returned whole.
 * producer names the writer: slot | (slot generation & 0xffff) << 16, i.e. bits 0-15
 * are shmring_producer_slot() and bits 16-31 the low 16 bits of that slot's
 * generation (shmring_producer_stats), which tells a restarted producer apart. */
typedef struct shmring_record {
  const void* data;
  size_t len;
  uint64_t position;
  uint16_t type;
  uint16_t flags;
  uint32_t producer;
} shmring_record;

typedef struct shmring_attach_report {
  uint32_t struct_size;      /* set by the caller */
  uint32_t previous_pid;     /* reader that held the group before (0: none) */
  uint64_t resumed_at;       /* cursor the reader starts from */
  uint64_t lost_while_away;  /* records overwritten while no reader was attached */
} shmring_attach_report;

/* Becomes the reader of group (FAILED_PRECONDITION if a live reader holds it,
 * NOT_FOUND if there is no such group). options may be NULL. */
SHMRING_EXPORT int shmring_reader_attach(shmring_ring* ring, const char* group, const shmring_reader_options* options,
                          shmring_reader** out);
SHMRING_EXPORT void shmring_reader_close(shmring_reader* reader);
/* Up to max ready records into records[0 .. *count); never blocks. */
SHMRING_EXPORT int shmring_reader_poll(shmring_reader* reader, shmring_record* records, size_t max, size_t* count);
/* Waits without deadline when passed as timeout_ns to shmring_reader_wait (since 1.2;
 * any library: INT64_MAX ns is about 292 years). */
#define SHMRING_NO_DEADLINE INT64_MAX

/* Like poll, but waits up to timeout_ns for records (then *count = 0, SHMRING_OK).
 * timeout_ns <= 0: does not wait (like poll); SHMRING_NO_DEADLINE: waits until a
 * record arrives. */
SHMRING_EXPORT int shmring_reader_wait(shmring_reader* reader, shmring_record* records, size_t max, int64_t timeout_ns,
                        size_t* count);
/* Commits the group cursor past everything returned so far (ABORTED if fenced). */
SHMRING_EXPORT int shmring_reader_commit(shmring_reader* reader);
SHMRING_EXPORT uint64_t shmring_reader_committed_position(const shmring_reader* reader);
SHMRING_EXPORT int shmring_reader_attach_report(const shmring_reader* reader, shmring_attach_report* report);
/* For event loops (epoll, io_uring, poll(2)) that cannot park in shmring_reader_wait:
 * a pollable fd (*fd, owned by the reader: do not read or close it) that becomes
 * readable when records may have arrived. Use: a shmring_reader_poll that returns no
 * record arms it; wait for the fd in your loop, then poll again (which resets it).
 * Producers ring it over a Unix socket next to the ring (spec/PROTOCOL.md §7.2), once
 * per arming, and only for a reader that armed it. Since 1.2 (node SHMRING_1.2). */
SHMRING_EXPORT int shmring_reader_doorbell_fd(shmring_reader* reader, int* fd);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SHMRING_SHMRING_H_ */
