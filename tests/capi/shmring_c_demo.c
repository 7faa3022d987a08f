/* shmring C demo: a producer and a consumer in plain C over shmring/shmring.h.
 *
 *   shmring_c_demo create  RING [GROUP...]   create a 1 MiB ring with groups
 *   shmring_c_demo produce RING COUNT        write COUNT records "record <i>" (type 1)
 *   shmring_c_demo consume RING GROUP COUNT  read COUNT records, print each payload
 *   shmring_c_demo remove  RING
 *
 * consume waits up to 10 s for each record and exits 1 if they do not come.
 */
#include <shmring/shmring.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char* what, int status) {
  fprintf(stderr, "shmring_c_demo: %s: %s: %s\n", what, shmring_status_name(status), shmring_last_error());
  return 1;
}

static int create(const char* name, int ngroups, char** groups) {
  shmring_create_options o;
  shmring_create_options_init(&o);
  o.groups = (const char* const*)groups;
  o.num_groups = (uint32_t)ngroups;
  shmring_ring* ring;
  int s = shmring_ring_create(name, &o, &ring);
  if (s != SHMRING_OK) return die("create", s);
  printf("created %s\n", shmring_ring_path(ring));
  shmring_ring_close(ring);
  return 0;
}

static int produce(const char* name, long count) {
  shmring_ring* ring;
  shmring_producer* p;
  int s = shmring_ring_open(name, 0, &ring);
  if (s != SHMRING_OK) return die("open", s);
  s = shmring_producer_attach(ring, NULL, &p);
  shmring_ring_close(ring); /* the producer keeps the ring mapped */
  if (s != SHMRING_OK) return die("attach producer", s);
  for (long i = 0; i < count; ++i) {
    char buf[64];
    int len = snprintf(buf, sizeof buf, "record %ld", i);
    if (i % 2 == 0) {
      s = shmring_producer_write(p, buf, (size_t)len, 1);
    } else { /* zero-copy: reserve, fill in place, commit */
      shmring_reservation r;
      s = shmring_producer_reserve(p, (size_t)len, 1, -1, &r);
      if (s == SHMRING_OK) {
        memcpy(r.data, buf, (size_t)len);
        s = shmring_producer_commit(p);
      }
    }
    if (s != SHMRING_OK) {
      shmring_producer_close(p);
      return die("write", s);
    }
  }
  shmring_producer_close(p);
  printf("produced %ld\n", count);
  return 0;
}

static int consume(const char* name, const char* group, long count) {
  shmring_ring* ring;
  shmring_reader* r;
  int s = shmring_ring_open(name, 0, &ring);
  if (s != SHMRING_OK) return die("open", s);
  s = shmring_reader_attach(ring, group, NULL, &r);
  shmring_ring_close(ring);
  if (s != SHMRING_OK) return die("attach reader", s);
  long got = 0;
  while (got < count) {
    shmring_record recs[64];
    size_t n = 0;
    s = shmring_reader_wait(r, recs, 64, 10 * 1000000000LL, &n);
    if (s != SHMRING_OK) break;
    if (n == 0) {
      fprintf(stderr, "shmring_c_demo: timed out after %ld of %ld records\n", got, count);
      shmring_reader_close(r);
      return 1;
    }
    for (size_t i = 0; i < n; ++i) {
      printf("%u %.*s\n", (unsigned)recs[i].type, (int)recs[i].len, (const char*)recs[i].data);
    }
    got += (long)n;
  }
  if (s == SHMRING_OK) s = shmring_reader_commit(r);
  shmring_reader_close(r);
  if (s != SHMRING_OK) return die("read", s);
  fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "create") == 0) return create(argv[2], argc - 3, argv + 3);
  if (argc == 4 && strcmp(argv[1], "produce") == 0) return produce(argv[2], atol(argv[3]));
  if (argc == 5 && strcmp(argv[1], "consume") == 0) return consume(argv[2], argv[3], atol(argv[4]));
  if (argc == 3 && strcmp(argv[1], "remove") == 0) {
    int s = shmring_ring_remove(argv[2]);
    return s == SHMRING_OK ? 0 : die("remove", s);
  }
  fprintf(stderr,
          "usage: shmring_c_demo create RING [GROUP...] | produce RING COUNT | consume RING GROUP COUNT | "
          "remove RING\n");
  return 2;
}
