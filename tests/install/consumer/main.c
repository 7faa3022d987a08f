/* C consumer of an installed shmring: create a ring, write a record, read it back. */
#include <shmring/shmring.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const char* groups[] = {"g"};
  shmring_create_options o;
  shmring_create_options_init(&o);
  o.groups = groups;
  o.num_groups = 1;
  shmring_ring* ring;
  shmring_producer* p;
  shmring_reader* r;
  shmring_record rec;
  size_t n = 0;
  int ok = shmring_ring_create(argv[1], &o, &ring) == SHMRING_OK &&
           shmring_producer_attach(ring, NULL, &p) == SHMRING_OK &&
           shmring_producer_write(p, "hello from C", 12, 1) == SHMRING_OK &&
           shmring_reader_attach(ring, "g", NULL, &r) == SHMRING_OK &&
           shmring_reader_poll(r, &rec, 1, &n) == SHMRING_OK && n == 1 && rec.len == 12 &&
           memcmp(rec.data, "hello from C", 12) == 0;
  if (!ok) fprintf(stderr, "failed: %s\n", shmring_last_error());
  shmring_ring_remove(argv[1]);
  if (ok) printf("C: %.*s\n", (int)rec.len, (const char*)rec.data);
  return ok ? 0 : 1;
}
