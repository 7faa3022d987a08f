/* Exercises every function of the C API (shmring/shmring.h). Compiled as C. */
#include <shmring/shmring.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond)                                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              shmring_last_error());                                                         \
      ++failures;                                                                            \
    }                                                                                        \
  } while (0)
#define CHECK_OK(expr) CHECK((expr) == SHMRING_OK)

static void test_errors(const char* missing) {
  shmring_ring* ring = (shmring_ring*)1;
  CHECK(shmring_ring_open(missing, 0, &ring) == SHMRING_NOT_FOUND);
  CHECK(ring == NULL);
  CHECK(strstr(shmring_last_error(), missing) != NULL); /* the message names the file */
  CHECK(shmring_ring_remove(missing) == SHMRING_NOT_FOUND);
  CHECK(shmring_ring_open(NULL, 0, &ring) == SHMRING_INVALID_ARGUMENT);
  CHECK(strstr(shmring_last_error(), "NULL") != NULL);
  CHECK(shmring_ring_open(missing, 0x80, &ring) == SHMRING_INVALID_ARGUMENT);

  CHECK(strcmp(shmring_status_name(SHMRING_OK), "OK") == 0);
  CHECK(strcmp(shmring_status_name(SHMRING_NOT_FOUND), "NOT_FOUND") == 0);
  CHECK(strcmp(shmring_status_name(SHMRING_UNAUTHENTICATED), "UNAUTHENTICATED") == 0);
  CHECK(strcmp(shmring_status_name(99), "UNKNOWN") == 0);
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", SHMRING_VERSION_MAJOR, SHMRING_VERSION_MINOR, SHMRING_VERSION_PATCH);
  CHECK(strcmp(shmring_version(), want) == 0);
  CHECK(strcmp(shmring_version(), "1.2.0") == 0);

  shmring_create_options o;
  shmring_create_options_init(&o);
  o.capacity = 1000; /* not a power of two */
  CHECK(shmring_ring_create(missing, &o, &ring) == SHMRING_INVALID_ARGUMENT);
  CHECK(strstr(shmring_last_error(), "capacity") != NULL);
  shmring_create_options_init(&o);
  o.policy = 7;
  CHECK(shmring_ring_create(missing, &o, &ring) == SHMRING_INVALID_ARGUMENT);
  o.struct_size = 0;
  CHECK(shmring_ring_create(missing, &o, &ring) == SHMRING_INVALID_ARGUMENT);
}

