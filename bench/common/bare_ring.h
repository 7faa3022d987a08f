// The physical reference: a bare single-producer single-consumer byte ring over
// shared memory, with no checksums, no recovery, no groups and no counters.
// Records are [u64 len][payload] padded to 8 bytes; a len of kPad means "skip to
// the wrap". The producer caches the consumer's head; the consumer reads the
// tail once per batch and publishes its head once per batch.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bench {

struct BareRingHeader {
  alignas(64) std::atomic<uint64_t> tail;  // written by the producer
  alignas(64) std::atomic<uint64_t> head;  // written by the consumer
  alignas(64) uint64_t capacity;
};

class BareRing {
 public:
  static constexpr uint64_t kPad = ~uint64_t{0};
  static size_t BytesFor(uint64_t capacity) { return sizeof(BareRingHeader) + capacity; }
  static void Init(void* mem, uint64_t capacity) {
    auto* h = new (mem) BareRingHeader;
    h->tail.store(0);
    h->head.store(0);
    h->capacity = capacity;
  }
  explicit BareRing(void* mem)
      : h_(static_cast<BareRingHeader*>(mem)),
        data_(static_cast<unsigned char*>(mem) + sizeof(BareRingHeader)),
        cap_(h_->capacity),
        mask_(cap_ - 1) {}

  static uint64_t Size(size_t len) { return (8 + len + 7) & ~uint64_t{7}; }

  // Producer: a pointer to `len` writable bytes, or nullptr if the ring is full.
  unsigned char* Reserve(size_t len) {
    const uint64_t size = Size(len);
    uint64_t t = tail_;
    const uint64_t rem = cap_ - (t & mask_);
    const uint64_t need = rem < size ? rem + size : size;
    if (t + need - head_cache_ > cap_) {
      head_cache_ = h_->head.load(std::memory_order_acquire);
      if (t + need - head_cache_ > cap_) return nullptr;
    }
    if (rem < size) {
      uint64_t pad = kPad;
      memcpy(data_ + (t & mask_), &pad, 8);
      t += rem;
    }
    uint64_t l = len;
    memcpy(data_ + (t & mask_), &l, 8);
    pending_ = t + size;
    return data_ + (t & mask_) + 8;
  }
  void Commit() {
    tail_ = pending_;
    h_->tail.store(tail_, std::memory_order_release);
  }

  // Consumer: calls f(ptr, len) for every ready record; returns how many.
  template <typename F>
  size_t Drain(F&& f, size_t max = ~size_t{0}) {
    const uint64_t t = h_->tail.load(std::memory_order_acquire);
    uint64_t h = head_local_;
    size_t n = 0;
    while (h != t && n < max) {
      uint64_t len;
      memcpy(&len, data_ + (h & mask_), 8);
      if (len == kPad) {
        h += cap_ - (h & mask_);
        continue;
      }
      f(data_ + (h & mask_) + 8, size_t(len));
      h += Size(len);
      ++n;
    }
    if (h != head_local_) {
      head_local_ = h;
      h_->head.store(h, std::memory_order_release);
    }
    return n;
  }

 private:
  BareRingHeader* h_;
  unsigned char* data_;
  uint64_t cap_, mask_;
  uint64_t tail_ = 0, pending_ = 0, head_cache_ = 0;  // producer-local
  uint64_t head_local_ = 0;                          // consumer-local
};

}  // namespace bench
