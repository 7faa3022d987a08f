/* Symbol visibility of libshmring.so (spec/C_API.md, "Stability").
 *
 * The library is built with -fvisibility=hidden and -fvisibility-inlines-hidden:
 * only what is marked SHMRING_EXPORT (the C functions of shmring.h and the public
 * C++ classes and functions of ring.h, producer.h, reader.h, stats.h) is exported.
 * Internals (the Impl structs, layout, recovery, doorbells, ...) stay local; tests
 * and tools that use them link the static library. C99 and C++. */
#ifndef SHMRING_EXPORT_H_
#define SHMRING_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define SHMRING_EXPORT __attribute__((visibility("default")))
#define SHMRING_LOCAL __attribute__((visibility("hidden")))
#else
#define SHMRING_EXPORT
#define SHMRING_LOCAL
#endif

#endif /* SHMRING_EXPORT_H_ */