static void test_roundtrip(const char* name) {
  const char* groups[] = {"g1"};
  shmring_create_options o;
  shmring_create_options_init(&o);
  CHECK(o.struct_size == sizeof o && o.capacity == (1u << 20) && o.policy == SHMRING_POLICY_BLOCK);
  o.capacity = 1 << 16;
  o.policy = SHMRING_POLICY_REJECT;
  o.groups = groups;
  o.num_groups = 1;
  shmring_ring* ring = NULL;
  CHECK_OK(shmring_ring_create(name, &o, &ring));
  if (ring == NULL) return;
  shmring_ring* dup = ring;
  CHECK(shmring_ring_create(name, &o, &dup) == SHMRING_ALREADY_EXISTS);
  CHECK(dup == NULL); /* *out is NULL on failure */
  CHECK(strstr(shmring_ring_path(ring), name) != NULL);
  CHECK(shmring_ring_capacity(ring) == 1 << 16);
  CHECK(shmring_ring_max_record(ring) == (1 << 14) - 32);
  CHECK(shmring_ring_policy(ring) == SHMRING_POLICY_REJECT);

  uint32_t g = 99;
  CHECK_OK(shmring_ring_find_group(ring, "g1", &g));
  CHECK(g == 0);
  CHECK(shmring_ring_find_group(ring, "nope", &g) == SHMRING_NOT_FOUND);
  CHECK_OK(shmring_ring_add_group(ring, "g2", &g));
  CHECK(g == 1);
  CHECK(shmring_ring_add_group(ring, "g2", NULL) == SHMRING_ALREADY_EXISTS);

  /* A second handle on the same file, read-write. */
  shmring_ring* ring2 = NULL;
  CHECK_OK(shmring_ring_open(name, 0, &ring2));
  shmring_ring* ro = NULL;
  CHECK_OK(shmring_ring_open(name, SHMRING_OPEN_READ_ONLY, &ro));

  shmring_producer_options po;
  shmring_producer_options_init(&po);
  CHECK(po.block_timeout_ns == 5000000000LL);
  shmring_producer* p = NULL;
  CHECK_OK(shmring_producer_attach(ring2, &po, &p));
  if (p == NULL) return;
  CHECK(shmring_producer_slot(p) == 0);

  CHECK_OK(shmring_producer_write(p, "hello", 5, 7));
  shmring_reservation res;
  CHECK_OK(shmring_producer_reserve(p, 3, 8, -1, &res));
  CHECK(res.len == 3 && res.data != NULL);
  memcpy(res.data, "abc", 3);
  CHECK(shmring_producer_reserve(p, 3, 8, -1, &res) == SHMRING_FAILED_PRECONDITION);
  CHECK_OK(shmring_producer_commit(p));
  CHECK(shmring_producer_commit(p) == SHMRING_FAILED_PRECONDITION);
  CHECK_OK(shmring_producer_reserve(p, 10, 9, 0, &res));
  CHECK_OK(shmring_producer_abort(p));
  CHECK(shmring_producer_abort(p) == SHMRING_FAILED_PRECONDITION);
  CHECK_OK(shmring_producer_write(p, NULL, 0, 10)); /* empty record */
  CHECK(shmring_producer_write(p, "x", 1u << 20, 0) == SHMRING_INVALID_ARGUMENT);
  CHECK(strstr(shmring_last_error(), "max_record") != NULL);

  shmring_reader_options ro_opts;
  shmring_reader_options_init(&ro_opts);
  CHECK(ro_opts.auto_commit == 1 && ro_opts.spin == 200);
  ro_opts.auto_commit = 0;
  shmring_reader* r = NULL;
  CHECK(shmring_reader_attach(ring, "nope", NULL, &r) == SHMRING_NOT_FOUND);
  CHECK_OK(shmring_reader_attach(ring, "g1", &ro_opts, &r));
  if (r == NULL) return;
  shmring_reader* r2 = NULL;
  CHECK(shmring_reader_attach(ring, "g1", NULL, &r2) == SHMRING_FAILED_PRECONDITION);

  shmring_attach_report rep;
  rep.struct_size = sizeof rep;
  CHECK_OK(shmring_reader_attach_report(r, &rep));
  CHECK(rep.resumed_at == 0 && rep.previous_pid == 0 && rep.lost_while_away == 0);

  shmring_record recs[8];
  size_t n = 99;
  CHECK_OK(shmring_reader_poll(r, recs, 8, &n));
  CHECK(n == 3); /* the aborted record is skipped */
  if (n == 3) {
    CHECK(recs[0].len == 5 && memcmp(recs[0].data, "hello", 5) == 0 && recs[0].type == 7);
    CHECK(recs[0].position == 0);
    CHECK(recs[1].len == 3 && memcmp(recs[1].data, "abc", 3) == 0 && recs[1].type == 8);
    CHECK(recs[1].position > recs[0].position);
    CHECK(recs[2].len == 0 && recs[2].type == 10);
  }
  CHECK(shmring_reader_committed_position(r) == 0);
  CHECK_OK(shmring_reader_commit(r));
  CHECK(shmring_reader_committed_position(r) > 0);
  CHECK_OK(shmring_reader_wait(r, recs, 8, 1000000, &n)); /* 1 ms, nothing there */
  CHECK(n == 0);
  CHECK_OK(shmring_producer_write(p, "later", 5, 1));
  CHECK_OK(shmring_reader_wait(r, recs, 8, 1000000000, &n));
  CHECK(n == 1 && recs[0].len == 5);
  CHECK(shmring_reader_poll(r, NULL, 8, &n) == SHMRING_INVALID_ARGUMENT);
  CHECK_OK(shmring_reader_commit(r));

  shmring_stats st;
  memset(&st, 0, sizeof st);
  CHECK(shmring_ring_stats(ro, &st) == SHMRING_INVALID_ARGUMENT); /* struct_size unset */
  st.struct_size = sizeof st;
  CHECK_OK(shmring_ring_stats(ro, &st));
  CHECK(st.struct_size == sizeof st);
  CHECK(st.capacity == 1 << 16 && st.policy == SHMRING_POLICY_REJECT && st.num_groups == 2);
  CHECK(st.committed == 4 && st.aborted == 1 && st.dropped == 1);
  CHECK(st.delivered == 4 && st.tail > 0 && st.committed_bytes == 13);
  /* An older caller's smaller struct: only its prefix is written. */
  shmring_stats small;
  memset(&small, 0xab, sizeof small);
  small.struct_size = 16;
  CHECK_OK(shmring_ring_stats(ro, &small));
  CHECK(small.capacity == 1 << 16 && small.max_record == 0xabababab);

  shmring_ring_close(ring); /* handles keep the mapping alive */
  shmring_ring_close(ring2);
  CHECK_OK(shmring_producer_write(p, "after", 5, 1));
  CHECK_OK(shmring_reader_poll(r, recs, 8, &n));
  CHECK(n == 1);
  shmring_reader_close(r);
  CHECK_OK(shmring_producer_reserve(p, 4, 0, -1, &res));
  shmring_producer_close(p); /* aborts the reservation */

  shmring_ring_close(ro);
  CHECK_OK(shmring_ring_open(name, 0, &ring));
  CHECK_OK(shmring_ring_remove_group(ring, "g2"));
  CHECK(shmring_ring_find_group(ring, "g2", NULL) == SHMRING_NOT_FOUND);
  shmring_ring_close(ring);
  CHECK_OK(shmring_ring_remove(name));
  shmring_ring_close(NULL);
  shmring_producer_close(NULL);
  shmring_reader_close(NULL);
}

/* Message batches: one record, one shmring_record per message (spec/LAYOUT.md §6.4). */
static void test_messages(const char* name) {
  shmring_create_options o;
  shmring_create_options_init(&o);
  CHECK(o.message_batches == 0);
  const char* groups[] = {"g"};
  o.capacity = 1 << 16;
  o.groups = groups;
  o.num_groups = 1;
  o.message_batches = 1;
  shmring_ring* ring = NULL;
  CHECK_OK(shmring_ring_create(name, &o, &ring));
  if (ring == NULL) return;
  shmring_producer* p = NULL;
  CHECK_OK(shmring_producer_attach(ring, NULL, &p));
  const shmring_message ms[3] = {{"one", 3, 1}, {"", 0, 2}, {"three", 5, 3}};
  CHECK_OK(shmring_producer_write_messages(p, ms, 3));
  CHECK(shmring_producer_write_messages(p, NULL, 1) == SHMRING_INVALID_ARGUMENT);
  shmring_reader* r = NULL;
  CHECK_OK(shmring_reader_attach(ring, "g", NULL, &r));
  shmring_record recs[2];
  size_t n = 0;
  CHECK_OK(shmring_reader_poll(r, recs, 2, &n)); /* max 2 < 3 messages: split over two polls */
  CHECK(n == 2 && recs[0].len == 3 && memcmp(recs[0].data, "one", 3) == 0 && recs[1].type == 2);
  CHECK((recs[0].flags & SHMRING_RECORD_BATCH) != 0 && recs[1].position == recs[0].position);
  CHECK_OK(shmring_reader_poll(r, recs, 2, &n));
  CHECK(n == 1 && recs[0].len == 5 && memcmp(recs[0].data, "three", 5) == 0 && recs[0].type == 3);
  CHECK_OK(shmring_reader_commit(r));
  shmring_stats st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  CHECK_OK(shmring_ring_stats(ring, &st));
  CHECK(st.committed == 1); /* counters count records */
  shmring_reader_close(r);
  shmring_producer_close(p);
  shmring_ring_close(ring);
  shmring_ring_remove(name);
}

/* Per-group and per-producer stats (1.2): lag after writing 5 and reading 2. */
static void test_group_stats(const char* name) {
  const char* groups[] = {"a", "b"};
  shmring_create_options o;
  shmring_create_options_init(&o);
  o.capacity = 1 << 16;
  o.groups = groups;
  o.num_groups = 2;
  shmring_ring* ring = NULL;
  CHECK_OK(shmring_ring_create(name, &o, &ring));
  if (ring == NULL) return;
  uint32_t count = 99;
  CHECK_OK(shmring_ring_num_producers(ring, &count));
  CHECK(count == 0);
  shmring_producer* p = NULL;
  CHECK_OK(shmring_producer_attach(ring, NULL, &p));
  if (p == NULL) return;
  for (int i = 0; i < 5; ++i) CHECK_OK(shmring_producer_write(p, "0123456789", 10, 1));
  shmring_reader_options ro;
  shmring_reader_options_init(&ro);
  ro.auto_commit = 0;
  shmring_reader* r = NULL;
  CHECK_OK(shmring_reader_attach(ring, "a", &ro, &r));
  if (r == NULL) return;
  shmring_record recs[2];
  size_t n = 0;
  CHECK_OK(shmring_reader_poll(r, recs, 2, &n));
  CHECK(n == 2);
  CHECK_OK(shmring_reader_commit(r));

  CHECK_OK(shmring_ring_num_groups(ring, &count));
  CHECK(count == 2);
  CHECK_OK(shmring_ring_num_producers(ring, &count));
  CHECK(count == 1);
  shmring_stats st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  CHECK_OK(shmring_ring_stats(ring, &st));

  shmring_group_stats g;
  memset(&g, 0, sizeof g);
  CHECK(shmring_ring_group_stats(ring, 0, &g) == SHMRING_INVALID_ARGUMENT); /* struct_size unset */
  g.struct_size = sizeof g;
  CHECK_OK(shmring_ring_group_stats(ring, 0, &g));
  CHECK(g.struct_size == sizeof g && g.slot == 0 && strcmp(g.name, "a") == 0);
  CHECK(g.cursor == shmring_reader_committed_position(r) && g.cursor > 0);
  CHECK(g.lag_records == 3 && g.lag_bytes == st.tail - g.cursor);
  CHECK(g.delivered == 2 && g.delivered_bytes == 20 && g.overwritten == 0 && g.corrupt == 0);
  CHECK(g.pid == (int32_t)getpid() && g.liveness == SHMRING_LIVENESS_ALIVE && g.evicted == 0);
  CHECK_OK(shmring_ring_group_stats(ring, 1, &g));
  CHECK(g.slot == 1 && strcmp(g.name, "b") == 0 && g.cursor == 0);
  CHECK(g.lag_records == 5 && g.lag_bytes == st.tail && g.delivered == 0);
  CHECK(g.pid == 0 && g.liveness == SHMRING_LIVENESS_NONE);
  CHECK(shmring_ring_group_stats(ring, 2, &g) == SHMRING_OUT_OF_RANGE);
  CHECK(strstr(shmring_last_error(), "group index 2") != NULL);
  /* An older caller's smaller struct: only its prefix is written. */
  shmring_group_stats small;
  memset(&small, 0xab, sizeof small);
  small.struct_size = 8;
  CHECK_OK(shmring_ring_group_stats(ring, 1, &small));
  CHECK(small.slot == 1 && (unsigned char)small.name[0] == 0xab);

  shmring_producer_stats ps;
  memset(&ps, 0, sizeof ps);
  ps.struct_size = sizeof ps;
  CHECK_OK(shmring_ring_producer_stats(ring, 0, &ps));
  CHECK(ps.struct_size == sizeof ps && ps.slot == shmring_producer_slot(p) && ps.generation > 0);
  CHECK(ps.committed == 5 && ps.committed_bytes == 50 && ps.dropped == 0 && ps.aborted == 0);
  CHECK(ps.pid == (int32_t)getpid() && ps.liveness == SHMRING_LIVENESS_ALIVE && ps.fenced == 0);
  /* shmring_record.producer = slot | (generation & 0xffff) << 16 */
  CHECK(recs[0].producer == (ps.slot | (ps.generation & 0xffffu) << 16));
  CHECK(shmring_ring_producer_stats(ring, 1, &ps) == SHMRING_OUT_OF_RANGE);
  CHECK(shmring_ring_producer_stats(NULL, 0, &ps) == SHMRING_INVALID_ARGUMENT);
  CHECK(shmring_ring_num_groups(ring, NULL) == SHMRING_INVALID_ARGUMENT);

  /* wait: a timeout <= 0 does not wait; SHMRING_NO_DEADLINE waits until records come
   * (here they are already there, so it returns at once). */
  CHECK_OK(shmring_reader_wait(r, recs, 2, -1, &n));
  CHECK(n == 2);
  CHECK_OK(shmring_reader_commit(r));
  CHECK_OK(shmring_reader_wait(r, recs, 2, SHMRING_NO_DEADLINE, &n));
  CHECK(n == 1);
  CHECK_OK(shmring_reader_wait(r, recs, 2, -5, &n));
  CHECK(n == 0);

  shmring_reader_close(r);
  shmring_producer_close(p);
  shmring_ring_close(ring);
  shmring_ring_remove(name);
}

/* The doorbell fd: armed by an empty poll, readable after a commit, reset by the next poll. */
static void test_doorbell(const char* name) {
  shmring_create_options o;
  shmring_create_options_init(&o);
  const char* groups[] = {"g"};
  o.capacity = 65536;
  o.groups = groups;
  o.num_groups = 1;
  shmring_ring* ring;
  CHECK_OK(shmring_ring_create(name, &o, &ring));
  shmring_producer* p;
  shmring_reader* r;
  CHECK_OK(shmring_producer_attach(ring, NULL, &p));
  CHECK_OK(shmring_reader_attach(ring, "g", NULL, &r));
  int fd = -1;
  CHECK(shmring_reader_doorbell_fd(r, NULL) == SHMRING_INVALID_ARGUMENT);
  CHECK_OK(shmring_reader_doorbell_fd(r, &fd));
  CHECK(fd >= 0);
  shmring_record recs[4];
  size_t n = 9;
  for (int round = 0; round < 2; ++round) {
    CHECK_OK(shmring_reader_poll(r, recs, 4, &n)); /* nothing there: arms the doorbell */
    CHECK(n == 0);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    CHECK(poll(&pf, 1, 0) == 0); /* not readable before a record */
    CHECK_OK(shmring_producer_write(p, "ding", 4, 0));
    CHECK(poll(&pf, 1, 10000) == 1 && (pf.revents & POLLIN)); /* rung by the commit */
    CHECK_OK(shmring_reader_poll(r, recs, 4, &n));
    CHECK(n == 1 && recs[0].len == 4 && memcmp(recs[0].data, "ding", 4) == 0);
  }
  shmring_producer_stats ps;
  ps.struct_size = sizeof ps;
  CHECK_OK(shmring_ring_producer_stats(ring, 0, &ps));
  CHECK(ps.wakeups == 2); /* one ring per arming */
  shmring_reader_close(r);
  shmring_producer_close(p);
  shmring_ring_close(ring);
  shmring_ring_remove(name);
}

int main(void) {
  char name[64], missing[64];
  snprintf(name, sizeof name, "shmring-capi-test-%d", (int)getpid());
  snprintf(missing, sizeof missing, "shmring-capi-missing-%d", (int)getpid());
  test_errors(missing);
  test_roundtrip(name);
  shmring_ring_remove(name);
  test_messages(name);
  shmring_ring_remove(name);
  test_group_stats(name);
  test_doorbell(name);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("capi_test: all checks passed\n");
  return 0;
}
